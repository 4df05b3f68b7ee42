"""Issue 14: `synthesize(model, objective)` takes the objective in second place and uses it as given."""

from __future__ import annotations

import pytest

import advcat
from advcat import objectives as O


def test_an_objective_in_second_place_is_used_as_given(tiny_cnn) -> None:  # noqa: ANN001
    second = advcat.synthesize(tiny_cnn, O.ClassLogit(3), steps=3, size=16, progress=False)
    keyword = advcat.synthesize(tiny_cnn, objective=O.ClassLogit(3), steps=3, size=16, progress=False)
    assert (second.images == keyword.images).all()
    assert "TotalVariation" not in second.objective
    with_tv = advcat.synthesize(tiny_cnn, O.ClassLogit(3), steps=3, size=16, tv=2.0, progress=False)
    assert "TotalVariation" in with_tv.objective
    with pytest.raises(TypeError, match="one objective"):
        advcat.synthesize(tiny_cnn, O.ClassLogit(3), objective=O.ClassLogit(4), steps=1, progress=False)
