"""Sanity checks on an evaluation (Carlini et al. 2019's checklist, automated), each with a threshold.

Probes run per batch (gradients at the clean points, a second forward pass, FGSM, and on a fixed
subset an unbounded attack, the first gradient attack with doubled steps and PGD on the margin
loss); `run_checks` turns their totals into passed or failed checks, and failed ones become the
report's warnings. A model with no input gradient (a forward that cuts the autograd graph) gets
no gradient attack at all: each breaks nothing, and the checks say so.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from advcat.attacks import Attack, make_attack
from advcat.evaluation.cascade import forward, verified
from advcat.evaluation.records import MarginCounts, Totals

MONOTONE_POINTS = 0.0
LARGE_EPS_MAX = 5.0
FGSM_POINTS = 0.0
GRADIENT_FREE_SHARE = 1.0
NOISE_MIN_POINTS = 2.0
ZERO_GRADIENT_SHARE = 1.0
LARGE_EPS_STEPS = 50
MARGIN_STEPS = 50
NON_CE_ATTACKS = "apgd_t or apgd_dlr (DLR loss), ('pgd', {'loss': 'margin'}), cw, or the gradient-free square"


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
            if not logits.requires_grad:  # the forward cut the graph: no gradient reaches the input
                zero += xb.shape[0]
                continue
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
    return _broken_by(attack, model, x, y, ids, eps, norm, seed=seed, batch_size=batch_size, early_stop=True)


def _broken_by(
    attack: Attack, model: nn.Module, x: Tensor, y: Tensor, ids: Tensor, eps: float, norm: str, *,
    seed: int, batch_size: int | None, early_stop: bool,
) -> Tensor:
    """The points `attack` breaks, each verified on the model within `eps` (see `verified`)."""
    result = attack(model, x, y, early_stop=early_stop, seed=seed, batch_size=batch_size, index=ids)
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
    attack = make_attack("fgsm", norm=norm, eps=eps)
    return _broken_by(attack, model, x, y, ids, eps, norm, seed=seed, batch_size=batch_size, early_stop=False)


def margin_broken(
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
    """Points PGD on the margin loss breaks at `eps`: a check sharing no loss with a cross-entropy
    attack, since the margin (a logit difference) is not flattened by a saturated softmax."""
    attack = make_attack("pgd", norm=norm, eps=eps, steps=MARGIN_STEPS, loss="margin")
    return _broken_by(attack, model, x, y, ids, eps, norm, seed=seed, batch_size=batch_size, early_stop=True)


def noise_points(points: int, first: int, second: int) -> float:
    """How many more of `points` a second attack may break than a first from seed-to-seed spread
    alone: max(2, 2 sqrt(n p (1 - p))), a binomial bound with p the two runs' mean broken share."""
    p = (first + second) / (2 * points) if points else 0.0
    return max(NOISE_MIN_POINTS, 2 * math.sqrt(points * p * (1 - p)))


def run_checks(totals: Totals) -> list[Check]:
    """The checks over an evaluation's totals (`Totals` in advcat.evaluation.records, summed over the
    batches by advcat.evaluation.totals)."""
    checks = [
        _gradients(totals),
        _monotone(totals),
        _large(totals),
        _fgsm(totals),
        _gradient_free(totals),
        _doubled(totals),
        _margin(totals),
        _randomness(totals),
    ]
    return checks


def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 0.0


def _monotone(t: Totals) -> Check:
    pairs = list(zip(t.eps, t.robust))
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


def _large(t: Totals) -> Check:
    points, robust = t.large_points, t.large_robust
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
            "(masking: try advcat.bpda on non-differentiable layers, or eot= for randomness)"
        )
    return Check(
        "unbounded_attack", ok, value, f"<= {LARGE_EPS_MAX:g}% robust at eps {t.large_eps:.4g}", message
    )


def _fgsm(t: Totals) -> Check:
    rows = [
        (e, f, g, only)
        for e, f, g, only in zip(t.eps, t.fgsm_broken, t.gradient_broken, t.fgsm_only)
        if f is not None
    ]
    if not rows:
        return Check("iterative_beats_fgsm", None, None, "", "not run")
    gaps = [(e, _pct(f - g, t.n), only) for e, f, g, only in rows]
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


def _gradient_free(t: Totals) -> Check:
    rows = [
        (e, s, b) for e, s, b in zip(t.eps, t.gf_standing, t.gf_broken) if s is not None and b is not None
    ]
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


NOISE = "max(2, 2 sqrt(n p (1 - p))) points"


def _doubled(t: Totals) -> Check:
    rows = [(e, d) for e, d in zip(t.eps, t.doubled) if d is not None and d.points]
    if not rows:
        return Check(
            "doubled_steps",
            None,
            None,
            f"breaks <= {NOISE} more",
            "not run (no named untargeted gradient attack with steps, or no subset points)",
        )
    gains = [(e, d.doubled - d.single, noise_points(d.points, d.single, d.doubled), d) for e, d in rows]
    ok = all(gain <= bound for _, gain, bound, _ in gains)
    message = "; ".join(
        f"eps {e:.4g}: {t.first_stage} broke {d.single} of {d.points} points, "
        f"{d.doubled} with twice the steps (noise bound {bound:.1f})"
        for e, _, bound, d in gains
    )
    if not ok:
        message += ": the attack has not converged; raise its steps"
    worst = max(gain for _, gain, _, _ in gains)
    return Check("doubled_steps", ok, float(worst), f"breaks <= {NOISE} more", message)


def _margin(t: Totals) -> Check:
    rows = [(e, m) for e, m in zip(t.eps, t.margin) if m is not None and m.points]
    if not rows:
        return Check("margin_loss", None, None, f"breaks <= {NOISE} more", "not run (no subset points)")
    gains = [(e, _margin_gain(m), m) for e, m in rows]
    ok = all(gain <= bound for _, (gain, bound), _ in gains)
    message = "; ".join(
        f"eps {e:.4g}: PGD on the margin loss broke {m.broken} of {m.points} points"
        + ("" if m.first is None else f", {t.first_stage} {m.first}")
        + f", {m.missed} that no other attack broke"
        for e, _, m in gains
    )
    if not ok:
        message += (
            ": the attacks' loss is masked (gradient masking: a saturated softmax, e.g. scaled-up logits, "
            "flattens cross-entropy while the margin still points the way); attack with losses other than "
            f"cross-entropy: {NON_CE_ATTACKS}"
        )
    worst = max(gain - bound for _, (gain, bound), _ in gains)
    return Check("margin_loss", ok, float(worst), f"breaks <= {NOISE} more", message)


def _margin_gain(m: MarginCounts) -> tuple[float, float]:
    """(excess, bound) of the margin attack's breaks over those of the first attack and of all the
    others on the subset, whichever is further beyond its noise bound."""
    others = m.broken_other
    pairs = [(others, others + m.missed)]
    if m.first is not None:
        pairs.append((m.first, m.broken))
    return max(((b - a, noise_points(m.points, a, b)) for a, b in pairs), key=lambda g: g[0] - g[1])


def _gradients(t: Totals) -> Check:
    points, zero, bad = t.probe_points, t.zero_gradients, t.nan_gradients
    if not points:
        return Check("gradients", None, None, f"<= {ZERO_GRADIENT_SHARE:g}%", "not run (no correct points)")
    value = _pct(zero + bad, points)
    ok = value <= ZERO_GRADIENT_SHARE
    message = f"{zero} of {points} points have an all-zero input gradient and {bad} a NaN or infinite one"
    if zero == points:
        message = (
            f"NO INPUT GRADIENT at any of the {points} points (the forward cuts the autograd graph: a "
            ".detach(), a PIL or NumPy step, comparisons such as a thermometer code; or it is flat "
            "everywhere): the gradient attacks have nothing to follow (where the graph is cut they are "
            "skipped and break nothing), so robust accuracy is only an UPPER BOUND, set by the "
            "gradient-free attacks; this is gradient masking: wrap the non-differentiable step "
            "with advcat.bpda (straight-through, or a differentiable stand-in) and evaluate again"
        )
    elif not ok:
        message += (
            " (margin loss): the model hides its gradients; wrap non-differentiable layers with advcat.bpda"
        )
    return Check("gradients", ok, value, f"zero or NaN on <= {ZERO_GRADIENT_SHARE:g}% of points", message)


def _randomness(t: Totals) -> Check:
    ok = not t.randomized
    message = (
        "two forward passes on the same images agree"
        if ok
        else (
            "two forward passes on the same images differ: the model is randomized, so single-draw attacks "
            "overestimate robustness; attack it with EOT, k forward passes averaged per step: "
            "evaluate(..., attacks=[(\"apgd_ce\", {\"eot\": 20}), (\"apgd_t\", {\"eot\": 20})]) "
            "or advcat.attack(..., eot=20)"
        )
    )
    return Check("deterministic", ok, float(t.randomized), "two forwards agree", message)
