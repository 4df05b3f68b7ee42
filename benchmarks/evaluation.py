"""Evaluation benchmark: advcat's "standard" cascade against the official AutoAttack (pyautoattack,
version "standard") on a normally and an adversarially trained Fashion-MNIST CNN, side by side, on
the same test points; then the embedded model on foolbox's 20 labelled ImageNet photos.

Run: `.venv/bin/python benchmarks/evaluation.py [--write]` (Fashion-MNIST from the Debian package
dataset-fashion-mnist; about an hour on a shared 2-core CPU). `--write` replaces this benchmark's
section of benchmarks/RESULTS.md. Trained weights are cached in --cache, so a rerun skips training.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import sys
import time
from pathlib import Path

import torch
from torch import Tensor, nn

import advcat
from advcat.attacks import PGD
from advcat.data import fashion_mnist

sys.path.insert(0, str(Path(__file__).parent))
from results import cpu_name, write_section  # noqa: E402

TITLE = "## Evaluation: advcat vs AutoAttack on Fashion-MNIST (issue 6)"
EPS = 0.1


class FashionNet(nn.Module):
    """A small CNN for 1x28x28 images: two convolutions, two linear layers."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 100), nn.ReLU(), nn.Linear(100, 10))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def pixel_model(net: nn.Module, name: str, classes: tuple[str, ...]) -> advcat.PixelModel:
    return advcat.wrap(net, mean=[0.0], std=[1.0], name=name, input_size=28, classes=list(classes))


def train(adversarial: bool, epochs: int, cache: Path, seed: int = 0) -> tuple[advcat.PixelModel, float]:
    """Train (or load from `cache`) the CNN; adversarially: FGSM with a random start (Wong et al.
    2020), eps 0.1, step 1.25 eps. Returns the model and the training seconds (0 when cached)."""
    data = fashion_mnist(split="train")
    name = "fmnist_fgsm_rs" if adversarial else "fmnist_plain"
    torch.manual_seed(seed)
    net = FashionNet()
    model = pixel_model(net, name, data.classes)
    path = cache / f"{name}.pt"
    if path.is_file():
        model.load_state_dict(torch.load(path))
        return model.eval(), 0.0
    attack = PGD(eps=EPS, steps=1, step_size=1.25 * EPS, random_start=True)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for epoch in range(epochs):
        order = torch.randperm(len(data), generator=generator)
        for b, i in enumerate(range(0, len(order), 128)):
            x, y = data.batch(order[i:i + 128])
            if adversarial:
                x = attack(model, x, y, seed=epoch * 10_000 + b).adv
            model.train()
            loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    cache.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return model.eval(), seconds


class _Progress(logging.Handler):
    """Keeps AutoAttack's "robust accuracy after ATTACK: ... (total time ... s)" lines."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text.startswith("robust accuracy after"):
            self.lines.append(text.removeprefix("robust accuracy after "))


def run_autoattack(model: nn.Module, x: Tensor, y: Tensor, batch_size: int) -> tuple[Tensor, float, str]:
    """Per-point robust flags from the official AutoAttack (standard), re-checked here, its time
    and its own per-attack progress."""
    from pyautoattack import AutoAttack

    adversary = AutoAttack(model, norm="Linf", eps=EPS, version="standard", device="cpu", seed=0)
    progress = _Progress()
    logger = logging.getLogger("auto-attack")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(progress)
    start = time.perf_counter()
    try:
        x_adv, _ = adversary.run_standard_evaluation(x, y, batch_size=batch_size)
    finally:
        logger.removeHandler(progress)
    seconds = time.perf_counter() - start
    assert float((x_adv - x).abs().amax()) <= EPS + 1e-5, "AutoAttack left the eps-ball"
    with torch.no_grad():
        robust = model(x_adv).argmax(1) == y
    return robust, seconds, "; ".join(progress.lines)


def compare(model: advcat.PixelModel, x: Tensor, y: Tensor, batch_size: int) -> dict[str, object]:
    """advcat standard and AutoAttack standard on the same points."""
    start = time.perf_counter()
    report = advcat.evaluate(model, (x, y), eps=[EPS], attacks="standard", batch_size=batch_size,
                             progress=False)
    ours_seconds = time.perf_counter() - start
    theirs, theirs_seconds, theirs_stages = run_autoattack(model, x, y, batch_size)
    ours = report.robust(EPS)
    return {
        "model": model.info.name,
        "clean": report.clean_accuracy,
        "ours": float(ours.float().mean()),
        "theirs": float(theirs.float().mean()),
        "only_theirs_broke": int((ours & ~theirs).sum()),
        "only_ours_broke": int((~ours & theirs).sum()),
        "ours_seconds": ours_seconds,
        "attack_seconds": report.seconds["attacks"],
        "sanity_seconds": report.seconds["sanity"],
        "theirs_seconds": theirs_seconds,
        "stages": ", ".join(f"{row['name']} {row['broken']}" + (f" ({row['seconds']:.0f} s)" if row["seconds"]
                            else "") for row in report.attacks[0]),
        "theirs_stages": theirs_stages,
        "warnings": report.warnings,
    }


def photos(batch_size: int) -> advcat.Report:
    """The embedded model on foolbox's 20 labelled ImageNet photos, standard cascade."""
    model = advcat.load_model()
    return advcat.evaluate(model, "imagenet_samples", eps=[0.5 / 255, 1 / 255, 2 / 255], attacks="standard",
                           batch_size=batch_size, progress=False)


def section(rows: list[dict[str, object]], photo: advcat.Report | None, trained: dict[str, float],
            args: argparse.Namespace, load: float) -> str:
    lines = [
        TITLE, "",
        f"- command: `.venv/bin/python benchmarks/evaluation.py --write` (n {args.n}, batch "
        f"{args.batch_size}, {args.epochs} plain / {args.adv_epochs} FGSM-RS epochs)",
        f"- machine: {os.cpu_count()}-core x86 CPU, {cpu_name()}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s) for both tools; 1-min load average {load:.1f} at the start "
        "(the machine is shared with other jobs, so times are upper bounds; both tools ran under it)",
        f"- date: {datetime.date.today().isoformat()}",
        "- training: " + ", ".join(f"{k} {v:.0f} s" for k, v in trained.items()),
        "",
        f"Linf eps {EPS}, the first {args.n} Fashion-MNIST test points; robust accuracy in %; advcat's time "
        "includes its sanity checks (attacks alone in brackets).",
        "",
        "| model | clean | advcat standard | AutoAttack standard | points only AA broke | points only advcat "
        "broke | advcat s | AutoAttack s | time ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        clean, ours, theirs = (float(r[key]) for key in ("clean", "ours", "theirs"))  # type: ignore[arg-type]
        lines.append(
            f"| {r['model']} | {100 * clean:.1f} | {100 * ours:.1f} | {100 * theirs:.1f} | "
            f"{r['only_theirs_broke']} | {r['only_ours_broke']} | {r['ours_seconds']:.0f} "
            f"({r['attack_seconds']:.0f}) | {r['theirs_seconds']:.0f} | "
            f"{r['ours_seconds'] / r['theirs_seconds']:.2f} |"  # type: ignore[operator]
        )
    lines.append("")
    for r in rows:
        warnings = r["warnings"] or "none"
        lines.append(f"- {r['model']}: advcat stages broke {r['stages']}; warnings: {warnings}. AutoAttack: "
                     f"robust accuracy after {r['theirs_stages']}")
    if photo is not None:
        lines += ["", "Embedded EfficientNet-Lite0 on foolbox's 20 labelled ImageNet photos "
                  "(advcat standard):", "", photo.to_markdown()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--adv-epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: best on a loaded CPU)")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "advcat" / "bench-evaluation")
    parser.add_argument("--no-photos", action="store_true")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    test = fashion_mnist(split="test")
    x, y = test.batch(torch.arange(args.n))
    rows, trained = [], {}
    for adversarial, epochs in ((False, args.epochs), (True, args.adv_epochs)):
        model, seconds = train(adversarial, epochs, args.cache)
        trained[model.info.name] = seconds
        rows.append(compare(model, x, y, args.batch_size))
        print(rows[-1], flush=True)
    photo = None if args.no_photos else photos(20)
    if photo is not None:
        print(photo.summary(), flush=True)
    text = section(rows, photo, trained, args, load)
    print(text)
    if args.write:
        write_section(TITLE, text)
    return 0



if __name__ == "__main__":
    raise SystemExit(main())
