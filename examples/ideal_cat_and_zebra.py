"""The lesson's "ideal class" images: an ideal tabby cat and an ideal zebra, three recipes side by side.

The lesson did plain gradient ascent on noise pixels (the image looks like noise, though the network
is sure), then added a total-variation penalty (smoother, some patterns). advcat's default recipe
adds a 1/f Fourier parameterization, decorrelated colour and small random jitters, scales and
rotations at every step, which give readable images. A second model (EfficientNet-Lite2) scores
every image too: an image that only fools the model it was made on is noise, not a cat.

    python examples/ideal_cat_and_zebra.py [--quick] [--out DIR] [--steps 256]
"""

from __future__ import annotations

import torch
from common import load, parser, write_summary

import advcat
from advcat.attacks.transfer import fit_to
from advcat.synthesis import RECIPES
from advcat.viz.save import save_figure
from advcat.viz.synthesis import recipe_figure

TARGETS = ["tabby", "zebra"]


def main() -> None:
    args_parser = parser(__doc__, "ideal_cat_and_zebra")
    args_parser.add_argument("--steps", type=int, default=256)
    args = args_parser.parse_args()
    steps = 2 if args.quick else args.steps

    model = load(quick=args.quick)                          # the embedded EfficientNet-Lite0
    judge = load("efficientnet_lite2", quick=args.quick)    # a second model, for a readability check
    results, judged, summary = {}, {}, {}
    for name, recipe in RECIPES.items():                    # "plain", "pixel + TV", "default"
        result = advcat.synthesize(model, TARGETS, steps=steps, progress=not args.quick, **recipe)
        with torch.no_grad():
            judge_probs = judge(fit_to(judge, result.images)).softmax(1)
        assert result.targets is not None and result.probability is not None
        judged[name] = judge_probs.gather(1, result.targets[:, None].to(judge_probs.device))[:, 0]
        results[name] = result
        result.save(args.out / name.replace(" ", "").replace("+", "_"))
        print(result.summary())
        summary[name] = {
            "recipe": recipe or "advcat default (fourier + robustness transforms)",
            "objective": result.objective,
            "p_target": dict(zip(TARGETS, result.probability.tolist())),
            "p_target_second_model": dict(zip(TARGETS, judged[name].tolist())),
        }
    figure = recipe_figure(results, judge=judged, judge_name="Lite2")
    save_figure(figure, args.out / "ideal_images", formats=("png", "pdf"))
    for i, target in enumerate(TARGETS):
        advcat.save_image(results["default"].images[i], args.out / f"ideal_{target}.png")
    write_summary(args.out, {"steps": steps, "targets": TARGETS, "recipes": summary})


if __name__ == "__main__":
    main()
