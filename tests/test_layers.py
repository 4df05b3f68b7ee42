"""Issue 15, item 4: advcat is layered. `advcat.core` (rng, Context, criteria, Result, interrupts)
is the bottom and imports nothing else of advcat; the components the engine runs (objectives,
steps, threats, params, transforms) never import the engine; results never import viz."""

from __future__ import annotations

from test_viz_dispatch import _module_graph

COMPONENTS = ("advcat.objectives", "advcat.steps", "advcat.threats", "advcat.params", "advcat.transforms")


def test_core_imports_only_core() -> None:
    graph = _module_graph()
    core = {name: targets for name, targets in graph.items() if name.startswith("advcat.core")}
    assert {f"advcat.core.{name}" for name in ("rng", "context", "criteria", "result")} <= set(core)
    leaks = {name: sorted(t for t in targets if not t.startswith("advcat.core"))
             for name, targets in core.items()}
    assert all(not outside for outside in leaks.values()), leaks


def test_the_components_do_not_import_the_engine_above_them() -> None:
    graph = _module_graph()
    upward = {name: sorted(t for t in targets if t.startswith("advcat.engine"))
              for name, targets in graph.items() if name.startswith(COMPONENTS)}
    assert all(not engine for engine in upward.values()), upward
    below = [t for n, ts in graph.items() if n.startswith(COMPONENTS) for t in ts]
    assert any(t.startswith("advcat.core") for t in below)
