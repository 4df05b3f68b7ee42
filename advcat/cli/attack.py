"""Attack images and save them as PNGs that still fool the model after 8-bit rounding.

Writes DIR/<name>_adv.png (lossless), DIR/<name>_perturbation.png (amplified: grey is no
change) and DIR/result.json + .safetensors (the rounded images' AttackResult), then reads each
PNG back and says whether the saved file still meets the goal.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from advcat.cli.args import (
    add_model_arguments,
    attack_options,
    eps_or_none,
    load_model,
    out_dir,
    positive_int,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `advcat attack` options."""
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="image file, or a sample photo name (see advcat.samples())")
    parser.add_argument("--target", default=None,
                        help="class to reach, by name or index (default: untargeted, any other class)")
    parser.add_argument("--eps", default=None, type=parse_eps,
                        help="budget, e.g. 2/255 or 0.5; 'none' for unbounded cw / fmn "
                             "(default: linf 8/255, l2 0.5, l1 12; unbounded for cw and fmn)")
    parser.add_argument("--method", default="pgd",
                        help="attack: pgd, fgsm, mifgsm, apgd, apgd_t, cw, fmn, square, ... "
                             "(default: %(default)s)")
    parser.add_argument("--norm", default=None, help="linf, l2 or l1 (default: the method's own)")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="iterations (default: the method's own)")
    add_model_arguments(parser)
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="a method option, e.g. --option loss=dlr (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", default="attack", metavar="DIR", type=out_dir,
                        help="output folder (default: %(default)s)")


def parse_eps(text: str | None) -> float | None:
    """'2/255' -> 0.00784..., '0.5' -> 0.5, 'none' or None -> None; inf, nan and < 0 are refused."""
    return None if text is None else eps_or_none(text)


def _target(text: str) -> int | str:
    return int(text) if text.strip().isdigit() else text


def run(args: argparse.Namespace) -> int:
    """Check arguments and images, attack, save, read the PNGs back and report."""
    import torch

    import advcat
    from advcat.attacks import make_attack
    from advcat.attacks.rounding import attack_rounded
    from advcat.data import image_path, read_image
    from advcat.data.classes import class_index, class_name
    from advcat.models import borrowed
    from advcat.viz.attack import amplify

    settings = {"eps": args.eps, **attack_options(args.method, args.option)}
    if args.norm is not None:
        settings["norm"] = args.norm
    if args.steps is not None:
        settings["steps"] = args.steps
    attacker = make_attack(args.method, **settings)
    paths = [image_path(image) for image in args.images]
    model = load_model(args)
    classes = model.info.classes
    target = None if args.target is None else class_index(_target(args.target), classes)
    x = torch.cat([advcat.load_image(image, model) for image in args.images])
    first, final, repaired = attack_rounded(attacker, model, x, target=target, seed=args.seed)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    final.save(out / "result")
    shown = amplify(final.delta)
    channels = x.shape[1]

    def name(index: int) -> str:
        return f"{class_name(index, classes)} ({index})" if classes else f"class {index}"

    for i, path in enumerate(paths):
        stem = Path(path).stem
        adv_file = advcat.save_image(final.adv[i], out / f"{stem}_adv.png")
        advcat.save_image(shown[i], out / f"{stem}_perturbation.png")
        with borrowed(model), torch.no_grad():
            saved = model(read_image(adv_file, channels=channels)).argmax(1).item()
        if final.target is not None:
            goal_met, goal = saved == int(final.target[i]), f"target {name(int(final.target[i]))}"
        else:
            goal_met, goal = saved != int(final.labels[i]), "any other class"
        size = float(final.norms[i])
        size_text = f"{size * 255:.2f}/255" if final.norm == "linf" else f"{size:.4g}"
        print(f"{args.images[i]}: {name(int(final.labels[i]))} -> {goal}; "
              f"{final.method} {final.norm} norm {size_text}")
        if first.success[i] and not repaired[i]:
            verdict = "the attack still succeeds after 8-bit rounding"
        elif repaired[i]:
            verdict = ("8-bit rounding to the nearest level broke the attack; rounded away from the "
                       "clean image or re-optimized with the rounding in the loop: "
                       + ("now it succeeds" if final.success[i] else "it still fails"))
        else:
            verdict = "the attack did not succeed (before rounding either)"
        print(f"  {verdict}; the saved PNG is classified as {name(saved)}: "
              f"{'goal met' if goal_met else 'goal NOT met'} -> {adv_file}")
    print(f"result: {out / 'result.json'} ({final.summary()})")
    return 0
