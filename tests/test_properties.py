"""Property-based probes of the public entry points (hypothesis, derandomized so CI is repeatable).

Each generated call either raises a ValueError/TypeError that names the offending argument, or
returns a result that keeps the contract: images in the box and within eps of x, success equal to
the model's own verdict on what is returned, the model bit-identical afterwards, and a sample's
result independent of the batch it came in.
"""

from __future__ import annotations

import math

import pytest
import torch
from digits import digits, trained_digits_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

import advcat
from advcat import objectives as O
from advcat import steps as S
from advcat import threats as T

PROBE = settings(
    derandomize=True,
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
NORMS = ("linf", "l2", "l1")
SCALE = {"linf": 1 / 255, "l2": 0.05, "l1": 0.5}
GRADIENT_METHODS = ("fgsm", "pgd", "mifgsm", "apgd")


def _snapshot(model: nn.Module) -> tuple[dict[str, Tensor], bool, list[bool]]:
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return state, model.training, [p.requires_grad for p in model.parameters()]


def _unchanged(model: nn.Module, before: tuple[dict[str, Tensor], bool, list[bool]]) -> bool:
    state, training, flags = before
    after = model.state_dict()
    same = all(torch.equal(state[k], after[k]) for k in state)
    return same and model.training == training and flags == [p.requires_grad for p in model.parameters()]


def _norms(delta: Tensor, norm: str) -> Tensor:
    flat = delta.double().flatten(1)
    if norm == "linf":
        return flat.abs().amax(1)
    return flat.norm(p=2 if norm == "l2" else 1, dim=1)


@st.composite
def attack_calls(draw: st.DrawFn) -> dict[str, object]:
    """A gradient attack on 1-6 digits with a scalar or per-sample eps (zeros included)."""
    method = draw(st.sampled_from(GRADIENT_METHODS))
    norm = draw(st.sampled_from(NORMS if method in ("pgd", "fgsm") else ("linf", "l2")))
    n = draw(st.integers(1, 6))
    levels = st.sampled_from([0, 1, 4, 16, 64])
    if draw(st.booleans()):
        eps: float | Tensor = draw(levels) * SCALE[norm]
    else:
        eps = torch.tensor([draw(levels) * SCALE[norm] for _ in range(n)])
    start = draw(st.integers(0, 300))
    return {"method": method, "norm": norm, "eps": eps, "start": start, "n": n,
            "seed": draw(st.integers(0, 2**31 - 1)), "early_stop": draw(st.booleans())}


class Digits(tuple):  # type: ignore[type-arg]
    """(model, x, y) of the held-out digits, with a short repr for hypothesis' reports."""

    def __repr__(self) -> str:
        return "Digits(model, x, y)"


@pytest.fixture(scope="module")
def digits_problem() -> Digits:
    _, _, x, y = digits()
    return Digits((trained_digits_model(), x, y))


def _steps(method: object) -> dict[str, int]:
    return {} if method == "fgsm" else {"steps": 3}


@PROBE
@given(call=attack_calls())
def test_attacks_keep_bounds_truthful_success_and_the_model(digits_problem, call) -> None:  # noqa: ANN001
    model, xs, ys = digits_problem
    start, n = int(call["start"]), int(call["n"])  # type: ignore[call-overload]
    x, y = xs[start : start + n], ys[start : start + n]
    before = _snapshot(model)
    res = advcat.attack(model, x, y, method=call["method"], norm=call["norm"], eps=call["eps"],
                        seed=call["seed"], **_steps(call["method"]), early_stop=call["early_stop"])
    assert _unchanged(model, before)
    assert float(res.adv.min()) >= 0.0 and float(res.adv.max()) <= 1.0
    eps = torch.as_tensor(call["eps"], dtype=torch.float64).expand(n)
    assert bool((_norms(res.adv - x, str(call["norm"])) <= eps * (1 + 1e-5) + 1e-6).all())
    assert bool((res.adv[eps == 0] == x[eps == 0]).all())
    with torch.no_grad():
        verdict = model(res.adv).argmax(1) != y
    assert torch.equal(res.success, verdict)


@PROBE
@given(call=attack_calls(), cut=st.integers(1, 5))
def test_a_sample_does_not_depend_on_the_batch_it_came_in(digits_problem, call, cut) -> None:  # noqa: ANN001
    model, xs, ys = digits_problem
    start, n = int(call["start"]), int(call["n"])  # type: ignore[call-overload]
    x, y = xs[start : start + n], ys[start : start + n]
    kwargs = dict(method=call["method"], norm=call["norm"], seed=call["seed"],
                  early_stop=call["early_stop"], **_steps(call["method"]))
    eps = call["eps"]
    whole = advcat.attack(model, x, y, eps=eps, **kwargs)  # type: ignore[arg-type]
    order = torch.arange(n).flip(0)
    part = order[: min(cut, n)]
    part_eps = eps[part] if isinstance(eps, Tensor) else eps
    alone = advcat.attack(model, x[part], y[part], eps=part_eps, index=part, **kwargs)  # type: ignore[arg-type]
    chunked = advcat.attack(model, x, y, eps=eps, batch_size=cut, **kwargs)  # type: ignore[arg-type]
    assert torch.allclose(alone.adv, whole.adv[part], atol=1e-5)
    assert torch.equal(alone.success, whole.success[part])
    assert torch.allclose(chunked.adv, whole.adv, atol=1e-5)


BAD_IMAGES = st.one_of(
    st.tuples(st.sampled_from([(8, 8), (1, 8, 8), (2, 1, 1, 8, 8), (0, 1, 8, 8)]), st.just("shape")),
    st.tuples(st.just((2, 1, 8, 8)), st.sampled_from(["nan", "inf", "above", "below", "int"])),
)


def _bad(shape: tuple[int, ...], kind: str) -> Tensor:
    x = torch.full(shape, 0.5)
    if kind == "int":
        return (x * 255).to(torch.uint8)
    if x.numel() and kind != "shape":
        x.view(-1)[0] = {"nan": math.nan, "inf": math.inf, "above": 1.5, "below": -0.2}[kind]
    return x


@PROBE
@given(case=BAD_IMAGES, method=st.sampled_from(GRADIENT_METHODS + ("square",)))
def test_bad_images_are_refused_naming_x(digits_problem, case, method) -> None:  # noqa: ANN001
    model, _, _ = digits_problem
    before = _snapshot(model)
    with pytest.raises((ValueError, TypeError), match=r"\bx\b"):
        advcat.attack(model, _bad(*case), method=method, eps=4 / 255, **_steps(method))
    assert _unchanged(model, before)


@PROBE
@given(labels=st.one_of(
    st.lists(st.integers(-3, 13), min_size=3, max_size=3).filter(lambda v: min(v) < 0 or max(v) > 9),
    st.just("float"), st.just("short"),
))
def test_bad_labels_are_refused_naming_y(digits_problem, labels) -> None:  # noqa: ANN001
    model, xs, _ = digits_problem
    x = xs[:3]
    if labels == "float":
        y = torch.tensor([1.0, 2.0, 3.0])
    elif labels == "short":
        y = torch.tensor([1, 2])
    else:
        y = torch.tensor(labels)
    with pytest.raises((ValueError, TypeError), match=r"\by\b"):
        advcat.attack(model, x, y, eps=4 / 255, steps=2)


@PROBE
@given(eps=st.one_of(st.sampled_from([-1.0, math.nan, math.inf, -math.inf, 8.0, 255.0]),
                     st.floats(1.0001, 1e6)))
def test_implausible_linf_budgets_are_refused_naming_eps(digits_problem, eps) -> None:  # noqa: ANN001
    model, xs, _ = digits_problem
    with pytest.raises(ValueError, match="eps"):
        advcat.attack(model, xs[:2], method="pgd", norm="linf", eps=eps, steps=2)


@PROBE
@given(n=st.integers(1, 5), steps=st.integers(1, 4), seed=st.integers(0, 1000),
       norm=st.sampled_from(NORMS), level=st.sampled_from([0, 2, 8]))
def test_optimize_keeps_the_box_the_ball_and_the_seed(digits_problem, n, steps, seed, norm, level) -> None:  # noqa: ANN001
    model, xs, ys = digits_problem
    x, y = xs[:n], ys[:n]
    eps = level * SCALE[norm]
    threat = T.make_threat(norm, eps)
    step = S.Sign(SCALE["linf"]) if norm == "linf" else S.Normalized(SCALE[norm], p=2 if norm == "l2" else 1)
    run = dict(threat=threat, step=step, steps=steps, seed=seed)
    first = advcat.optimize(model, x, O.CrossEntropy(y), **run)  # type: ignore[arg-type]
    again = advcat.optimize(model, x, O.CrossEntropy(y), **run)  # type: ignore[arg-type]
    assert torch.equal(first.x, again.x)
    assert float(first.x.min()) >= 0.0 and float(first.x.max()) <= 1.0
    assert bool((_norms(first.x - x, norm) <= eps * (1 + 1e-5) + 1e-6).all())


@PROBE
@given(n=st.integers(2, 12), batch=st.integers(1, 12), level=st.sampled_from([0, 4, 16]))
def test_evaluate_counts_each_point_once_and_never_above_clean(digits_problem, n, batch, level) -> None:  # noqa: ANN001
    model, xs, ys = digits_problem
    eps = level / 255
    before = _snapshot(model)
    report = advcat.evaluate(model, (xs[:n], ys[:n]), eps=[eps], attacks="fast", batch_size=batch,
                             progress=False, sanity=False)
    whole = advcat.evaluate(model, (xs[:n], ys[:n]), eps=[eps], attacks="fast", batch_size=n,
                            progress=False, sanity=False)
    assert _unchanged(model, before)
    assert report.n == n
    robust = report.robust_accuracy[0]
    assert 0.0 <= robust <= report.clean_accuracy
    assert robust == whole.robust_accuracy[0]
    if level == 0:
        assert robust == report.clean_accuracy
