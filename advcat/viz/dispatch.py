"""One entry point to draw any advcat result: `figure(result)` picks the viz function for its type.

Results never import viz (viz draws results, not the other way round), so the drawing that used
to hang off result methods (`SynthesisResult.figure`, `Report.plot`, `FineTuned.curves` and
`.confusion`) lives here. The fine-tuning, evaluation, attribution and synthesis result classes are imported
when a figure is asked for, so `import advcat.viz` does not load those packages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

from advcat.attacks.result import AttackResult
from advcat.viz.attack import attack_panel
from advcat.viz.gallery import synthesis_gallery
from advcat.viz.robustness import robustness_curve
from advcat.viz.training import confusion_figure, training_curves

if TYPE_CHECKING:
    from advcat.transfer.result import FineTuned


def figure(result: object, **kwargs: Any) -> Figure:
    """The standard figure of an advcat result, as a matplotlib Figure; `kwargs` go to the viz
    function it dispatches to.

    SynthesisResult: `synthesis_gallery`; AttackResult: `attack_panel`; Attribution:
    `advcat.attribution.overlay.overlay_grid`; Report: `robustness_curve` of that one report;
    FineTuned: its training `curves` (its confusion matrix is `confusion(result)`).
    """
    from advcat.attribution.overlay import overlay_grid
    from advcat.attribution.result import Attribution
    from advcat.evaluation.report import Report
    from advcat.synthesis.result import SynthesisResult
    from advcat.transfer.result import FineTuned

    if isinstance(result, SynthesisResult):
        return synthesis_gallery(result, **kwargs)
    if isinstance(result, AttackResult):
        return attack_panel(result, **kwargs)
    if isinstance(result, Attribution):
        return overlay_grid(result, **kwargs)
    if isinstance(result, Report):
        return robustness_curve([result], **kwargs)
    if isinstance(result, FineTuned):
        return curves(result, **kwargs)
    raise TypeError(
        f"figure() draws a SynthesisResult, AttackResult, Attribution, Report or FineTuned; got "
        f"{type(result).__name__} (for several reports on one plot use robustness_curve)"
    )


def curves(result: FineTuned) -> Figure:
    """A fine-tuning run's loss and accuracy per epoch (training and validation)."""
    return training_curves(_fine_tuned(result, "curves").history)


def confusion(result: FineTuned, *, normalize: bool = True) -> Figure:
    """A fine-tuning run's held-out confusion matrix, row-normalized unless `normalize=False`."""
    run = _fine_tuned(result, "confusion")
    if "confusion" not in run.metrics:
        raise ValueError("no held-out data was scored (val_fraction=0 and no val set)")
    return confusion_figure(run.metrics["confusion"], run.model.info.classes, normalize=normalize)


def _fine_tuned(result: object, caller: str) -> FineTuned:
    """`result`, checked to be what `advcat.finetune` returns (a FineTuned)."""
    from advcat.transfer.result import FineTuned

    if not isinstance(result, FineTuned):
        raise TypeError(f"{caller}() takes the FineTuned that advcat.finetune returns, got "
                        f"{type(result).__name__}")
    return result
