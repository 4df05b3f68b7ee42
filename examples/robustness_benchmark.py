"""A robustness benchmark: robust accuracy of the embedded model against L-inf eps, as a paper reports it.

The lesson showed one adversarial example and concluded little about robustness. A benchmark
counts, over labelled photos, the points that no attack in a budget can flip: each point faces an
ensemble of attacks (APGD-CE, targeted APGD, the gradient-free Square) and is robust only if all of
them fail; sanity checks flag the signs of gradient masking. A single PGD run is shown beside it,
because one attack alone overestimates robustness.

    python examples/robustness_benchmark.py [--quick] [--out DIR] [--attacks standard]
"""

from __future__ import annotations

from common import load, parser, write_summary

import advcat
from advcat.data import imagenet_samples
from advcat.viz import figure, save_figure


def main() -> None:
    args_parser = parser(__doc__, "robustness_benchmark")
    args_parser.add_argument("--attacks", default="standard", help='"standard" or "fast" (APGD-CE alone)')
    args = args_parser.parse_args()
    eps = [1 / 255] if args.quick else [0.5 / 255, 1 / 255, 2 / 255]
    n = 4 if args.quick else None                  # all 20 photos in a full run
    options = {"norm": "linf", "eps": eps, "n": n, "progress": not args.quick,
               "sanity_points": 2 if args.quick else 100}

    model = load(quick=args.quick, size=128)       # quick: 128 px, where it still gets some right
    x, y = imagenet_samples(model)                 # foolbox's 20 labelled ImageNet photos
    attacks = [("apgd_ce", {"steps": 2})] if args.quick else args.attacks
    report = advcat.evaluate(model, (x, y), attacks=attacks, out=args.out / "cascade", **options)
    pgd = advcat.evaluate(model, (x, y), attacks=[("pgd", {"steps": 2 if args.quick else 10})], sanity=False,
                          out=args.out / "pgd_only", **options)
    print(report.summary())
    print(report.to_markdown())
    print(report.robustbench_line())
    save_figure(figure(report), args.out / "robustness_curve", formats=("png", "pdf"))
    write_summary(args.out, {
        "n": report.n, "clean_accuracy": report.clean_accuracy, "eps": report.eps,
        "robust_accuracy": {"cascade": report.robust_accuracy, "pgd alone": pgd.robust_accuracy},
        "attacks": str(attacks),
        "warnings": report.warnings,
    })


if __name__ == "__main__":
    main()
