"""The demo's robustness figure: robust accuracy of the embedded model against the L-inf budget."""

from __future__ import annotations

from advcat.demo.state import Demo
from advcat.viz.page import Entry


def robustness(demo: Demo) -> None:
    """Robust accuracy of the embedded model on foolbox's 20 labelled photos against eps."""
    import advcat
    from advcat.viz.robustness import robustness_curve

    s = demo.settings
    x, y = advcat.data.imagenet_samples(demo.model)
    x, y = x[: s.robust_n], y[: s.robust_n]
    attacks = [("apgd_ce", {"steps": s.robust_steps})]
    report = advcat.evaluate(
        demo.model,
        (x, y),
        norm="linf",
        eps=list(s.robust_eps),
        attacks=attacks,
        sanity=False,
        progress=demo.progress,
    )
    saved = report.save(demo.out / "robustness")
    numbers = {"clean accuracy": report.clean_accuracy}
    for eps, accuracy in zip(s.robust_eps, report.robust_accuracy):
        numbers[f"robust accuracy at {eps * 255:g}/255"] = accuracy
    demo.add(
        Entry(
            key="robustness",
            title="Robustness curve on foolbox's labelled photos",
            image="robustness.png",
            caption=(
                f"Share of the {len(y)} labelled ImageNet photos still classified correctly under the "
                f"attack found at each L-inf budget: APGD-CE with {s.robust_steps} steps, a quick "
                'check; a paper would use attacks="standard" (APGD-CE, APGD-T, Square) with its '
                "sanity checks."
            ),
            call=(
                f'advcat.evaluate(model, (x, y), norm="linf", eps={[round(e, 6) for e in s.robust_eps]}, '
                f'attacks=[("apgd_ce", {{"steps": {s.robust_steps}}})], sanity=False)'
            ),
            numbers=numbers,
            files=[saved.relative_to(demo.out).as_posix()],
        ),
        robustness_curve([report]),
    )
