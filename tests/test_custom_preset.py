"""Issue 15: a new attack preset is at most 25 lines, and the one docs/howto/custom.md shows works
as a built-in does: eps at call time, a list of eps, bounds, frozen settings."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import torch

PAGE = Path(__file__).resolve().parents[1] / "docs" / "howto" / "custom.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _preset() -> tuple[str, str]:
    """The page's attack block's imports and the source of its SmoothPGD class."""
    code = next(b for b in BLOCK.findall(PAGE.read_text()) if "class SmoothPGD" in b)
    tree = ast.parse(code)
    imports = "\n".join(ast.get_source_segment(code, n) or "" for n in tree.body
                        if isinstance(n, (ast.Import, ast.ImportFrom)))
    preset = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "SmoothPGD")
    return imports, ast.get_source_segment(code, preset) or ""


def test_the_documented_preset_is_at_most_25_lines() -> None:
    _, source = _preset()
    assert source.startswith("class SmoothPGD(Attack):")
    assert len(source.splitlines()) <= 25


def test_the_documented_preset_runs_at_call_time_eps_within_bounds(tiny_cnn) -> None:  # noqa: ANN001
    imports, source = _preset()
    namespace: dict[str, Any] = {}
    exec(compile("import torch\nfrom torch import Tensor\nimport advcat\n"
                 "from advcat import objectives as O, steps as S\n" + imports + "\n" + source,
                 str(PAGE), "exec"), namespace)
    attack = namespace["SmoothPGD"](eps=4 / 255, steps=3)
    x = torch.rand(5, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    results = attack(tiny_cnn, x, eps=[0.01, 0.03])
    assert [r.eps for r in results] == [0.01, 0.03]
    for result in results:
        assert bool((result.norms <= result.eps + 1e-6).all())
        assert bool((result.adv >= 0).all() and (result.adv <= 1).all())
    assert results[1].config["tv"] == 0.05 and not attack.gradient_free
    assert attack.replace(tv=0.1).tv == 0.1 and attack.tv == 0.05
