"""The lesson's transfer learning: a pretrained backbone becomes a new classifier, then gets attacked.

Fashion-MNIST runs offline (the Debian package `dataset-fashion-mnist`). Cats vs dogs (Microsoft's
PetImages) and Oxford-IIIT Pet run when you have them: pass --cats-dogs DIR and --pets DIR. Each
set is fitted twice, as the lesson did: a new head on frozen features ("linear", the features are
computed once and cached), then the top blocks unfrozen at a lower learning rate ("partial"). The
held-out accuracy is measured on data the model never trained on (the lesson's notebooks once
scored the training set by mistake), and the result is attacked with PGD to show how little it
takes to flip it.

    python examples/transfer_learning.py [--quick] [--out DIR] [--cats-dogs DIR] [--pets DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch
from common import load, parser, write_summary
from torch.utils.data import Dataset

import advcat
from advcat.data import Subset, cats_vs_dogs, fashion_mnist, oxford_pets, stratified_split
from advcat.viz import confusion, curves, save_figure

# What the lesson printed (validation accuracy), for comparison
LESSON = {"cats_vs_dogs": {"linear (VGG-16, 1 epoch)": 0.967, "unfrozen (+1 epoch)": 0.974}}


def sample(dataset: Dataset, n: int | None, seed: int = 0) -> Dataset:
    """At most `n` items of `dataset`, drawn at random with `seed` (all of it for None)."""
    size = len(dataset)  # type: ignore[arg-type]
    if n is None or n >= size:
        return dataset
    generator = torch.Generator().manual_seed(seed)
    return Subset(dataset, torch.randperm(size, generator=generator)[:n].tolist())


def tensors(dataset: Dataset, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `n` images (N, C, H, W) and labels (N,) of a labelled set."""
    items = [dataset[i] for i in range(min(n, len(dataset)))]  # type: ignore[arg-type]
    return torch.stack([image for image, _ in items]), torch.tensor([label for _, label in items])


def fit_and_attack(name: str, train: Dataset, test: Dataset, args: argparse.Namespace) -> dict[str, Any]:
    """Linear then partial fine-tuning of the embedded backbone; held-out accuracy; PGD on the result."""
    backbone = load(quick=args.quick)
    options: dict[str, Any] = {"image_size": args.image_size, "batch_size": args.batch_size,
                               "progress": not args.quick, "seed": 0}
    linear = advcat.finetune(backbone, train, test, strategy="linear", epochs=args.epochs,
                             lr=1e-3, out=args.out / f"{name}_linear", **options)
    partial = advcat.finetune(backbone, train, test, strategy="partial", unfreeze=2,
                              epochs=max(1, args.epochs // 5), lr=1e-3,
                              cache_features=False, out=args.out / f"{name}_partial", **options)
    record: dict[str, Any] = {"n_train": len(train), "n_test": len(test)}  # type: ignore[arg-type]
    for label, run in (("linear", linear), ("partial", partial)):
        print(f"{name} {run.summary()}")
        save_figure(curves(run), args.out / f"{name}_{label}_curves")
        save_figure(confusion(run), args.out / f"{name}_{label}_confusion")
        record[label] = {"top1": run.metrics.get("top1"), "epochs": len(run.history),
                         "seconds": run.metrics.get("seconds")}
    images, labels = tensors(test, args.attack_n)
    attacked = advcat.attack(partial.model, images, labels, method="pgd", eps=args.eps, steps=args.steps)
    with torch.no_grad():
        clean = (partial.model(images).argmax(1) == labels).float().mean()
    robust = (attacked.predictions == labels).float().mean()
    print(f"{name}: PGD-{args.steps} at L-inf {args.eps:.3g}: clean {float(clean):.3f} -> "
          f"robust {float(robust):.3f} on {len(labels)} held-out images")
    record["attack"] = {"eps": args.eps, "steps": args.steps, "n": len(labels),
                        "clean_accuracy": float(clean), "robust_accuracy": float(robust)}
    return record


def folder_or_skip(path: Path | None, what: str, how: str) -> Path | None:
    """`path` if it exists, else None after saying why the part is skipped."""
    if path is not None and path.exists():
        return path
    where = f"no folder at {path}" if path is not None else "no folder given"
    print(f"{what}: skipped ({where}). {how}")
    return None


def main() -> None:
    args_parser = parser(__doc__, "transfer_learning")
    args_parser.add_argument("--cats-dogs", type=Path, default=None,
                             help="the PetImages folder (Cat/, Dog/) of Microsoft's cats-vs-dogs set")
    args_parser.add_argument("--pets", type=Path, default=None,
                             help="a folder holding oxford-iiit-pet/images and oxford-iiit-pet/annotations")
    args_parser.add_argument("--train-size", type=int, default=10000)
    args_parser.add_argument("--test-size", type=int, default=2000)
    args_parser.add_argument("--image-size", type=int, default=128,
                             help="resolution the backbone sees (lower is faster on a CPU)")
    args_parser.add_argument("--epochs", type=int, default=10)
    args_parser.add_argument("--eps", type=float, default=2 / 255)
    args = args_parser.parse_args()
    if args.quick:
        args.train_size, args.test_size, args.image_size, args.epochs = 60, 20, 32, 1
    args.batch_size, args.steps, args.attack_n = (16, 2, 8) if args.quick else (64, 10, 200)
    summary: dict[str, Any] = {"lesson": LESSON, "image_size": args.image_size}

    train = sample(fashion_mnist(split="train"), args.train_size)
    test = sample(fashion_mnist(split="test"), args.test_size)
    summary["fashion_mnist"] = fit_and_attack("fashion_mnist", train, test, args)

    found = folder_or_skip(args.cats_dogs, "cats vs dogs",
                           "Download Microsoft's kagglecatsanddogs zip, unpack it and pass "
                           "--cats-dogs path/to/PetImages.")
    if found is not None:
        pets = sample(cats_vs_dogs(found, size=args.image_size), args.train_size + args.test_size)
        fit, held_out = stratified_split(pets, args.test_size / len(pets), seed=0)  # type: ignore[arg-type]
        summary["cats_vs_dogs"] = fit_and_attack("cats_vs_dogs", fit, held_out, args)

    found = folder_or_skip(args.pets, "Oxford-IIIT Pet",
                           "Unpack images.tar.gz and annotations.tar.gz from the Oxford-IIIT Pet "
                           "site into DIR/oxford-iiit-pet/ and pass --pets DIR.")
    if found is not None:
        trainval = sample(oxford_pets(found, split="trainval", size=args.image_size), args.train_size)
        pets_test = sample(oxford_pets(found, split="test", size=args.image_size), args.test_size)
        summary["oxford_pets"] = fit_and_attack("oxford_pets", trainval, pets_test, args)
    write_summary(args.out, summary)


if __name__ == "__main__":
    main()
