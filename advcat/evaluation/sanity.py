"""Sanity checks on an evaluation (Carlini et al. 2019's checklist, automated), each with a threshold.

Probes run per batch (gradients at the clean points, a second forward pass, FGSM, and on a fixed
subset an unbounded attack and the first gradient attack with doubled steps); `run_checks` turns
their totals into passed or failed checks, and failed ones become the report's warnings.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from advcat.attacks import make_attack
from advcat.evaluation.cascade import forward, verified

MONOTONE_POINTS = 0.0
LARGE_EPS_MAX = 5.0
FGSM_POINTS = 0.0
GRADIENT_FREE_SHARE = 1.0
DOUBLE_STEPS_POINTS = 1.0
ZERO_GRADIENT_SHARE = 1.0
LARGE_EPS_STEPS = 50


@dataclass
class Check:
    """One check: passed (True/False, or None when it could not run), its value and threshold."""

    name: str
    passed: bool | None
    value: float | None
    threshold: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gradient_probe(model: nn.Module, x: Tensor, y: Tensor, batch_size: int | None) -> tuple[int, int]:
    """(points whose input gradient is all zero, points with a NaN/inf gradient) for the margin loss.

    The margin (logit of the label minus the best other logit) never saturates the way
    cross-entropy does on confident points, so a zero gradient here means the model hides it.
    """
    zero = bad = 0
    step = batch_size or x.shape[0]
    for i in range(0, x.shape[0], step):
        xb = x[i : i + step].detach().clone().requires_grad_(True)
        with torch.enable_grad():
            logits = model(xb).float()
            label = logits.gather(1, y[i : i + step, None]).squeeze(1)
            others = logits.scatter(1, y[i : i + step, None], float("-inf")).amax(1)
            grad = torch.autograd.grad((label - others).sum(), xb, allow_unused=True)[0]
        if grad is None:
            zero += xb.shape[0]
            continue
        flat = grad.flatten(1)
        nonfinite = ~torch.isfinite(flat).all(1)
        bad += int(nonfinite.sum())
        zero += int(((flat == 0).all(1) & ~nonfinite).sum())
    return zero, bad


def randomized(model: nn.Module, x: Tensor, logits: Tensor, batch_size: int | None) -> bool:
    """Whether a second forward pass on the same images gives different logits."""
    with torch.no_grad():
        again = forward(model, x, batch_size)
    return not torch.allclose(again, logits, rtol=1e-4, atol=1e-5)


def large_eps(norm: str, image_shape: tuple[int, ...]) -> float:
    """A budget that covers the whole [0, 1] box: any image is reachable (an unbounded attack)."""
    size = math.prod(image_shape)
    return {"linf": 1.0, "l2": math.sqrt(size), "l1": float(size)}[norm]


def unbounded_broken(
    model: nn.Module, x: Tensor, y: Tensor, ids: Tensor, norm: str, *, seed: int, batch_size: int | None
) -> Tensor:
    """Points broken by PGD on the margin loss with a budget covering the whole box, no random start
    (a random image is misclassified by chance; the point is whether the gradient leads somewhere)."""
    eps = large_eps(norm, tuple(x.shape[1:]))
    attack = make_attack("pgd", norm=norm, eps=eps, steps=LARGE_EPS_STEPS, random_start=False, loss="margin")
    result = attack(model, x, y, early_stop=True, seed=seed, batch_size=batch_size, index=ids)
    return verified(model, x, result.adv, y, eps, norm, result.success, batch_size)


def fgsm_broken(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    ids: Tensor,
    eps: float,
    norm: str,
    *,
    seed: int,
    batch_size: int | None,
) -> Tensor:
    """Points FGSM breaks at `eps` (the single-step baseline an iterative attack must beat)."""
    result = make_attack("fgsm", norm=norm, eps=eps)(model, x, y, seed=seed, batch_size=batch_size, index=ids)
    return verified(model, x, result.adv, y, eps, norm, result.success, batch_size)


def run_checks(totals: dict[str, Any]) -> list[Check]:
    """The checks over an evaluation's totals (see `evaluation.report.totals` for the keys)."""
    checks = [
        _monotone(totals),
        _large(totals),
        _fgsm(totals),
        _gradient_free(totals),
        _doubled(totals),
        _gradients(totals),
        _randomness(totals),
    ]
    return checks


def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 0.0


def _monotone(t: dict[str, Any]) -> Check:
    pairs = list(zip(t["eps"], t["robust"]))
    rises = [(a, b, ra, rb) for (a, ra), (b, rb) in zip(pairs, pairs[1:]) if rb - ra > MONOTONE_POINTS]
    worst = max((rb - ra for _, _, ra, rb in rises), default=0.0)
    message = (
        "robust accuracy does not increase with eps"
        if not rises
        else (
            "robust accuracy rises with eps ("
            + "; ".join(f"{ra:.2f}% at eps {a:.4g} -> {rb:.2f}% at eps {b:.4g}" for a, b, ra, rb in rises)
            + "): the attacks are failing at larger budgets, a sign of gradient masking or too few steps"
        )
    )
    return Check("monotone_in_eps", not rises, worst, f"increase <= {MONOTONE_POINTS:g} points", message)


def _large(t: dict[str, Any]) -> Check:
    points, robust = t["large_points"], t["large_robust"]
    if not points:
        return Check("unbounded_attack", None, None, f"<= {LARGE_EPS_MAX:g}%", "not run (no subset points)")
    value = _pct(robust, points)
    ok = value <= LARGE_EPS_MAX
    message = (
        f"an attack with a budget covering the whole image box leaves {value:.2f}% of {points} points robust"
    )
    if not ok:
        message += (
            "; with any image reachable it should reach (nearly) 0%: the gradients lead nowhere "
            "(masking: try advcat.bpda on non-differentiable layers, or EOT for randomness)"
        )
    return Check(
        "unbounded_attack", ok, value, f"<= {LARGE_EPS_MAX:g}% robust at eps {t['large_eps']:.4g}", message
    )


def _fgsm(t: dict[str, Any]) -> Check:
    rows = [
        (e, f, g, only)
        for e, f, g, only in zip(t["eps"], t["fgsm_broken"], t["gradient_broken"], t["fgsm_only"])
        if f is not None
    ]
    if not rows:
        return Check("iterative_beats_fgsm", None, None, "", "not run")
    gaps = [(e, _pct(f - g, t["n"]), only) for e, f, g, only in rows]
    worst = max(gap for _, gap, _ in gaps)
    ok = worst <= FGSM_POINTS
    message = "the gradient attacks break at least as many points as FGSM at every eps"
    if not ok:
        message = (
            "FGSM breaks more points than the iterative attacks ("
            + "; ".join(
                f"eps {e:.4g}: {gap:.2f} points, {only} points only FGSM broke"
                for e, gap, only in gaps
                if gap > 0
            )
            + "): iterative attacks are not converging; a sign of gradient masking"
        )
    return Check(
        "iterative_beats_fgsm",
        ok,
        worst,
        f"FGSM's robust accuracy not lower by > {FGSM_POINTS:g} points",
        message,
    )


def _gradient_free(t: dict[str, Any]) -> Check:
    rows = [(e, s, b) for e, s, b in zip(t["eps"], t["gf_standing"], t["gf_broken"]) if s is not None]
    if not rows:
        return Check(
            "gradient_free_stage",
            None,
            None,
            f"<= {GRADIENT_FREE_SHARE:g}%",
            "not run (no gradient-free attack in the cascade)",
        )
    shares = [(e, _pct(b, s), b, s) for e, s, b in rows]
    worst = max(share for _, share, _, _ in shares)
    ok = worst <= GRADIENT_FREE_SHARE
    message = "; ".join(
        f"eps {e:.4g}: the gradient-free attack broke {b} of the {s} points the gradient attacks left"
        for e, _, b, s in shares
    )
    if not ok:
        message += ": the gradients mislead the gradient attacks (masking)"
    return Check(
        "gradient_free_stage", ok, worst, f"breaks <= {GRADIENT_FREE_SHARE:g}% of the points left", message
    )


def _doubled(t: dict[str, Any]) -> Check:
    rows = [(e, d) for e, d in zip(t["eps"], t["doubled"]) if d is not None and d["points"]]
    if not rows:
        return Check(
            "doubled_steps",
            None,
            None,
            f"<= {DOUBLE_STEPS_POINTS:g} points",
            "not run (no named untargeted gradient attack with steps, or no subset points)",
        )
    changes = [(e, _pct(abs(d["doubled"] - d["single"]), d["points"]), d) for e, d in rows]
    worst = max(change for _, change, _ in changes)
    ok = worst <= DOUBLE_STEPS_POINTS
    message = "; ".join(
        f"eps {e:.4g}: {d['name']} broke {d['single']} of {d['points']} points, "
        f"{d['doubled']} with twice the steps"
        for e, _, d in changes
    )
    if not ok:
        message += ": the attack has not converged; raise its steps"
    return Check(
        "doubled_steps", ok, worst, f"robust accuracy changes <= {DOUBLE_STEPS_POINTS:g} points", message
    )


def _gradients(t: dict[str, Any]) -> Check:
    points, zero, bad = t["probe_points"], t["zero_gradients"], t["nan_gradients"]
    if not points:
        return Check("gradients", None, None, f"<= {ZERO_GRADIENT_SHARE:g}%", "not run (no correct points)")
    value = _pct(zero + bad, points)
    ok = value <= ZERO_GRADIENT_SHARE
    message = f"{zero} of {points} points have an all-zero input gradient and {bad} a NaN or infinite one"
    if not ok:
        message += (
            " (margin loss): the model hides its gradients; wrap non-differentiable layers with advcat.bpda"
        )
    return Check("gradients", ok, value, f"zero or NaN on <= {ZERO_GRADIENT_SHARE:g}% of points", message)


def _randomness(t: dict[str, Any]) -> Check:
    ok = not t["randomized"]
    message = (
        "two forward passes on the same images agree"
        if ok
        else (
            "two forward passes on the same images differ: the model is randomized, so single-draw attacks "
            "overestimate robustness; attack it with EOT (average gradients over draws, e.g. transforms=)"
        )
    )
    return Check("deterministic", ok, float(t["randomized"]), "two forwards agree", message)
