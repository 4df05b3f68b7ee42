"""Issue 14: every result has summary() and a short repr, with no tensor dumps."""

from __future__ import annotations

import torch

import advcat
from advcat import objectives as O
from advcat import steps as S
from advcat import threats as T


def _short(text: str) -> bool:
    return "tensor(" not in text and len(text) < 300 and "\n" not in text


def test_optimize_result_and_attribution_have_a_summary_and_a_short_repr(tiny_cnn) -> None:  # noqa: ANN001
    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([1, 2, 3, 4])
    res = advcat.optimize(tiny_cnn, x, O.CrossEntropy(y), threat=T.Linf(4 / 255), step=S.Sign(1 / 255),
                          steps=2)
    assert _short(repr(res)) and repr(res).startswith("Result(")
    assert "4 images" in res.summary() and "queries 3.0" in res.summary()
    att = advcat.attribute(tiny_cnn, x, method="saliency", target=y)
    assert _short(repr(att)) and att.summary().startswith(
        "saliency on 4 images, class class1, class2, class3, class4")
