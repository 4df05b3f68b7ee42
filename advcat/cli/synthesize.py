"""Synthesize ideal-class images (or channel pictures) and write PNGs and a gallery to --out DIR."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from advcat.cli.args import add_model_arguments, load_model, non_negative, out_dir, positive, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `advcat synthesize` options."""
    parser.add_argument("--target", action="append", default=[], metavar="CLASS",
                        help="class index or name, e.g. tabby (repeatable: one image per target)")
    parser.add_argument("--channel", action="append", default=[], metavar="LAYER:INDEX",
                        help="visualize a channel instead, e.g. blocks.4:17 (repeatable)")
    parser.add_argument("--out", required=True, metavar="DIR", type=out_dir,
                        help="folder for the results")
    add_model_arguments(parser)
    parser.add_argument("--steps", type=positive_int, default=256,
                        help="optimization steps (default: 256)")
    parser.add_argument("--size", type=positive_int, default=None,
                        help="image side in pixels (default: the model's input size)")
    parser.add_argument("-n", "--n", type=positive_int, default=1, help="images per target (default: 1)")
    parser.add_argument("--param", default="fourier",
                        help="fourier, pixel, sigmoid or decorrelated (default: %(default)s)")
    parser.add_argument("--no-transforms", action="store_true",
                        help="no transformation robustness (with --param pixel: the lesson's recipe)")
    parser.add_argument("--lr", type=positive, default=None,
                        help="Adam step size (default: per param)")
    parser.add_argument("--tv", type=non_negative, default=None, help="total-variation weight")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Check the request, load the model, synthesize in one batched run, write the files."""
    from advcat.data import save_image
    from advcat.synthesis import synthesize, visualize_channel
    from advcat.viz import figure

    if bool(args.target) == bool(args.channel):
        raise ValueError("give --target CLASS (repeatable) or --channel LAYER:INDEX, not both")
    channels = [_channel(text) for text in args.channel]
    if len({layer for layer, _ in channels}) > 1:
        raise ValueError("all --channel options must name the same layer")
    model = load_model(args)
    options = {"steps": args.steps, "size": args.size, "n": args.n, "param": args.param,
               "transforms": None if args.no_transforms else "default", "lr": args.lr,
               "tv": args.tv, "seed": args.seed, "progress": not args.no_progress}
    if channels:
        result = visualize_channel(model, channels[0][0], [c for _, c in channels], **options)
        labels = [f"{channels[0][0]}_{c}" for _, c in channels for _ in range(args.n)]
    else:
        result = synthesize(model, [_class(t) for t in args.target], **options)
        labels = list(result.names or [])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for image, name in zip(result.images, _file_names(labels)):
        save_image(image, out / name)
    result.save(out / "synthesis")
    figure(result).savefig(out / "gallery.png", dpi=100)
    print(result.summary())
    count = f"{len(labels)} image" + ("s" if len(labels) != 1 else "")
    print(f"wrote {count}, gallery.png and synthesis.json to {out}")
    return 0


def _class(text: str) -> int | str:
    return int(text) if text.strip().isdigit() else text


def _channel(text: str) -> tuple[str, int]:
    layer, _, index = text.rpartition(":")
    if not layer or not index.strip().isdigit():
        raise ValueError(f"--channel takes LAYER:INDEX, e.g. blocks.4:17, got {text!r}")
    return layer, int(index)


def _file_names(labels: list[str]) -> list[str]:
    """'golden_retriever.png' per label, numbered when a label repeats."""
    stems = [re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "image" for label in labels]
    names = []
    for i, stem in enumerate(stems):
        names.append(f"{stem}_{stems[:i].count(stem)}.png" if stems.count(stem) > 1 else f"{stem}.png")
    return names
