"""The demo's attack figures: the cat photo into a golden retriever, a dog photo into a cat."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from advcat.attacks.result import AttackResult
from advcat.demo.state import Demo
from advcat.viz.page import Entry


def cat_into_dog(demo: Demo) -> AttackResult:
    """The cat photo attacked into a golden retriever; the result, for the attributions."""
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


def dog_into_cat(demo: Demo) -> tuple[Tensor, Tensor]:
    """A dog photo attacked into a cat; the photo and its label, for the transfer figure."""
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
    return x, y


def _dog(demo: Demo) -> tuple[Tensor, Tensor]:
    """The first dog photo (golden retriever, else husky) among foolbox's labelled samples."""
    import advcat

    x, y = advcat.data.imagenet_samples(demo.model)
    for label in (243, 251):
        rows = (y == label).nonzero().flatten()
        if rows.numel():
            i = int(rows[0])
            return x[i : i + 1], y[i : i + 1]
    raise ValueError("no dog photo among foolbox's samples; install foolbox")


def _attack_entry(demo: Demo, key: str, x: Tensor, y: Tensor, target: str, title: str,
                  caption: str) -> AttackResult:
    """A targeted PGD attack on `x`, saved and drawn as the attack panel `key`."""
    import advcat
    from advcat.viz.attack import attack_panel

    s = demo.settings
    result: AttackResult = advcat.attack(
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
    numbers = _numbers(demo, x, result)
    figure = attack_panel(
        result,
        demo.model(x).detach(),
        classes=demo.classes,
        title=f"{title} (PGD, linf eps = {s.attack_eps * 255:.0f}/255)",
    )
    call = (
        f'advcat.attack(model, x, y, method="pgd", eps={s.attack_eps * 255:.0f}/255, '
        f'steps={s.attack_steps}, target="{target}")'
    )
    demo.add(Entry(key=key, title=title, image=f"{key}.png", caption=caption, call=call,
                   numbers=numbers, files=files), figure)
    return result


def _numbers(demo: Demo, x: Tensor, result: AttackResult) -> dict[str, Any]:
    """What the attack on the first sample did: budget, norm, success (also after 8-bit rounding),
    and the predictions before and after."""
    import advcat

    clean = demo.probs(demo.model, x)
    after = torch.softmax(result.logits, 1)
    goal = int(result.target[0]) if result.target is not None else -1
    numbers: dict[str, Any] = {
        "eps (linf)": demo.settings.attack_eps,
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
    return numbers
