"""Fine-tuning benchmark on Fashion-MNIST (60k train / 10k test, 28x28 grayscale) on a CPU.

1. linear: the embedded EfficientNet-Lite0's frozen features, cached (the backbone runs once over
   the 70k images at --size px), a new head trained on 90% of the training set with early stopping
   on the other 10%, scored on the 10k test images;
2. partial: the same backbone with its top 2 blocks unfrozen, on a stratified subset;
3. full and pgd: the whole network fine-tuned on a smaller subset at a reduced resolution, once
   plainly and once on PGD examples (Madry et al.), everything else equal;
4. robustness: advcat.evaluate (APGD-CE) at small L-inf eps on test images, for each model.

Run: `.venv/bin/python benchmarks/finetune.py [--write]` (about an hour on a quiet 2-core CPU,
most of it the linear part's features); `--parts` runs some parts and takes the others' results
from OUT/results.json; checkpoints go to --out, so a cut-off run resumes. `--write` replaces this
benchmark's section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

import advcat
from advcat.attacks import PGD
from advcat.data import Subset, fashion_mnist, stratified_split
from advcat.transfer import classification_report

sys.path.insert(0, str(Path(__file__).parent))
from results import write_section  # noqa: E402

TITLE = "## Fine-tuning: Fashion-MNIST through the embedded model (issue 7)"


def subset(data: Any, n: int, seed: int) -> Subset[Any]:
    """A stratified subset of `n` items of `data`, chosen by `seed`."""
    _, part = stratified_split(data, n / len(data), seed=seed)
    return part


def epoch_seconds(result: Any) -> float:
    """Training time summed over the epochs (right even when a run was resumed)."""
    return float(sum(row["seconds"] for row in result.history))


def robustness(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
               eps: list[float], steps: int) -> dict[str, Any]:
    """Clean and APGD-CE robust accuracy per eps (advcat.evaluate), with its time."""
    start = time.perf_counter()
    report = advcat.evaluate(model, (images, labels), norm="linf", eps=eps,
                             attacks=[("apgd_ce", {"steps": steps})], batch_size=50,
                             progress=False, sanity_points=50)
    return {"clean": report.clean_accuracy, "robust": list(report.robust_accuracy),
            "warnings": list(report.warnings), "seconds": time.perf_counter() - start}


PARTS = ("linear", "partial", "full", "pgd", "robustness")
MODELS = ("linear", "partial", "full", "pgd")


class Bench:
    """The data, the backbone and the results of one benchmark run; each part adds its entry.

    Results live in OUT/results.json, rewritten after every part, so parts can run separately
    (`--parts`) and a later run fills in what an earlier one left.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        self.args, self.out = args, Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        saved = self.out / "results.json"
        self.results: dict[str, Any] = json.loads(saved.read_text()) if saved.exists() else {}
        self.results.update(load_start=os.getloadavg()[0], threads=torch.get_num_threads())
        self.train: Any = fashion_mnist(split="train")
        self.test: Any = fashion_mnist(split="test")
        if args.quick:
            self.train, self.test = subset(self.train, 300, seed=5), subset(self.test, 200, seed=6)
        self.test_small = subset(self.test, args.test_n, seed=2)
        self.backbone = advcat.load_model()
        self.models: dict[str, Any] = {}

    def save(self, key: str, value: Any) -> None:
        self.results[key] = value
        (self.out / "results.json").write_text(json.dumps(self.results, indent=2))
        print(key, json.dumps(value, indent=1)[:2000], flush=True)

    def model(self, name: str) -> Any:
        """The model a part trained in this run, else the one saved in OUT/name."""
        if name not in self.models:
            self.models[name] = advcat.load_model(self.out / name)
        return self.models[name]

    def linear(self) -> None:
        args, start = self.args, time.perf_counter()
        run = advcat.finetune(self.backbone, self.train, strategy="linear", epochs=args.epochs, lr=1e-3,
                              batch_size=256, image_size=args.size, patience=5, out=self.out / "linear",
                              progress=args.progress, seed=0)
        self.models["linear"] = run.model
        tick = time.perf_counter()
        scored = classification_report(run.model, self.test)
        self.save("linear", {
            "image_size": args.size, "n_train": run.metrics["n_train"], "n_val": run.metrics["n_val"],
            "epochs_run": run.metrics["epochs_run"], "best_epoch": run.metrics["best_epoch"],
            "val_top1": run.metrics["top1"], "test_top1": scored["top1"], "test_top5": scored["top5"],
            "test_loss": scored["loss"], "per_class": scored["per_class"],
            "feature_seconds": run.metrics["feature_seconds"], "train_seconds": run.metrics["seconds"],
            "test_seconds": time.perf_counter() - tick, "total_seconds": time.perf_counter() - start,
            "test_n": len(self.test),
        })

    def partial(self) -> None:
        args = self.args
        run = advcat.finetune(self.backbone, subset(self.train, args.partial_n, seed=1),
                              strategy="partial", unfreeze=2, epochs=args.partial_epochs, lr=1e-3,
                              backbone_lr=1e-4, batch_size=64, image_size=args.size,
                              out=self.out / "partial", progress=args.progress, seed=0)
        self.models["partial"] = run.model
        linear_top1 = classification_report(self.model("linear"), self.test_small)["top1"]
        self.save("partial", {
            "image_size": args.size, "n_train": run.metrics["n_train"],
            "epochs_run": run.metrics["epochs_run"], "val_top1": run.metrics["top1"],
            "test_n": len(self.test_small),
            "test_top1": classification_report(run.model, self.test_small)["top1"],
            "linear_test_top1_same_images": linear_top1,
            "train_seconds": epoch_seconds(run),
        })

    def full(self) -> None:
        self._whole(None, "full")

    def pgd(self) -> None:
        self._whole(PGD(norm="linf", eps=self.args.train_eps, steps=self.args.train_steps), "pgd")

    def _whole(self, attack: PGD | None, name: str) -> None:
        """All layers fine-tuned at the reduced size on the same subset, with or without PGD training."""
        args = self.args
        run = advcat.finetune(self.backbone, subset(self.train, args.adv_n, seed=3), strategy="full",
                              epochs=args.adv_epochs, lr=1e-3, backbone_lr=3e-4, batch_size=64,
                              image_size=args.adv_size, adversarial=attack, augment="none",
                              out=self.out / name, progress=args.progress, seed=0)
        self.models[name] = run.model
        self.save(name, {
            "image_size": args.adv_size, "n_train": run.metrics["n_train"],
            "epochs_run": run.metrics["epochs_run"], "attack": run.config["adversarial"],
            "val_top1": run.metrics["top1"], "test_n": len(self.test_small),
            "test_top1": classification_report(run.model, self.test_small)["top1"],
            "train_seconds": epoch_seconds(run),
        })

    def robustness(self) -> None:
        """advcat.evaluate of each model on the first --robust-n images of the test subset; a model
        not retrained in this run keeps an earlier result with the same settings."""
        args = self.args
        images, labels = self.test_small.batch(torch.arange(args.robust_n))
        eps = [e / 255 for e in args.eps]
        settings = {"n": args.robust_n, "eps": eps, "steps": args.robust_steps}
        for name in MODELS:
            earlier = self.results.get(f"robustness_{name}", {})
            if name not in self.models and all(earlier.get(k) == v for k, v in settings.items()):
                continue
            self.save(f"robustness_{name}", {
                **settings, **robustness(self.model(name), images, labels, eps, args.robust_steps),
            })


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The parts asked for, in order; the results of all parts so far."""
    bench = Bench(args)
    for part in PARTS:
        if part in args.parts:
            getattr(bench, part)()
    bench.save("load_end", os.getloadavg()[0])
    return bench.results


def section(r: dict[str, Any], args: argparse.Namespace) -> str:
    """This benchmark's RESULTS.md section, from the results of every part."""
    lin, par, full, pgd = (r[name] for name in MODELS)
    eps_names = " / ".join(f"{e:g}/255" for e in args.eps)
    warned = [f"- {name}: {text}" for name in MODELS for text in r[f"robustness_{name}"]["warnings"]]

    def rob(name: str) -> str:
        x = r[f"robustness_{name}"]
        return f"{x['clean']:.3f} | " + " | ".join(f"{a:.3f}" for a in x["robust"])

    def whole(row: dict[str, Any], label: str) -> str:
        return (f"| {label} | {row['image_size']} px | {row['n_train']} | {row['epochs_run']} | "
                f"{row['val_top1']:.4f} | {row['test_top1']:.4f} ({row['test_n']}) | "
                f"{row['train_seconds'] / 60:.1f} min |")

    return "\n".join([
        TITLE, "",
        f"- command: `.venv/bin/python benchmarks/finetune.py --write` (settings: --size {args.size}, "
        f"--partial-n {args.partial_n}, --adv-n {args.adv_n}, --adv-size {args.adv_size}, --adv-epochs "
        f"{args.adv_epochs}, --robust-n {args.robust_n}, --robust-steps {args.robust_steps}); parts "
        "can run apart with `--parts`, results gather in OUT/results.json",
        f"- machine: {os.cpu_count()}-core x86 CPU, torch {torch.__version__}, {r['threads']} threads; "
        f"1-min load average {r['load_start']:.1f} at the start of the last run and {r['load_end']:.1f} "
        "at its end (the machine is shared, so times are upper bounds)",
        f"- date: {datetime.date.today().isoformat()}",
        "- data: Fashion-MNIST from the Debian package `dataset-fashion-mnist` (60k train, 10k "
        "test); validation is a stratified 10% of each training set, never the test set; the "
        "models take the 28x28 grayscale images and adapt them inside (channel repeat, bilinear "
        "resize to the stated size)",
        "",
        "| run | backbone sees | train images | epochs | held-out val top-1 | test top-1 | time |",
        "|---|---|---|---|---|---|---|",
        f"| linear, cached features | {lin['image_size']} px | {lin['n_train']} | "
        f"{lin['epochs_run']} (best {lin['best_epoch']}) | {lin['val_top1']:.4f} | "
        f"**{lin['test_top1']:.4f}** ({lin['test_n']}; top-5 {lin['test_top5']:.4f}) | features "
        f"{lin['feature_seconds'] / 60:.1f} min, whole run {lin['train_seconds'] / 60:.1f} min, "
        f"test pass {lin['test_seconds'] / 60:.1f} min |",
        f"| partial (top 2 blocks, lr 1e-4) | {par['image_size']} px | {par['n_train']} | "
        f"{par['epochs_run']} | {par['val_top1']:.4f} | {par['test_top1']:.4f} ({par['test_n']}; "
        f"linear on the same images {par['linear_test_top1_same_images']:.4f}) | "
        f"{par['train_seconds'] / 60:.1f} min |",
        whole(full, "full, plain"),
        whole(pgd, f"full, PGD training (linf {args.train_eps * 255:g}/255, {args.train_steps} steps)"),
        "",
        f"Robust accuracy under advcat.evaluate (APGD-CE, {args.robust_steps} steps, L-inf eps "
        f"{eps_names}, the first {args.robust_n} images of the test subset); the two full rows differ "
        "only in PGD training:",
        "",
        "| model | clean | " + " | ".join(f"robust at {e:g}/255" for e in args.eps) + " |",
        "|---|---|" + "---|" * len(args.eps),
        f"| linear | {rob('linear')} |",
        f"| partial | {rob('partial')} |",
        f"| full, plain | {rob('full')} |",
        f"| full, PGD training | {rob('pgd')} |",
        "",
        *(["advcat.evaluate's sanity checks warned (robust accuracy is then an upper bound):", "",
           *warned, ""] if warned else ["advcat.evaluate's sanity checks raised no warning.", ""]),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64, help="resolution the backbone sees")
    parser.add_argument("--epochs", type=int, default=30, help="linear head epochs (cached)")
    parser.add_argument("--partial-n", type=int, default=4000)
    parser.add_argument("--partial-epochs", type=int, default=2)
    parser.add_argument("--adv-n", type=int, default=6000)
    parser.add_argument("--adv-size", type=int, default=32)
    parser.add_argument("--adv-epochs", type=int, default=5)
    parser.add_argument("--train-eps", type=float, default=2 / 255)
    parser.add_argument("--train-steps", type=int, default=3)
    parser.add_argument("--test-n", type=int, default=2000)
    parser.add_argument("--robust-n", type=int, default=500)
    parser.add_argument("--robust-steps", type=int, default=100)
    parser.add_argument("--eps", type=float, nargs="+", default=[1.0, 2.0], help="in 1/255")
    parser.add_argument("--out", default="/tmp/advcat-bench-finetune")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="parts to run; the others' results come from OUT/results.json")
    parser.add_argument("--quick", action="store_true",
                        help="a few hundred images and tiny settings, to check the script runs")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.epochs, args.partial_n, args.partial_epochs = 32, 2, 120, 1
        args.adv_n, args.adv_size, args.adv_epochs, args.test_n = 120, 32, 1, 100
        args.robust_n, args.robust_steps, args.write = 10, 2, False
    text = section(run(args), args)
    print(text)
    if args.write:
        write_section(TITLE, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
