"""Print a model's top classes, with probabilities, for image files or sample photos."""

from __future__ import annotations

import argparse

from advcat.cli.args import add_model_arguments, load_model, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `advcat predict` options."""
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="image file, or a sample photo name (see advcat.samples())")
    add_model_arguments(parser)
    parser.add_argument("--topk", type=positive_int, default=5, help="classes to print (default: 5)")


def run(args: argparse.Namespace) -> int:
    """Load the model and every image first (so bad input fails fast), then classify them."""
    import torch

    import advcat
    from advcat.data import image_path
    from advcat.models import borrowed

    for image in args.images:
        image_path(image)
    model = load_model(args)
    images = torch.cat([advcat.load_image(image, model) for image in args.images])
    with borrowed(model), torch.no_grad():
        probs = model(images).softmax(dim=1)
    k = min(args.topk, probs.shape[1])
    values, indices = probs.topk(k, dim=1)
    classes = model.info.classes
    for image, top_p, top_i in zip(args.images, values.tolist(), indices.tolist()):
        print(f"{image}  ({model.info.name})")
        for rank, (p, i) in enumerate(zip(top_p, top_i), start=1):
            name = classes[i] if classes is not None else f"class {i}"
            print(f"  {rank}. {p:6.1%}  {name} ({i})")
    return 0
