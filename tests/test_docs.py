"""The code in the docs is real: every advcat name a snippet uses exists and takes the arguments it
is given, and the snippets of the pages that run offline in seconds do run.

Runnable pages execute block by block in one namespace per page, in a temporary folder, on tiny
settings: `advcat.load_model()` gives the embedded model seeing 64 px images, `steps=N` becomes
`steps=2`, and `attacks="fast"` becomes APGD-CE with 2 steps. Nothing else in the text changes.
The check of names and arguments covers the README and every docs page, including those that
cannot run here.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import advcat
from advcat.models import ModelInfo, PixelModel

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
PAGES = ["README.md"] + sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md"))
# pages whose snippets need neither a download, a GPU, a data set nor minutes of training
RUNNABLE = [
    "docs/quickstart.md", "docs/concepts/pixel-space.md", "docs/concepts/objectives.md",
    "docs/concepts/threats.md", "docs/concepts/engine.md", "docs/concepts/robustness.md",
    "docs/howto/wrap.md", "docs/howto/custom.md", "docs/howto/gpu.md", "docs/index.md",
]
TINY = [
    (re.compile(r"\bsteps=\d+"), "steps=2"),
    (re.compile(r'attacks="fast"'), 'attacks=[("apgd_ce", {"steps": 2})]'),
]


def blocks(page: str) -> list[str]:
    return BLOCK.findall((ROOT / page).read_text())


class Names:
    """What a page's snippets bound to advcat objects, and the problems found resolving their uses."""

    def __init__(self) -> None:
        self.bound: dict[str, Any] = {}
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def imports(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "advcat":
                        self.bound[(alias.asname or alias.name).split(".")[0]] = advcat
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "advcat":
                module = importlib.import_module(node.module or "advcat")
                for alias in node.names:
                    try:
                        self.bound[alias.asname or alias.name] = getattr(module, alias.name)
                    except AttributeError:
                        self.problem(f"from {node.module} import {alias.name}: no such name")

    def resolve(self, node: ast.expr) -> Any:
        """The advcat object an expression names (`O.Channel`, `advcat.engine.Hits`), or None."""
        if isinstance(node, ast.Name):
            return self.bound.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            if base is None or not (inspect.ismodule(base) or inspect.isclass(base)):
                return None
            if not hasattr(base, node.attr):
                self.problem(f"{ast.unparse(node)}: {getattr(base, '__name__', base)} has no "
                             f"attribute {node.attr!r}")
                return None
            return getattr(base, node.attr)
        return None

    def check_calls(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                self.resolve(node)
            if not isinstance(node, ast.Call):
                continue
            target = self.resolve(node.func)
            starred = any(isinstance(a, ast.Starred) for a in node.args)
            if target is None or not callable(target) or starred or any(k.arg is None for k in node.keywords):
                continue
            try:
                signature = inspect.signature(target)
            except (TypeError, ValueError):
                continue
            keywords = {k.arg: None for k in node.keywords if k.arg}
            try:
                signature.bind(*[None] * len(node.args), **keywords)
            except TypeError as error:
                self.problem(f"{ast.unparse(node)[:80]}: {error}")
            if target is advcat.attack:
                self.check_attack_options(node, signature, keywords)

    def check_attack_options(self, node: ast.Call, signature: inspect.Signature,
                             keywords: dict[str, None]) -> None:
        """`advcat.attack`'s extra keywords go to the method's class: check them against it."""
        method = next((k.value for k in node.keywords if k.arg == "method"), ast.Constant("pgd"))
        if not isinstance(method, ast.Constant) or method.value not in advcat.attacks.METHODS:
            self.problem(f"{ast.unparse(node)[:80]}: unknown or non-literal method")
            return
        extra = {k: None for k in keywords if k not in signature.parameters}
        extra.update({k: None for k in ("norm", "eps", "steps", "step_size", "restarts") if k in keywords})
        try:
            inspect.signature(advcat.attacks.METHODS[method.value]).bind(**extra)
        except TypeError as error:
            self.problem(f"{ast.unparse(node)[:80]}: {method.value!r}: {error}")


@pytest.mark.parametrize("page", PAGES)
def test_snippets_use_only_names_and_arguments_that_exist(page: str) -> None:
    names = Names()
    for code in blocks(page):
        tree = ast.parse(code)
        names.imports(tree)
        names.check_calls(tree)
    assert not names.problems, f"{page}:\n" + "\n".join(names.problems)


def test_the_checker_catches_a_wrong_name_and_a_wrong_keyword() -> None:
    names = Names()
    tree = ast.parse("import advcat\nfrom advcat import objectives as O\n"
                     "O.CrossEntropie(1)\nadvcat.load_image('chelsea', size=3)\n"
                     "advcat.attack(None, None, method='fgsm', steps=3)\n")
    names.imports(tree)
    names.check_calls(tree)
    assert len(names.problems) == 3
    assert "CrossEntropie" in names.problems[0] and "size" in names.problems[1]
    assert "fgsm" in names.problems[2] and "steps" in names.problems[2]


def test_every_docs_page_with_python_is_either_run_or_listed() -> None:
    assert set(RUNNABLE) <= set(PAGES)
    assert all(blocks(page) for page in RUNNABLE)


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """One thread while the snippets run: they are tiny, and two threads on a shared 2-core
    machine spin against each other (many times slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def small_model(default_model: PixelModel) -> PixelModel:
    """The embedded model with its preprocessing scaled to 64 px (it pools globally)."""
    model = default_model
    info = {**model.info.to_dict(), "input_size": 64, "resize": 73}
    return PixelModel(model.net, ModelInfo.from_dict(info))


@pytest.mark.parametrize("page", RUNNABLE)
def test_snippets_run(page: str, small_model: PixelModel, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    def load_model(name: str = "efficientnet_lite0", **options: Any) -> PixelModel:
        assert name == "efficientnet_lite0", f"{page} loads {name}, which this test cannot offline"
        device = options.get("device")
        return small_model if device is None else small_model.to(device)

    monkeypatch.setattr(advcat, "load_model", load_model)
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    namespace: dict[str, Any] = {"__name__": "docs_snippet"}
    for i, code in enumerate(blocks(page)):
        for pattern, tiny in TINY:
            code = pattern.sub(tiny, code)
        try:
            exec(compile(code, f"{page} block {i + 1}", "exec"), namespace)
        except Exception as error:  # noqa: BLE001 - the message names the page and block
            raise AssertionError(f"{page}, python block {i + 1} failed: {error!r}\n{code}") from error
    advcat.set_kernels("auto")
