"""The lesson's dog-to-cat attack done properly, and whether it fools a second model.

The lesson optimized a dog photo towards "Siamese cat" with no bound on the change and without the
model's preprocessing, then found that ResNet-50 was not fooled. Here the attack has an L-inf
budget, every model sees correctly preprocessed input, and transfer to EfficientNet-Lite2 is
measured for a single-model PGD attack and for a transfer attack (MI-FGSM with input diversity on
an ensemble of surrogate models).

    python examples/dog_to_cat.py [--quick] [--out DIR] [--eps 4/255] [--target tabby]
"""

from __future__ import annotations

from fractions import Fraction

import torch
from common import load, parser, write_summary

import advcat
from advcat.attacks.transfer import fit_to
from advcat.data import read_image

# foolbox's labelled ImageNet photos of dogs: a bull mastiff (243) and a dalmatian (251)
DOGS = ("imagenet_00_243", "imagenet_16_251")


def predictions(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[str]]:
    """The model's top class per image (resized to its input size) and a readable 'name (p)'."""
    with torch.no_grad():
        probs = model(fit_to(model, x)).softmax(1)
    p, top = probs.max(1)
    classes = advcat.imagenet_classes()
    return top, [f"{classes[int(i)]} ({float(q):.3f})" for q, i in zip(p, top)]


def main() -> None:
    args_parser = parser(__doc__, "dog_to_cat")
    args_parser.add_argument("--eps", type=lambda s: float(Fraction(s)), default=4 / 255,
                             help="L-inf budget in pixels, e.g. 4/255 (the default)")
    args_parser.add_argument("--target", default="tabby", help="the cat class to aim for")
    args_parser.add_argument("--steps", type=int, default=50)
    args_parser.add_argument("--surrogates", default="efficientnet_lite0",
                             help="comma-separated load_model names the transfer attack averages "
                                  "(add e.g. torchvision:resnet50 where its weights can be fetched)")
    args = args_parser.parse_args()
    steps = 2 if args.quick else args.steps

    source = load(quick=args.quick)                                # EfficientNet-Lite0 (attacked)
    victim = load("efficientnet_lite2", quick=args.quick)          # independent second model
    x = torch.cat([advcat.load_image(name, source) for name in DOGS])  # each model's own preprocessing
    labels = torch.tensor([int(name.rsplit("_", 1)[1]) for name in DOGS])
    with torch.no_grad():
        clean_logits = source(x)

    # 1. single-model attack: targeted PGD on the source model
    pgd = advcat.attack(source, x, labels, method="pgd", target=args.target, eps=args.eps,
                        steps=steps, progress=not args.quick)
    # 2. transfer attack: MI-FGSM with input diversity on an ensemble of surrogates
    surrogates = [source if name == "efficientnet_lite0" else load(name, quick=args.quick)
                  for name in args.surrogates.split(",")]
    mi = advcat.attack(advcat.ensemble(surrogates), x, labels, method="mifgsm", target=args.target,
                       eps=args.eps, steps=steps, diversity=0.7, progress=not args.quick)

    victim_clean = torch.cat([advcat.load_image(name, victim) for name in DOGS])
    summary: dict[str, object] = {
        "eps": args.eps, "steps": steps, "target": args.target, "images": list(DOGS),
        "surrogates": args.surrogates.split(","),
        "clean": {"source": predictions(source, x)[1], "victim": predictions(victim, victim_clean)[1]},
    }
    for name, result in (("pgd", pgd), ("mifgsm_ensemble", mi)):
        print(result.summary())
        result.save(args.out / name)
        png = advcat.save_image(result.adv[0], args.out / f"{name}_dog0.png")
        reloaded, _ = predictions(source, read_image(png))    # after the PNG's 8-bit rounding
        victim_top, victim_text = predictions(victim, result.adv)
        source_text = predictions(source, result.adv)[1]
        summary[name] = {
            "hits_target_on_source": result.success.tolist(),
            "linf": result.norms.tolist(),
            "source_top1": source_text,
            "victim_top1": victim_text,
            "victim_hits_target": advcat.transfer_rate(result, victim, successful_only=False),
            "victim_fooled_untargeted": (victim_top != labels).tolist(),
            "png_still_hits_target_on_source": bool(reloaded[0] == result.target[0])  # type: ignore[index]
        }
        print(f"  {name}: source sees {source_text}; victim sees {victim_text}")

    from advcat.viz.attack import attack_panel
    from advcat.viz.save import save_figure

    title = f"targeted PGD, L-inf eps = {args.eps * 255:.3g}/255, towards {args.target!r}"
    figure = attack_panel(pgd, clean_logits, classes=advcat.imagenet_classes(), title=title)
    save_figure(figure, args.out / "pgd_panel")
    write_summary(args.out, summary)


if __name__ == "__main__":
    main()
