"""`advcat demo`: the lesson's figures done right, on the embedded model, offline.

Each part writes its figure and tensors as soon as it is done and refreshes index.html and
summary.json, so an interrupted demo keeps everything finished so far.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from advcat.demo.settings import FULL, QUICK, DemoSettings
from advcat.viz.page import Entry, write_index

TITLE = "advcat demo: the transfer-learning lesson, measured"
INTRO = (
    "Every image here is the exact tensor that was evaluated, saved losslessly. Models take [0, 1] "
    "pixels with normalization inside, so every epsilon is in pixels (of 1). Model: embedded "
    "EfficientNet-Lite0 (ImageNet); second model for transfer and readability: EfficientNet-Lite2."
)


class Demo:
    """The state shared by the demo's parts: models, settings, output folder, what is done."""

    def __init__(self, out: Path, settings: DemoSettings, progress: bool) -> None:
        import advcat

        self.out = out
        self.settings = settings
        self.progress = progress
        self.model = advcat.load_model()
        self.second = advcat.load_model("efficientnet_lite2")
        self.classes = self.model.info.classes
        self.entries: list[Entry] = []
        self.summary: dict[str, Any] = {
            "settings": vars(settings) | {"robust_eps": list(settings.robust_eps)}
        }

    def add(self, entry: Entry, figure: Any) -> None:
        from advcat.viz.save import save_figure

        save_figure(figure, self.out / entry.image)
        self.entries.append(entry)
        self.summary[entry.key] = entry.numbers
        self.flush()

    def flush(self) -> None:
        (self.out / "summary.json").write_text(json.dumps(self.summary, indent=2, default=str))
        write_index(self.out, TITLE, INTRO, self.entries)

    def saved(self, result: Any, name: str) -> list[str]:
        """Save `result` as NAME in the demo folder; the files it wrote, relative to the folder."""
        written = Path(result.save(self.out / name))
        files = [written, written.with_name(written.name[: -len(".json")] + ".safetensors")]
        return [f.relative_to(self.out).as_posix() for f in files if f.is_file()]

    def name(self, index: int) -> str:
        return self.classes[index] if self.classes else str(index)

    def probs(self, model: nn.Module, x: Tensor) -> Tensor:
        from advcat.attacks.transfer import fit_to

        with torch.no_grad():
            return model(fit_to(model, x)).softmax(1)


def ideal_images(demo: Demo) -> None:
    """The ideal tabby and zebra: the lesson's plain recipe beside advcat's default."""
    import advcat
    from advcat.viz.gallery import gallery

    s = demo.settings
    targets = ["tabby", "zebra"]
    default = advcat.synthesize(
        demo.model, targets, steps=s.synth_steps, size=s.synth_size, progress=demo.progress
    )
    plain = advcat.synthesize(
        demo.model,
        targets,
        param="pixel",
        transforms=None,
        tv=0.0,
        steps=s.synth_steps,
        size=s.synth_size,
        progress=demo.progress,
    )
    files = demo.saved(default, "ideal_default") + demo.saved(plain, "ideal_plain")
    numbers: dict[str, Any] = {}
    titles = []
    images = torch.cat([plain.images, default.images])
    for recipe, result in (("plain", plain), ("default", default)):
        second = demo.probs(demo.second, result.images)
        targets_list = [] if result.targets is None else [int(t) for t in result.targets]
        for i, target in enumerate(targets_list):
            p1 = float(result.probs[i, target])
            p2 = float(second[i, target])
            numbers[f"{recipe} {demo.name(target)}: p (Lite0)"] = p1
            numbers[f"{recipe} {demo.name(target)}: p (Lite2, never optimized)"] = p2
            titles.append(f"{recipe}: {demo.name(target)}\np={p1:.2f} (Lite2 {p2:.2f})")
    figure = gallery(
        images,
        titles,
        ncols=2,
        title="Ideal class images: plain pixel recipe (top) vs advcat default (bottom)",
    )
    demo.add(
        Entry(
            key="ideal_images",
            title="Ideal tabby cat and zebra",
            image="ideal_images.png",
            caption=(
                "Top: the lesson's recipe (gradient ascent on raw pixels, no priors). Bottom: advcat's "
                "default (Fourier parameterization, decorrelated colour, transformation robustness, "
                "total variation). p is the embedded model's probability; the Lite2 value comes from a "
                "second model that never took part in the optimization: it measures readability."
            ),
            call=(
                f'advcat.synthesize(model, ["tabby", "zebra"], steps={s.synth_steps})\n'
                f'advcat.synthesize(model, ["tabby", "zebra"], param="pixel", transforms=None, '
                f"tv=0.0, steps={s.synth_steps})"
            ),
            numbers=numbers,
            files=files,
        ),
        figure,
    )


def _attack_entry(demo: Demo, key: str, x: Tensor, y: Tensor, target: str, title: str, caption: str) -> Any:
    import advcat
    from advcat.viz.attack import attack_panel

    s = demo.settings
    result = advcat.attack(
        demo.model,
        x,
        y,
        method="pgd",
        eps=s.attack_eps,
        steps=s.attack_steps,
        target=target,
        progress=demo.progress,
    )
    files = demo.saved(result, key)
    clean = demo.probs(demo.model, x)
    after = torch.softmax(result.logits, 1)
    goal = int(result.target[0]) if result.target is not None else -1
    numbers = {
        "eps (linf)": s.attack_eps,
        "linf norm": float(result.norms[0]),
        "success": bool(result.success[0]),
        "clean prediction": demo.name(int(clean[0].argmax())),
        "clean p(prediction)": float(clean[0].max()),
        "adversarial prediction": demo.name(int(after[0].argmax())),
        f"adversarial p({demo.name(goal)})": float(after[0, goal]),
    }
    rounded = advcat.data.to_uint8(result.adv).float() / 255
    with torch.no_grad():
        numbers["success after 8-bit rounding"] = bool(demo.model(rounded).argmax(1)[0] == goal)
    figure = attack_panel(
        result,
        demo.model(x).detach(),
        classes=demo.classes,
        title=f"{title} (PGD, linf eps = {s.attack_eps * 255:.0f}/255)",
    )
    demo.add(
        Entry(
            key=key,
            title=title,
            image=f"{key}.png",
            caption=caption,
            call=(
                f'advcat.attack(model, x, y, method="pgd", eps={s.attack_eps * 255:.0f}/255, '
                f'steps={s.attack_steps}, target="{target}")'
            ),
            numbers=numbers,
            files=files,
        ),
        figure,
    )
    return result


def cat_into_dog(demo: Demo) -> Any:
    """The cat photo attacked into a golden retriever."""
    import advcat

    x = advcat.load_image("chelsea", demo.model)
    with torch.no_grad():
        y = demo.model(x).argmax(1)
    return _attack_entry(
        demo,
        "cat_to_golden_retriever",
        x,
        y,
        "golden retriever",
        "Cat photo attacked into a golden retriever",
        "scikit-image's chelsea, attacked towards 'golden retriever' inside an L-inf ball of "
        "radius 2/255 around the photo: original | adversarial | perturbation (amplified to the "
        "full grey range) | top-5 classes before and after (the target in red).",
    )


def _dog(demo: Demo) -> tuple[Tensor, Tensor]:
    import advcat

    x, y = advcat.data.imagenet_samples(demo.model)
    for label in (243, 251):
        rows = (y == label).nonzero().flatten()
        if rows.numel():
            i = int(rows[0])
            return x[i : i + 1], y[i : i + 1]
    raise ValueError("no dog photo among foolbox's samples; install foolbox")


def dog_into_cat(demo: Demo) -> None:
    """A dog photo attacked into a cat, and whether that fools a second model."""
    x, y = _dog(demo)
    _attack_entry(
        demo,
        "dog_to_cat",
        x,
        y,
        "Siamese cat",
        "Dog photo attacked into a cat",
        f"foolbox's {demo.name(int(y[0]))} photo attacked towards 'Siamese cat' (the lesson's "
        "target), inside an L-inf ball of radius 2/255; the labels are the photo's true ImageNet "
        "labels.",
    )
    transfer(demo, x, y)


def transfer(demo: Demo, x: Tensor, y: Tensor) -> None:
    """Single-model PGD vs MI-FGSM with input diversity, both judged by EfficientNet-Lite2."""
    import advcat
    from advcat.viz.gallery import gallery

    s = demo.settings
    runs = {
        "PGD (single model)": advcat.attack(
            demo.model, x, y, method="pgd", eps=s.transfer_eps, steps=s.transfer_steps, target="Siamese cat"
        ),
        "MI-FGSM + input diversity": advcat.attack(
            demo.model,
            x,
            y,
            method="mifgsm",
            eps=s.transfer_eps,
            steps=s.transfer_steps,
            target="Siamese cat",
            diversity=0.7,
        ),
    }
    numbers: dict[str, Any] = {"eps (linf)": s.transfer_eps}
    titles = []
    files: list[str] = []
    target = advcat.data.class_index("Siamese cat")
    for (name, result), key in zip(runs.items(), ("transfer_pgd", "transfer_mifgsm")):
        files += demo.saved(result, key)
        second = demo.probs(demo.second, result.adv)
        top = int(second[0].argmax())
        numbers[f"{name}: Lite0 fooled"] = bool(result.success[0])
        numbers[f"{name}: Lite2 prediction"] = demo.name(top)
        numbers[f"{name}: Lite2 p(Siamese cat)"] = float(second[0, target])
        numbers[f"{name}: Lite2 no longer sees the dog"] = top != int(y[0])
        titles.append(f"{name}\nLite2: {demo.name(top)} p={float(second[0].max()):.2f}")
    clean = demo.probs(demo.second, x)
    numbers["clean: Lite2 prediction"] = demo.name(int(clean[0].argmax()))
    numbers["clean: Lite2 p(Siamese cat)"] = float(clean[0, target])
    figure = gallery(
        torch.cat([x] + [r.adv for r in runs.values()]),
        [f"clean\nLite2: {demo.name(int(clean[0].argmax()))} p={float(clean[0].max()):.2f}"] + titles,
        title=f"Transfer to EfficientNet-Lite2 (linf eps = {s.transfer_eps * 255:.0f}/255)",
    )
    demo.add(
        Entry(
            key="transfer",
            title="Does the attacked dog fool a second model?",
            image="transfer.png",
            caption=(
                "The same dog attacked on the embedded model with plain PGD and with a transfer attack "
                "(momentum + input diversity), then shown to EfficientNet-Lite2 at its own 260 px "
                "preprocessing, which the lesson got wrong. Both attacks use the same budget."
            ),
            call=(
                f'advcat.attack(model, x, y, method="pgd", eps={s.transfer_eps * 255:.0f}/255, '
                f'steps={s.transfer_steps}, target="Siamese cat")\n'
                f'advcat.attack(model, x, y, method="mifgsm", eps={s.transfer_eps * 255:.0f}/255, '
                f'steps={s.transfer_steps}, target="Siamese cat", diversity=0.7)\n'
                'advcat.transfer_rate(result, advcat.load_model("efficientnet_lite2"))'
            ),
            numbers=numbers,
            files=files,
        ),
        figure,
    )


def attributions(demo: Demo, adversarial: Any) -> None:
    """Integrated gradients and Grad-CAM of the clean and the attacked cat, side by side."""
    from matplotlib.figure import Figure

    import advcat
    from advcat.attribution.overlay import overlay_pair

    s = demo.settings
    clean = (adversarial.adv - adversarial.delta).clamp(0, 1)
    numbers: dict[str, Any] = {}
    canvas = Figure(figsize=(9.0, 8.6), layout="constrained")
    methods: tuple[tuple[str, str, dict[str, Any]], ...] = (
        ("integrated_gradients", "Integrated gradients", {"n_steps": s.ig_steps}),
        ("gradcam", "Grad-CAM", {}),
    )
    for row, (method, title, options) in enumerate(methods):
        compared = advcat.compare_attributions(demo.model, clean, adversarial.adv, method=method, **options)
        numbers[f"{title}: rank correlation clean vs adversarial"] = float(compared.spearman[0])
        numbers[f"{title}: top-5% pixel overlap"] = float(compared.top_k[0])
        pair = overlay_pair(
            clean, adversarial.adv, compared.clean, compared.adv, titles=("clean cat", "attacked cat")
        )
        ax = canvas.add_subplot(2, 1, row + 1)
        ax.imshow(_rendered(pair))
        ax.set_axis_off()
        ax.set_title(title)
    demo.add(
        Entry(
            key="attributions",
            title="What the network looks at, before and after the attack",
            image="attributions.png",
            caption=(
                "Attribution maps for the clean prediction's class on both images, on one colour scale "
                "per method. The rank correlation says how far the imperceptible perturbation moved "
                "the explanation."
            ),
            call=(
                f'advcat.compare_attributions(model, x, result.adv, method="integrated_gradients", '
                f"n_steps={s.ig_steps})\n"
                'advcat.compare_attributions(model, x, result.adv, method="gradcam")'
            ),
            numbers=numbers,
        ),
        canvas,
    )


def _rendered(figure: Any) -> Any:
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())


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


def run_demo(
    out: str | Path = "advcat-demo",
    *,
    quick: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Path:
    """Run every part of the demo into `out`; returns the path of its index.html."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    demo = Demo(folder, QUICK if quick else FULL, progress)
    parts: list[tuple[str, Callable[[], Any]]] = [
        ("ideal tabby and zebra", lambda: ideal_images(demo)),
        ("cat attacked into a golden retriever", lambda: cat_into_dog(demo)),
        ("dog attacked into a cat, and transfer", lambda: dog_into_cat(demo)),
        ("robustness curve", lambda: robustness(demo)),
    ]
    adversarial: list[Any] = []
    started = time.perf_counter()
    for number, (name, part) in enumerate(parts, 1):
        log(f"[{number}/{len(parts) + 1}] {name} ...")
        result = part()
        if name.startswith("cat attacked"):
            adversarial.append(result)
    log(f"[{len(parts) + 1}/{len(parts) + 1}] attributions of the clean and attacked cat ...")
    attributions(demo, adversarial[0])
    demo.summary["seconds"] = round(time.perf_counter() - started, 1)
    demo.flush()
    index = folder / "index.html"
    log(f"done in {demo.summary['seconds']:.0f} s: open {index.resolve()}")
    return index
