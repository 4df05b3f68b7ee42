"""Issue 15, item 5: a step and a threat declare their fused form; the engine's fused update is
chosen from the declared pair, and a subclass that changes the update or the projection inherits
no kernel (it would silently run the parent's maths otherwise)."""

from __future__ import annotations

import torch

from advcat import steps as S
from advcat import threats as T
from advcat.kernels.fused import fused_update


class _HalfSign(S.Sign):
    """A different update: half the sign step."""

    def transform(self, grad, state, info):  # noqa: ANN001, ANN201
        return 0.5 * grad.sign()


class _ShrunkLinf(T.Linf):
    """A different projection would go here; it must not get the Linf kernel."""


def test_declared_pairs_fuse_and_subclasses_do_not() -> None:
    z = torch.zeros(2, 3, 4, 4)
    assert S.Sign(0.1).fused_form() == "sign" and T.Linf(0.1).fused_form() == "linf"
    assert fused_update(S.Sign(0.1), T.Linf(0.1), z) is not None
    assert _HalfSign(0.1).fused_form() is None and fused_update(_HalfSign(0.1), T.Linf(0.1), z) is None
    assert _ShrunkLinf(0.1).fused_form() is None and fused_update(S.Sign(0.1), _ShrunkLinf(0.1), z) is None
    assert fused_update(S.Sign(0.1), T.L2(0.5), z) is None
    assert fused_update(S.Adam(0.1), T.Linf(0.1), z) is None
    assert fused_update(S.Sign(0.1), None, z) is None
