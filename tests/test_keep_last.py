"""Issue 15, item 5: one explicit keep policy. `keep="last"` keeps the latest iterate, and
`synthesize` uses it, so an ideal image is the image after its last step, or, interrupted, the
last one the engine reached; never an earlier "best" step of a transformed forward pass."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import advcat
from advcat import objectives as O
from advcat import steps as S
from advcat import threats as T


def _oscillating_run(model: nn.Module, keep: str) -> advcat.engine.Result:
    """Sign steps far larger than the ball: the score jumps around instead of climbing."""
    x = torch.rand(6, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    return advcat.optimize(model, x, O.CrossEntropy(torch.arange(6)), threat=T.Linf(0.3),
                           step=S.Sign(0.3), steps=6, seed=0, progress=False, keep=keep)


def test_keep_last_returns_the_final_iterate_and_score_the_best(tiny_cnn) -> None:  # noqa: ANN001
    last, best = _oscillating_run(tiny_cnn, "last"), _oscillating_run(tiny_cnn, "score")
    assert torch.allclose(last.history, best.history)  # the same run, kept two ways
    assert float(last.score.mean()) == pytest.approx(float(last.history[-1]), rel=1e-5)
    assert bool((best.score >= last.score - 1e-6).all())
    assert float(best.score.mean()) > float(last.score.mean()) + 1e-3  # the run did oscillate
    with torch.no_grad():
        again = F.cross_entropy(tiny_cnn.eval()(last.x), torch.arange(6), reduction="none")
    assert torch.allclose(again, last.score, atol=1e-5)


class _InterruptAt(nn.Module):
    """The model, until its `call`-th forward pass, which raises KeyboardInterrupt (once)."""

    def __init__(self, model: nn.Module, call: int) -> None:
        super().__init__()
        self.model, self.call, self.calls = model, call, 0
        self.info = model.info

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == self.call:
            raise KeyboardInterrupt
        return self.model(x)


def test_synthesize_interrupted_keeps_the_last_image_it_reached(tiny_cnn) -> None:  # noqa: ANN001
    steps_done = 4
    whole = advcat.synthesize(tiny_cnn, [1, 2], steps=steps_done, size=16, seed=3, progress=False)
    stopped = advcat.synthesize(_InterruptAt(tiny_cnn, steps_done + 2), [1, 2], steps=20, size=16,
                                seed=3, progress=False)
    assert stopped.config["interrupted"] and not whole.config["interrupted"]
    assert torch.equal(stopped.images, whole.images)
    with torch.no_grad():
        assert torch.allclose(whole.probs, tiny_cnn.eval()(whole.images).softmax(1), atol=1e-6)
