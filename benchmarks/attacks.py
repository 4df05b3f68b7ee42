"""Attack benchmark: PGD against its floor, torchattacks and foolbox; early-stopping evaluation;
dog-to-cat transfer from EfficientNet-Lite0 to Lite2.

Speed, on the embedded model (8 of foolbox's photos, 224 px) and on a small Fashion-MNIST CNN
trained here: the floor (steps x one forward+backward on the same batch, parameters frozen),
advcat's fixed-step PGD, torchattacks' and foolbox's PGD with the same eps, step and steps, and a
robust-accuracy evaluation with advcat's early stopping. Every run is timed in each of
`--repeats` interleaved rounds; ratios are medians of within-round ratios (the machine is
shared). Transfer: targeted to "tabby" on foolbox's 20 labelled photos (2 of them dogs),
single-model PGD vs MI-FGSM with input diversity vs a multi-scale ensemble, judged by Lite2 on
its own 260 px input.

Run: `.venv/bin/python benchmarks/attacks.py [--write]`; `--write` replaces this benchmark's
section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import advcat
from advcat.data import fashion_mnist, imagenet_samples
from advcat.data.classes import class_index
from advcat.models import borrowed

sys.path.insert(0, str(Path(__file__).parent))
from results import cpu_name, write_section  # noqa: E402

TITLE = "## Attacks: PGD speed against torchattacks and foolbox, early stopping, transfer (issue 3)"
DOGS = range(151, 269)


def floor(model: nn.Module, x: Tensor, y: Tensor, steps: int) -> None:
    """steps x one forward + backward to the input on the same batch: what any PGD must pay."""
    for _ in range(steps):
        inputs = x.detach().requires_grad_(True)
        loss = F.cross_entropy(model(inputs), y)
        torch.autograd.grad(loss, inputs)


Rounds = dict[str, list[float]]


def scoring_forward(model: nn.Module, x: Tensor) -> Tensor:
    """One forward pass without gradient: the cost of scoring the final iterate."""
    with torch.no_grad():
        return model(x)


def timed(runs: dict[str, Callable[[], object]], repeats: int) -> tuple[Rounds, dict[str, object]]:
    """Wall times of each run in each of `repeats` interleaved rounds, and each run's last output.

    Runs of one round sit next to each other in time, so their ratios cancel most of the shared
    machine's slow and fast periods; the median over rounds of those paired ratios is reported.
    """
    rounds: Rounds = {name: [] for name in runs}
    outputs: dict[str, object] = {}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            outputs[name] = run()
            rounds[name].append(time.perf_counter() - start)
    return rounds, outputs


def paired_ratio(rounds: Rounds, name: str, base: str) -> float:
    """Median over rounds of run `name`'s time over run `base`'s time in the same round."""
    return statistics.median(a / b for a, b in zip(rounds[name], rounds[base]))


def robust_accuracy(model: nn.Module, adv: Tensor, y: Tensor) -> float:
    with torch.no_grad():
        return float((model(adv).argmax(1) == y).float().mean())


def speed(model: nn.Module, x: Tensor, y: Tensor, eps: float, steps: int, repeats: int) -> list[str]:
    """One table block: floor, advcat, torchattacks, foolbox, and the early-stopping evaluation."""
    import foolbox as fb
    import torchattacks

    alpha = 2.5 * eps / steps
    with borrowed(model):  # eval mode, parameters frozen, for every contender alike
        fmodel = fb.PyTorchModel(model, bounds=(0, 1))
        ta = torchattacks.PGD(model, eps=eps, alpha=alpha, steps=steps, random_start=True)
        fa = fb.attacks.LinfPGD(abs_stepsize=alpha, steps=steps, random_start=True)
        runs: dict[str, Callable[[], object]] = {
            "floor": lambda: floor(model, x, y, steps),
            "forward": lambda: scoring_forward(model, x),
            "advcat": lambda: advcat.attack(
                model, x, y, method="pgd", eps=eps, step_size=alpha, steps=steps
            ).adv,
            "torchattacks": lambda: ta(x, y),
            "foolbox": lambda: fa(fmodel, x, y, epsilons=eps)[1],
            "advcat_early": lambda: advcat.attack(
                model, x, y, method="pgd", eps=eps, step_size=alpha, steps=steps, early_stop=True
            ),
        }
        rounds, outputs = timed(runs, repeats)
        outputs.pop("forward")
        early = outputs.pop("advcat_early")
        assert isinstance(early, advcat.AttackResult)
        outputs["advcat_early"] = early.adv
        work = float(early.steps_taken.sum()) / (steps * len(y))
        accuracy = {name: robust_accuracy(model, out, y) for name, out in outputs.items()
                    if isinstance(out, Tensor)}
    rows = [
        ("floor (forward+backward only)", "floor", None),
        ("one more forward, no gradient (what scoring the final iterate adds)", "forward", None),
        ("advcat PGD, fixed steps", "advcat", accuracy["advcat"]),
        ("torchattacks PGD", "torchattacks", accuracy["torchattacks"]),
        ("foolbox LinfPGD", "foolbox", accuracy["foolbox"]),
        ("advcat PGD, early stopping (robust accuracy)", "advcat_early", accuracy["advcat_early"]),
    ]
    lines = [f"| {label} | {min(rounds[name]):.2f} | {paired_ratio(rounds, name, 'floor'):.2f} | "
             f"{'-' if acc is None else f'{acc:.3f}'} |" for label, name, acc in rows]
    ratio = paired_ratio(rounds, "advcat_early", "torchattacks")
    lines.append(f"| early stopping / torchattacks' fixed-step PGD | | {ratio:.2f} | |")
    against_peer = paired_ratio(rounds, "advcat", "torchattacks")
    lines.append(f"| advcat fixed steps / torchattacks | | {against_peer:.2f} | |")
    lines.append(f"| early stopping: gradient steps taken / all samples x {steps} | | {work:.2f} | |")
    return lines


class FashionNet(nn.Module):
    """Two convolutions and two linear layers for 1x28x28 images."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def fashion_model(train_images: int, epochs: int) -> tuple[nn.Module, Tensor, Tensor, float, str]:
    """A FashionNet trained on the Debian package's Fashion-MNIST; (model, x_test, y_test, accuracy)."""
    train, test = fashion_mnist(split="train"), fashion_mnist(split="test")
    x = train.images[:train_images].float() / 255
    y = train.labels[:train_images]
    torch.manual_seed(0)
    net = FashionNet()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(epochs):
        order = torch.randperm(len(y))
        for i in range(0, len(y), 128):
            batch = order[i : i + 128]
            loss = F.cross_entropy(net(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    net.eval()
    model = advcat.wrap(net, mean=[0.0], std=[1.0], name="fashion_cnn", input_size=28, classes=train.classes)
    x_test, y_test = test.images.float() / 255, test.labels
    with torch.no_grad():
        accuracy = float((model(x_test[:2000]).argmax(1) == y_test[:2000]).float().mean())
    return model, x_test, y_test, accuracy, "Fashion-MNIST (Debian dataset-fashion-mnist)"


class Rescaled(nn.Module):
    """`model` fed its input resized to `size` px: one member of a multi-scale ensemble."""

    def __init__(self, model: nn.Module, size: int) -> None:
        super().__init__()
        self.model, self.size = model, size

    def forward(self, x: Tensor) -> Tensor:
        resized = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return self.model(resized)


def transfer(source: nn.Module, eps: float, steps: int) -> list[str]:
    """Targeted "tabby" attacks on Lite0, judged by Lite2: success on Lite0, tabby / any cat /
    dog label lost on Lite2, for all 20 photos and the 2 dog photos."""
    other = advcat.load_model("efficientnet_lite2")
    x, y = imagenet_samples(source)
    tabby = class_index("tabby")
    scales = advcat.ensemble([source, Rescaled(source, 256)])
    attacks = {
        "PGD on Lite0": lambda: advcat.attack(source, x, y, method="pgd", eps=eps, steps=steps, target=tabby),
        "MI-FGSM + input diversity 0.5 on Lite0": lambda: advcat.attack(
            source, x, y, method="mifgsm", eps=eps, steps=steps, diversity=0.5, target=tabby
        ),
        "MI-FGSM + diversity on a multi-scale ensemble (Lite0 at 224 and 256 px)": lambda: advcat.attack(
            scales, x, y, method="mifgsm", eps=eps, steps=steps, diversity=0.5, target=tabby
        ),
    }
    dogs = torch.tensor([int(label) in DOGS for label in y])
    lines = []
    for name, run in attacks.items():
        start = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - start
        with borrowed(source), torch.no_grad():
            on_source = source(result.adv).argmax(1) == tabby
        with borrowed(other), torch.no_grad():
            seen = other(advcat.attacks.transfer.fit_to(other, result.adv)).argmax(1)
        cells = []
        for rows in (torch.ones_like(dogs), dogs):
            cells += [
                f"{float(on_source[rows].float().mean()):.2f}",
                f"{float((seen[rows] == tabby).float().mean()):.2f}",
                f"{float(((seen[rows] >= 281) & (seen[rows] <= 285)).float().mean()):.2f}",
                f"{float((seen[rows] != y[rows]).float().mean()):.2f}",
            ]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {seconds:.0f} |")
    with borrowed(other), torch.no_grad():
        clean = other(advcat.attacks.transfer.fit_to(other, x)).argmax(1)
    lines.append(f"| (clean photos) | - | {float((clean == tabby).float().mean()):.2f} | "
                 f"{float(((clean >= 281) & (clean <= 285)).float().mean()):.2f} | "
                 f"{float((clean != y).float().mean()):.2f} | - | "
                 f"{float((clean[dogs] == tabby).float().mean()):.2f} | "
                 f"{float(((clean[dogs] >= 281) & (clean[dogs] <= 285)).float().mean()):.2f} | "
                 f"{float((clean[dogs] != y[dogs]).float().mean()):.2f} | - |")
    return lines


def section(args: argparse.Namespace) -> str:
    """Measure everything and format this benchmark's RESULTS.md section."""
    load_start = os.getloadavg()[0]
    started = time.perf_counter()
    header = ["| run | seconds | / floor (or as named) | robust accuracy |", "|---|---|---|---|"]
    lite0 = advcat.load_model()
    photos, labels = imagenet_samples(lite0)
    imagenet = speed(lite0, photos[:8], labels[:8], args.eps_imagenet, args.steps, args.repeats)
    fashion, fx, fy, accuracy, source = fashion_model(args.train_images, args.epochs)
    small = []
    for eps in args.eps_fashion:
        small += [f"| **eps {eps:g}** | | | |"]
        small += speed(fashion, fx[: args.fashion_batch], fy[: args.fashion_batch], eps, args.steps,
                       args.repeats)
    moved = transfer(lite0, args.eps_transfer, args.transfer_steps)
    minutes = (time.perf_counter() - started) / 60
    load_end = os.getloadavg()[0]
    return "\n".join([
        TITLE,
        "",
        f"- command: `.venv/bin/python benchmarks/attacks.py --write` (PGD: {args.steps} steps, step "
        f"2.5 eps / steps, random start; {args.repeats} interleaved rounds: seconds are the fastest "
        "round, ratios the median over rounds of the ratio within a round)",
        f"- machine: {os.cpu_count()}-core x86 CPU, {cpu_name()}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; 1-min load average {load_start:.1f} at the start and "
        f"{load_end:.1f} at the end ({minutes:.0f} minutes; the machine is shared, so times are upper "
        "bounds and ratios are the figures to read)",
        f"- date: {datetime.date.today().isoformat()}",
        "",
        f"Embedded EfficientNet-Lite0, 8 of foolbox's photos at 224 px, L-inf eps "
        f"{args.eps_imagenet * 255:g}/255:",
        "",
        *header,
        *imagenet,
        "",
        f"advcat's fixed-step PGD pays {args.steps} forward+backward passes and one more forward: it "
        "scores its final iterate, so the result's `success` and `logits` describe the images it "
        "returns; torchattacks and foolbox return the last iterate unscored. Early stopping saves the "
        "steps of the points that fall; points that stay robust take every step, so the share of "
        "steps taken (last row of each block) bounds the saving, and the time follows it.",
        "",
        f"A small CNN trained here for {args.epochs} epoch(s) on {args.train_images} images of "
        f"{source} (test accuracy {accuracy:.3f}), {args.fashion_batch} test images, L-inf:",
        "",
        *header,
        *small,
        "",
        f"Transfer, targeted to tabby (281), L-inf eps {args.eps_transfer * 255:g}/255, "
        f"{args.transfer_steps} steps, from Lite0 (224 px) to Lite2 (260 px, its own resize); the only "
        "other ImageNet weights available offline are Lite2's, so the ensemble is Lite0 at two input "
        "scales:",
        "",
        "| attack | all 20: tabby on Lite0 | tabby on Lite2 | any cat on Lite2 | label lost on Lite2 | "
        "2 dogs: tabby on Lite0 | tabby on Lite2 | any cat on Lite2 | label lost on Lite2 | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *moved,
        "",
    ])



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--eps-imagenet", type=float, default=2 / 255)
    parser.add_argument("--eps-fashion", type=float, nargs="+", default=[0.1, 0.2])
    parser.add_argument("--fashion-batch", type=int, default=500)
    parser.add_argument("--train-images", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--eps-transfer", type=float, default=16 / 255)
    parser.add_argument("--transfer-steps", type=int, default=10)
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    text = section(args)
    print(text)
    if args.write:
        write_section(TITLE, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
