"""Explain a model's decision on images: attribution map and overlay PNGs written to --out DIR."""

from __future__ import annotations

import argparse
from pathlib import Path

from advcat.cli.args import add_model_arguments, fraction, load_model, out_dir, parse_options, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `advcat attribute` options."""
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="image file, or a sample photo name (see advcat.samples())")
    parser.add_argument("--method", default="ig",
                        help="attribution method or alias: ig, saliency, gradcam, guided_backprop, "
                             "deeplift, smoothgrad, occlusion, ... (default: %(default)s)")
    add_model_arguments(parser)
    parser.add_argument("--target", default=None,
                        help="class to explain, by index or name (default: the prediction)")
    parser.add_argument("--layer", default=None,
                        help="layer for gradcam / guided_gradcam (default: the last feature map)")
    parser.add_argument("--baseline", default=None, type=_baseline,
                        help="black (default), grey, white, blur, or a constant in [0, 1]")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="a method option, e.g. --option n_steps=32 (repeatable)")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help="at most this many rows per forward/backward pass (default: 64)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--signed", action="store_true",
                        help="show signed attributions instead of magnitudes")
    parser.add_argument("--out", default="attributions", metavar="DIR", type=out_dir,
                        help="output folder (default: %(default)s)")


def _baseline(text: str) -> str | float:
    """A baseline name, or a constant: a finite number (fractions allowed) in [0, 1]."""
    word = text.strip().lower()
    if word[:1].isalpha() and word not in ("nan", "inf", "infinity"):
        return text
    return fraction(text)


def run(args: argparse.Namespace) -> int:
    """Check the arguments and images first, then attribute, then write the PNGs and the maps."""
    import numpy as np
    import torch
    from matplotlib.image import imsave

    import advcat
    from advcat.attribution import get_method, heatmap_rgb, overlay
    from advcat.data import image_path
    from advcat.data.classes import class_name

    method = get_method(args.method)
    options = parse_options(args.option)
    paths = [image_path(image) for image in args.images]
    model = load_model(args)
    x = torch.cat([advcat.load_image(image, model) for image in args.images])
    target = args.target
    if target is not None and target.strip().isdigit():
        target = int(target)
    result = advcat.attribute(model, x, target, method=method.name, layer=args.layer,
                              baseline=args.baseline, batch_size=args.batch_size,
                              seed=args.seed, **options)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    saved = result.save(out / f"{method.name}")
    absolute = not args.signed
    for i, path in enumerate(paths):
        stem = f"{Path(path).stem}_{method.name}"
        heat: np.ndarray = heatmap_rgb(result, index=i, absolute=absolute)
        imsave(out / f"{stem}_map.png", heat)
        label = int(result.target[i])
        name = class_name(label, model.info.classes) if model.info.classes else f"class {label}"
        figure = overlay(x, result, index=i, absolute=absolute,
                         title=f"{method.name}: {name} ({label})")
        figure.savefig(out / f"{stem}_overlay.png", dpi=100)
        delta = "" if result.delta is None else f", IG delta {float(result.delta[i]):+.3g}"
        print(f"{args.images[i]}: {method.name} for {name} ({label}){delta} -> "
              f"{out / (stem + '_map.png')}, {out / (stem + '_overlay.png')}")
    print(f"maps: {saved}")
    return 0
