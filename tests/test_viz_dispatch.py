"""`advcat.viz.figure` draws each kind of result with its viz function; results never import viz;
and advcat's modules import one another without cycles (issue 15)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.text import Text
from test_figures import _attack_result, _attribution, _report
from torch import nn

import advcat
from advcat.attribution.overlay import overlay_grid
from advcat.evaluation.report import Report
from advcat.models.pixel import ModelInfo, PixelModel
from advcat.synthesis.result import SynthesisResult
from advcat.transfer.result import FineTuned
from advcat.viz import (
    attack_panel,
    confusion,
    confusion_figure,
    curves,
    figure,
    robustness_curve,
    synthesis_gallery,
    training_curves,
)

PACKAGE = Path(advcat.__file__).parent
RESULT_MODULES = ["synthesis/result.py", "attacks/result.py", "attribution/result.py",
                  "evaluation/report.py", "transfer/result.py"]


def _texts(drawn: Figure) -> list[str]:
    return sorted(t.get_text() for t in drawn.findobj(Text) if t.get_visible() and t.get_text())


def _synthesis() -> SynthesisResult:
    return SynthesisResult(images=torch.rand(2, 3, 16, 16), probs=torch.softmax(torch.randn(2, 10), 1),
                           targets=torch.tensor([1, 2]), history=torch.zeros(3), objective="ClassLogit",
                           seed=0, names=["tabby", "zebra"])


def _fine_tuned(metrics: dict | None = None) -> FineTuned:
    history = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.2 / e, "train_acc": 0.5, "val_acc": 0.4}
               for e in (1, 2, 3)]
    model = PixelModel(nn.Linear(3, 2), ModelInfo(classes=("cat", "dog")))
    default = {"confusion": [[3, 1], [0, 4]]}
    return FineTuned(model=model, history=history, metrics=default if metrics is None else metrics)


@pytest.mark.parametrize("make, direct", [
    (_synthesis, synthesis_gallery),
    (_attack_result, attack_panel),
    (_report, lambda report: robustness_curve([report])),
    (_fine_tuned, lambda run: training_curves(run.history)),
])
def test_figure_draws_what_the_viz_function_for_the_type_draws(make, direct) -> None:  # noqa: ANN001
    result = make()
    drawn = figure(result)
    assert isinstance(drawn, Figure)
    assert len(drawn.axes) == len(direct(result).axes)
    assert _texts(drawn) == _texts(direct(result))


def test_figure_of_an_attribution_is_its_overlay_grid_with_the_options_passed_on() -> None:
    attribution = _attribution(3)
    drawn = figure(attribution, ncols=2)
    assert len([ax for ax in drawn.axes if ax.images]) == 3
    assert len(drawn.axes) == len(overlay_grid(attribution, ncols=2).axes) == 7  # 2 x 2 grid + 3 bars
    assert len(figure(attribution).axes) == 6  # the default: one row of 3, and 3 bars
    assert _texts(drawn) == _texts(overlay_grid(attribution, ncols=2))
    assert any("integrated gradients" in text for text in _texts(drawn))


def test_confusion_is_the_run_s_held_out_matrix_named_by_its_classes() -> None:
    run = _fine_tuned()
    drawn = confusion(run, normalize=False)
    assert _texts(drawn) == _texts(confusion_figure([[3, 1], [0, 4]], ("cat", "dog"), normalize=False))
    assert [t.get_text() for t in drawn.axes[0].get_yticklabels()] == ["cat", "dog"]
    assert len(curves(run).axes) == 2


def test_a_run_without_held_out_data_has_no_confusion_matrix() -> None:
    with pytest.raises(ValueError, match="no held-out data"):
        confusion(_fine_tuned(metrics={}))


@pytest.mark.parametrize("draw", [figure, curves, confusion])
def test_something_else_is_a_type_error_naming_its_type(draw) -> None:  # noqa: ANN001
    with pytest.raises(TypeError, match="dict"):
        draw({"adv": torch.zeros(1)})


@pytest.mark.parametrize("old", [(SynthesisResult, "figure"), (Report, "plot"), (FineTuned, "curves"),
                                 (FineTuned, "confusion")])
def test_results_no_longer_carry_drawing_methods(old) -> None:  # noqa: ANN001
    owner, name = old
    assert not hasattr(owner, name)


def _modules() -> dict[str, Path]:
    """Every advcat module by its dotted name (a package by its own name)."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("advcat",) + path.relative_to(PACKAGE).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module `path` imports, at the top or inside a function, relative imports resolved;
    `from pkg import name` counts as pkg.name when that is a module, else as pkg."""
    module = next(name for name, file in modules.items() if file == path)
    base = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            origin = node.module or ""
            if node.level:
                parent = base.rsplit(".", node.level - 1)[0] if node.level > 1 else base
                origin = f"{parent}.{origin}" if origin else parent
            for alias in node.names:
                found.add(f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin)
    return found


@pytest.mark.parametrize("relative", RESULT_MODULES)
def test_results_do_not_import_viz_or_matplotlib(relative) -> None:  # noqa: ANN001
    imported = _imports(PACKAGE / relative, _modules())
    assert not {m for m in imported if m.startswith(("advcat.viz", "matplotlib"))}


def _module_graph() -> dict[str, set[str]]:
    """advcat's modules and the advcat modules each imports."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path, modules):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(group)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in stack:
                low[node] = min(low[node], index[child])
    return groups


def test_the_import_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_no_advcat_module_is_in_an_import_cycle() -> None:
    graph = _module_graph()
    assert {"advcat.models.zoo", "advcat.viz.dispatch", "advcat.cli.args"} <= set(graph)
    assert _cycles(graph) == []
