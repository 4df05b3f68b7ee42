"""Fine-tune a backbone on an image folder tree and save a checkpoint that load_model reads."""

from __future__ import annotations

import argparse

from advcat.cli.args import fraction, non_negative_int, out_dir, positive, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `advcat finetune` options, each with its help and default."""
    parser.add_argument("--backbone", default="efficientnet_lite0",
                        help="load_model name (efficientnet_lite0, torchvision:ARCH, timm:ARCH) or "
                             "an advcat checkpoint (default: %(default)s)")
    parser.add_argument("--weights", default="DEFAULT",
                        help="backbone weights: DEFAULT (pretrained), none (random) or a file "
                             "(default: %(default)s)")
    parser.add_argument("--data", required=True, metavar="DIR",
                        help="training images, one subfolder per class (PetImages works as is)")
    parser.add_argument("--val", metavar="DIR",
                        help="held-out images in the same layout (default: hold out "
                             "--val-fraction of --data, stratified)")
    parser.add_argument("--out", required=True, metavar="DIR", type=out_dir,
                        help="folder for checkpoints and figures; a run cut off there resumes")
    parser.add_argument("--no-resume", action="store_true",
                        help="start over in --out instead of resuming the run found there (a run "
                             "with other settings is refused unless this is given)")
    parser.add_argument("--strategy", choices=("linear", "partial", "full"), default="linear",
                        help="linear: train a new head on frozen features; partial: also the last "
                             "--unfreeze blocks; full: every layer (default: %(default)s)")
    parser.add_argument("--epochs", type=positive_int, default=10, help="epochs (default: %(default)s)")
    parser.add_argument("--lr", type=positive, default=1e-3,
                        help="peak learning rate of AdamW, warm-up then cosine decay (default: %(default)s)")
    parser.add_argument("--unfreeze", type=positive_int,
                        help="blocks trained by --strategy partial (default: 2)")
    parser.add_argument("--image-size", type=positive_int,
                        help="resolution the backbone sees (default: its own input size)")
    parser.add_argument("--batch-size", type=positive_int, default=64,
                        help="images per training step (default: %(default)s)")
    parser.add_argument("--val-fraction", type=fraction, default=0.1,
                        help="share of --data held out when --val is not given (default: %(default)s)")
    parser.add_argument("--augment", choices=("default", "none"), default="default",
                        help="training augmentation: default (random crop and flip) or none "
                             "(default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true",
                        help="linear strategy: run the backbone every epoch instead of caching")
    parser.add_argument("--workers", type=non_negative_int, default=0,
                        help="DataLoader worker processes (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the split, shuffles and augmentation (default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    """Check the folders, load the backbone and data, fine-tune, print and save the results."""
    from pathlib import Path

    import advcat
    from advcat.data import image_folder
    from advcat.viz import confusion, curves

    for folder in (args.data, args.val):
        if folder is not None and not Path(folder).is_dir():
            raise FileNotFoundError(f"data folder not found: {folder}")
    weights = None if str(args.weights).lower() == "none" else args.weights
    backbone = advcat.load_model(args.backbone, weights=weights)
    size = args.image_size or backbone.info.input_size
    train = image_folder(args.data, size=size)
    val = image_folder(args.val, size=size) if args.val else None
    result = advcat.finetune(
        backbone, train, val, strategy=args.strategy, epochs=args.epochs, lr=args.lr,
        unfreeze=args.unfreeze, augment=args.augment, image_size=args.image_size,
        cache_features=not args.no_cache, seed=args.seed, out=args.out,
        progress=not args.no_progress, batch_size=args.batch_size,
        val_fraction=args.val_fraction, workers=args.workers, resume=not args.no_resume,
    )
    out = Path(args.out)
    curves(result).savefig(out / "curves.png", dpi=100)
    if "confusion" in result.metrics:
        confusion(result).savefig(out / "confusion.png", dpi=100)
    print(result.summary())
    for name, value in result.metrics.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            print(f"  {name}: {value:.4f}" if isinstance(value, float) else f"  {name}: {value}")
    print(f"saved to {out} (advcat.load_model({str(out)!r}))")
    return 0
