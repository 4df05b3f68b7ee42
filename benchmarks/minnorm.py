"""Minimum-norm attacks judged the AttackBench way: robust accuracy as a function of the
perturbation size, against the best curve any attack found on the same points.

advcat's FMN, DDN and CW beside adv-lib's FMN and DDN, Foolbox's FMN and DDN, and torchattacks'
FAB and CW, on benchmarks/evaluation.py's plain Fashion-MNIST CNN, L2 and L-inf, each with a
budget of 100 gradient steps (CW: advcat 4 x 25, torchattacks 100 at one c). Every perturbation
is checked here: the model's prediction on the returned image must differ from the label, else
the point counts as not broken (norm infinity).

Optimality (after Cina et al. 2024, AttackBench): with r(e) the fraction of points an attack
leaves unbroken within norm e, and r* the pointwise best over all attacks (each point's smallest
verified norm), optimality = (area under r*) / (area under r) over [0, e_max], e_max the largest
finite best norm: 1 for an attack that matches the best everywhere, lower the more it lags.

Run: `.venv/bin/python benchmarks/minnorm.py [--n 200] [--write]` (adv-lib: `pip install --no-deps
adv-lib`; its optional visdom logger is stubbed when absent).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

import advcat
from advcat.data import fashion_mnist

sys.path.insert(0, str(Path(__file__).parent))
from evaluation import train  # noqa: E402
from results import machine_and_date, write_section  # noqa: E402

TITLE = "## Attacks: minimum-norm optimality, advcat vs adv-lib, Foolbox, torchattacks (issue 16)"
STEPS = 100
Run = Callable[[nn.Module, Tensor, Tensor], Tensor]


def _advcat(method: str, norm: str, **options: object) -> Run:
    def run(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        return advcat.attack(model, x, y, method=method, norm=norm, eps=None, **options).adv
    return run


def _adv_lib(name: str, norm: float) -> Run:
    if "visdom" not in sys.modules:
        try:
            import visdom  # noqa: F401
        except ImportError:
            sys.modules["visdom"] = types.ModuleType("visdom")  # adv-lib imports it for logging only
    from adv_lib.attacks.decoupled_direction_norm import ddn
    from adv_lib.attacks.fast_minimum_norm import fmn

    def run(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        if name == "fmn":
            return fmn(model, x, y, norm=norm, steps=STEPS)
        return ddn(model, x, y, steps=STEPS, levels=None)
    return run


def _foolbox(attack: str) -> Run:
    import foolbox as fb

    def run(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        wrapped = fb.PyTorchModel(model, bounds=(0, 1))
        made = {"L2FMN": lambda: fb.attacks.L2FMNAttack(steps=STEPS),
                "LInfFMN": lambda: fb.attacks.LInfFMNAttack(steps=STEPS),
                "DDN": lambda: fb.attacks.DDNAttack(steps=STEPS)}[attack]()
        _, clipped, _ = made(wrapped, x, y, epsilons=None)
        return clipped
    return run


def _torchattacks(attack: str, norm: str) -> Run:
    import torchattacks

    def run(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
        if attack == "fab":
            made = torchattacks.FAB(model, norm="L2" if norm == "l2" else "Linf",
                                    eps=10.0 if norm == "l2" else 1.0, steps=STEPS, n_classes=10)
        else:
            made = torchattacks.CW(model, c=1, steps=STEPS, lr=0.01)
        return made(x, y)
    return run


def attacks(norm: str) -> dict[str, Run]:
    """Every attack of the table for `norm`."""
    if norm == "l2":
        return {
            "advcat FMN": _advcat("fmn", "l2", steps=STEPS),
            "advcat DDN": _advcat("ddn", "l2", steps=STEPS),
            "advcat CW (4 x 25 steps)": _advcat("cw", "l2", steps=25, search_steps=4),
            "adv-lib FMN": _adv_lib("fmn", 2.0),
            "adv-lib DDN": _adv_lib("ddn", 2.0),
            "Foolbox FMN": _foolbox("L2FMN"),
            "Foolbox DDN": _foolbox("DDN"),
            "torchattacks FAB": _torchattacks("fab", "l2"),
            "torchattacks CW (c=1)": _torchattacks("cw", "l2"),
        }
    return {
        "advcat FMN": _advcat("fmn", "linf", steps=STEPS),
        "adv-lib FMN": _adv_lib("fmn", math.inf),
        "Foolbox FMN": _foolbox("LInfFMN"),
        "torchattacks FAB": _torchattacks("fab", "linf"),
    }


def verified_norms(model: nn.Module, x: Tensor, y: Tensor, adv: Tensor, norm: str) -> Tensor:
    """Each point's perturbation size, infinity where the image is not adversarial or leaves [0, 1]."""
    adv = adv.detach().to(x.dtype)
    with torch.no_grad():
        fooled = model(adv).argmax(1) != y
    inside = (adv >= 0).flatten(1).all(1) & (adv <= 1).flatten(1).all(1)
    delta = (adv - x).flatten(1)
    size = delta.norm(dim=1) if norm == "l2" else delta.abs().amax(1)
    return torch.where(fooled & inside, size, torch.full_like(size, math.inf))


def area(norms: Tensor, top: float, grid: int = 2000) -> float:
    """The area under e -> fraction of points with norm > e, over [0, top]."""
    levels = torch.linspace(0, top, grid)
    robust = (norms[None, :] > levels[:, None]).float().mean(1)
    return float(torch.trapezoid(robust, levels))


def table(model: nn.Module, x: Tensor, y: Tensor, norm: str) -> list[str]:
    """One row per attack: success, median norm, optimality, seconds. An attack that raised gets a
    row saying so and takes no part in the best curve (its points are not counted as broken)."""
    found: dict[str, tuple[Tensor, float]] = {}
    failed: list[str] = []
    for name, run in attacks(norm).items():
        start = time.perf_counter()
        try:
            adv = run(model, x, y)
        except Exception as error:  # noqa: BLE001 - a peer that fails is reported, not fatal
            print(f"{name}: failed: {error!r}", flush=True)
            failed.append(f"| {norm} | {name} | FAILED: {type(error).__name__} | - | - | - |")
            continue
        found[name] = (verified_norms(model, x, y, adv, norm), time.perf_counter() - start)
        print(name, float(found[name][0].median()), flush=True)
    best = torch.stack([norms for norms, _ in found.values()]).amin(0)
    finite = best[torch.isfinite(best)]
    top = float(finite.max()) if finite.numel() else 1.0
    best_area = area(best, top)
    rows = []
    for name, (norms, seconds) in found.items():
        success = float(torch.isfinite(norms).float().mean())
        rows.append(f"| {norm} | {name} | {success:.3f} | {float(norms.median()):.4f} | "
                    f"{best_area / max(area(norms, top), 1e-12):.3f} | {seconds:.1f} |")
    rows += failed
    rows.append(f"| {norm} | (best of all, per point) | {float(torch.isfinite(best).float().mean()):.3f} | "
                f"{float(best.median()):.4f} | 1.000 | - |")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "advcat" / "bench-evaluation")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    load = os.getloadavg()[0]
    model, _ = train(False, 3, args.cache)
    x, y = fashion_mnist(split="test").batch(torch.arange(args.n))
    with torch.no_grad():
        right = model(x).argmax(1) == y
    x, y = x[right], y[right]
    rows = table(model, x, y, "l2") + table(model, x, y, "linf")
    text = "\n".join([
        TITLE, "",
        f"- command: `.venv/bin/python benchmarks/minnorm.py --n {args.n} --write` ({STEPS} steps each; "
        f"the {int(right.sum())} correctly classified of the first {args.n} Fashion-MNIST test points; "
        "benchmarks/evaluation.py's plain CNN)",
        *machine_and_date(load, "seconds are upper bounds"),
        "",
        "Success: the share of points with a verified adversarial image; median: over all points "
        "(infinity counts as largest); optimality: area under the best per-point curve over the "
        "area under the attack's (1 is the best curve itself).",
        "",
        "| norm | attack | success | median norm | optimality | seconds |",
        "|---|---|---|---|---|---|",
        *rows, "",
    ])
    print(text)
    if args.write:
        write_section(TITLE, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
