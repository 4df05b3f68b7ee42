"""A gallery from saved results: AttackResult, SynthesisResult, Attribution and Report files.

Each file is recognised by the metadata its `save` wrote, drawn with the matching figure, and
listed in one index.html beside the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from advcat.io_paths import METADATA, TENSORS, read_json_object, saved_pair, stem_of
from advcat.viz.page import Entry, write_index
from advcat.viz.save import save_figure


def _metadata(path: Path) -> tuple[Path, dict[str, Any]]:
    """The JSON file of a saved result named by either of its files, its stem or its folder."""
    candidate = path / "report.json" if path.is_dir() else saved_pair(path)[1]
    if candidate.is_file():
        return candidate, read_json_object(candidate, "save the result again")
    raise FileNotFoundError(f"no saved advcat result at {path} (looked for {candidate})")


def _kind(meta: dict[str, Any]) -> str:
    from advcat.attribution.result import FORMAT as ATTRIBUTION
    from advcat.evaluation.report import KIND as REPORT

    if meta.get("kind") in ("AttackResult", "SynthesisResult"):
        return str(meta["kind"])
    if meta.get("kind") == REPORT:
        return "Report"
    if meta.get("format") == ATTRIBUTION:
        return "Attribution"
    raise ValueError(f"not a saved advcat result (kind {meta.get('kind')!r}, format {meta.get('format')!r})")


def figure_for(path: Path) -> tuple[str, Figure, str]:
    """(kind, figure, caption) for one saved result."""
    source, meta = _metadata(path)
    kind = _kind(meta)
    if kind == "AttackResult":
        from advcat.attacks.result import AttackResult
        from advcat.data.classes import imagenet_classes
        from advcat.viz.attack import attack_panel

        result = AttackResult.load(source)
        classes = imagenet_classes() if result.logits.shape[1] == 1000 else None
        panel = attack_panel(result, classes=classes, rows=range(min(4, result.adv.shape[0])))
        return kind, panel, (f"{result.summary()}. The clean images are titled with their labels: "
                             "an AttackResult keeps no clean logits, so no clean probabilities")
    if kind == "SynthesisResult":
        from advcat.synthesis.result import SynthesisResult
        from advcat.viz.gallery import synthesis_gallery

        synthesis = SynthesisResult.load(source)
        return kind, synthesis_gallery(synthesis), f"objective: {synthesis.objective}"
    if kind == "Report":
        from advcat.evaluation.report import Report
        from advcat.viz.robustness import robustness_curve

        report = Report.load(source)
        return kind, robustness_curve([report]), report.robustbench_line()
    from advcat.attribution.overlay import overlay_grid
    from advcat.attribution.result import Attribution

    attribution = Attribution.load(source)
    figure = overlay_grid(attribution, rows=range(min(8, len(attribution))))
    return kind, figure, (f"{attribution.summary()}. Maps of |attribution| summed over channels, "
                          "each on its own colour scale up to its 99th percentile; a saved "
                          "Attribution keeps no images, so the maps are drawn alone")


def build_gallery(paths: Sequence[str | Path], out: str | Path, *,
                  title: str = "advcat gallery") -> Path:
    """Draw every saved result in `paths` into `out` and write out/index.html; returns its path."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for number, raw in enumerate(paths):
        path = Path(raw)
        kind, figure, caption = figure_for(path)
        name = f"{number:02d}_{stem_of(path, (TENSORS, METADATA)).name}"
        save_figure(figure, folder / name)
        entries.append(Entry(key=name, title=f"{kind}: {path.name}", image=f"{name}.png",
                             caption=caption, call=f"{kind}.load({str(path)!r})",
                             files=[str(path.absolute())]))
    return write_index(folder, title, "Figures drawn from saved advcat results.", entries)
