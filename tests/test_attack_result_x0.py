"""Issue 15, item 5: an AttackResult keeps the clean images x0 exactly; delta and norms are derived
from adv and x0, so nothing downstream rebuilds x from adv - delta with slack."""

from __future__ import annotations

import json

import torch
from safetensors.torch import save_file

import advcat
from advcat.attacks.result import AttackResult


def test_x0_is_the_input_and_delta_and_norms_follow_from_it(tiny_cnn) -> None:  # noqa: ANN001
    x = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    for norm, eps in (("linf", 4 / 255), ("l2", 0.3)):
        res = advcat.attack(tiny_cnn, x, method="pgd", norm=norm, eps=eps, steps=3)
        assert torch.equal(res.x0, x) and torch.equal(res.delta, res.adv - x)
        flat = (res.adv - x).flatten(1)
        expected = flat.abs().amax(1) if norm == "linf" else flat.norm(dim=1)
        assert torch.allclose(res.norms, expected) and bool((res.norms <= eps + 1e-6).all())


def test_a_result_saved_before_x0_was_kept_still_loads(tmp_path, tiny_cnn) -> None:  # noqa: ANN001
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    res = advcat.attack(tiny_cnn, x, method="pgd", eps=4 / 255, steps=2)
    meta = res.save(tmp_path / "new")
    old = {"adv": res.adv, "delta": res.delta, "success": res.success, "logits": res.logits,
           "labels": res.labels, "norms": res.norms, "steps_taken": res.steps_taken, "queries": res.queries}
    save_file({k: v.contiguous() for k, v in old.items()}, str(tmp_path / "old.safetensors"))
    (tmp_path / "old.json").write_text(json.dumps(json.loads(meta.read_text())))
    loaded = AttackResult.load(tmp_path / "old")
    assert torch.allclose(loaded.x0, x, atol=1e-6) and torch.allclose(loaded.norms, res.norms, atol=1e-6)
    again = AttackResult.load(tmp_path / "new")
    assert torch.equal(again.x0, x) and torch.equal(again.adv, res.adv)
