"""The public names listed in advcat/__init__.py (`_PUBLIC`) resolve to the objects they name, not to
submodules that shadow them, whatever was imported first; an unknown name is an AttributeError."""

from __future__ import annotations

import importlib
import pkgutil
import types

import advcat


def test_public_names_are_not_shadowed_by_submodules():
    for info in pkgutil.walk_packages(advcat.__path__, "advcat."):
        if ".cli" in info.name or "triton" in info.name or info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
    for name in advcat._PUBLIC:
        value = getattr(advcat, name)
        assert not isinstance(value, types.ModuleType), f"advcat.{name} is a module"
        module = importlib.import_module(advcat._PUBLIC[name])
        assert not isinstance(getattr(module, name), types.ModuleType), f"{module.__name__}.{name}"


def test_unknown_attribute_is_an_attribute_error():
    try:
        advcat.does_not_exist  # noqa: B018
    except AttributeError as error:
        assert "does_not_exist" in str(error)
    else:
        raise AssertionError("expected AttributeError")
