"""`synthesize`: optimize images so that a model sees a class, a channel or a neuron.

One batched call of the engine: the objective (a class term per image, or any composed objective),
a parameterization, transformation robustness and Adam. Everything is checked before any work.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from advcat.data.classes import class_index, imagenet_classes
from advcat.engine.loop import optimize
from advcat.models.guard import any_grad_mode, borrowed
from advcat.models.pixel import model_info
from advcat.models.taps import resolve_layer
from advcat.objectives import ClassLogit, Objective, TotalVariation
from advcat.params import Param
from advcat.steps import Adam
from advcat.synthesis.recipes import Transform, default_tv, make_param, make_transforms
from advcat.synthesis.result import SynthesisResult
from advcat.validate import check_count, check_images, check_same_device, check_seed

ClassTargets = int | str | Sequence[int | str] | Tensor


#: ids of one class's replicas never reach the next class's (10^6 images of one class per call)
_REPLICAS = 1_000_000


@dataclass
class _SynthesisPlan:
    """A checked call: starting images, objective, recipe and the targets per image."""

    x0: Tensor
    objective: Objective
    param: Param
    transforms: Transform | None
    lr: float
    tv: float
    targets: Tensor | None
    classes: tuple[str, ...] | None
    #: (N,) the id that keys each image's randomness: (class, replica) for class targets
    ids: Tensor


@any_grad_mode
def synthesize(
    model: nn.Module,
    target: ClassTargets | None = None,
    *,
    objective: Objective | None = None,
    param: str | Param = "fourier",
    transforms: object = "default",
    steps: int = 256,
    lr: float | None = None,
    size: int | tuple[int, int] | None = None,
    n: int = 1,
    tv: float | None = None,
    seed: int | None = 0,
    progress: bool = True,
    image: Tensor | None = None,
    batch_size: int | None = None,
) -> SynthesisResult:
    """Images the model sees as `target` (a class index or name, or a list: one image per class).

    `objective` replaces the class term with any composed objective (`target` then only names the
    classes whose probabilities are reported). `n` images per target (or per call without one),
    each from its own seeded start. `param`: "fourier" (default), "pixel" (clipped pixels, the
    lesson's plain recipe with `transforms=None`), "sigmoid", "decorrelated", "maco" (phase only,
    Fel et al. 2023) or a Param.
    `transforms`: "default" (kornia robustness stack), None or any callable. `tv` subtracts that
    weight times total variation (None: 4.0 for Fourier and decorrelated params, 0 for pixels, and
    0 with an `objective`, which is used as given); `objective` may also come second, in place
    of `target`. `lr` is Adam's step size (None: the param's `default_lr`). `size` defaults to the model's
    input size (224 for a plain module); `image` starts from a photo instead of grey (DeepDream).
    """
    if seed is not None:
        check_seed(seed)
    plan = _plan(model, target, objective, param, transforms, steps, lr, size, n, tv, image)
    started = time.perf_counter()
    with borrowed(model):
        result = optimize(model, plan.x0, plan.objective, step=Adam(plan.lr), steps=steps,
                          param=plan.param, transforms=plan.transforms, seed=seed,
                          progress=progress, batch_size=batch_size, keep="last", index=plan.ids)
        with torch.no_grad():
            images = result.x.detach().clamp(0.0, 1.0)
            probs = model(images).float().softmax(1)
    config = {"param": repr(plan.param), "transforms": repr(plan.transforms), "lr": plan.lr,
              "steps": steps, "tv": plan.tv, "size": list(plan.x0.shape[-2:]),
              "model": getattr(model_info(model), "name", type(model).__name__),
              "seconds": round(time.perf_counter() - started, 2), "interrupted": result.interrupted}
    names = None if plan.targets is None else \
        [_name(int(t), plan.classes, probs.shape[1]) for t in plan.targets]
    described = result.objective
    if plan.targets is not None and names is not None and objective is None \
            and not isinstance(target, Objective):
        described = _by_name(described, plan.targets, names)
    return SynthesisResult(images=images, probs=probs.detach(), targets=plan.targets,
                           history=result.history, objective=described, seed=result.seed,
                           names=names, config=config)


def _by_name(described: str, targets: Tensor, names: list[str]) -> str:
    """The objective's text with the class term synthesize built named: "ClassLogit(tabby)", not
    "ClassLogit(y[1])"; a class without a known name keeps its index."""
    term = ClassLogit(targets).describe()
    if not described.startswith(term):
        return described
    shown = dict.fromkeys(str(t) if name == f"class {t}" else name
                          for t, name in zip(targets.tolist(), names))
    return f"ClassLogit({', '.join(shown)})" + described[len(term):]


def _plan(model: nn.Module, target: ClassTargets | None, objective: Objective | None,
          param: str | Param, transforms: object, steps: int, lr: float | None,
          size: int | tuple[int, int] | None, n: int, tv: float | None,
          image: Tensor | None) -> _SynthesisPlan:
    """Check and resolve every argument before any work starts."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(target, Objective):  # synthesize(model, objective): the objective in second place
        if objective is not None:
            raise TypeError("target is an Objective and objective= is given too: pass one objective")
        target, objective = None, target
    if target is None and objective is None:
        raise ValueError("give a target class (index or name), an objective, or both")
    if objective is not None and not isinstance(objective, Objective):
        raise TypeError(f"objective must be an advcat Objective, got {type(objective).__name__}")
    check_count("steps", steps)
    check_count("n", n)
    if lr is not None and (not _finite_number(lr) or lr <= 0):
        raise ValueError(f"lr must be a finite positive number or None, got {lr!r}")
    if tv is not None and (not _finite_number(tv) or tv < 0):
        raise ValueError(f"tv must be a finite number >= 0 or None, got {tv!r}")
    chosen = make_param(param, from_photo=image is not None)
    tfm = make_transforms(transforms)
    classes = _class_names(model)
    per_target = _targets(target, classes)
    count = n * (len(per_target) if per_target is not None else 1)
    x0 = _start(model, image, size, count)
    targets = None if per_target is None else \
        torch.tensor(per_target, device=x0.device).repeat_interleave(n)
    weight = (0.0 if objective is not None else default_tv(chosen)) if tv is None else float(tv)
    goal = objective if objective is not None else ClassLogit(targets)  # type: ignore[arg-type]
    if weight > 0:
        goal = goal - weight * TotalVariation()
    for layer in sorted(goal.layers):
        resolve_layer(model, layer)
    return _SynthesisPlan(x0=x0, objective=goal, param=chosen, transforms=tfm,
                 lr=float(lr) if lr is not None else chosen.default_lr, tv=weight,
                 targets=targets, classes=classes, ids=_image_ids(per_target, n, count))


def _image_ids(per_target: list[int] | None, n: int, count: int) -> Tensor:
    """The id of each image's randomness. For class targets it is (class, replica): the k-th
    image of class t draws the same start and transforms whatever else the call makes, so an
    ideal image does not depend on the batch it was made in; otherwise the image's position."""
    if per_target is None:
        return torch.arange(count)
    seen: dict[int, int] = {}
    ids = []
    for target in per_target:
        for _ in range(n):
            replica = seen.get(target, 0)
            seen[target] = replica + 1
            ids.append(target * _REPLICAS + replica)
    return torch.tensor(ids)


def _finite_number(value: object) -> bool:
    """A real, finite int or float (not a bool): NaN would drop its term without a word."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _class_names(model: nn.Module) -> tuple[str, ...] | None:
    info = model_info(model)
    return info.classes if info is not None else None


def _targets(target: ClassTargets | None, classes: tuple[str, ...] | None) -> list[int] | None:
    """Class indices, one per requested target, from an index, a name, a list or a tensor."""
    if target is None:
        return None
    if isinstance(target, Tensor):
        if target.dim() > 1 or target.is_floating_point() or target.numel() == 0:
            raise ValueError(
                f"target tensor must be a non-empty (K,) or scalar integer tensor, got {target}")
        items: list[int | str] = [int(t) for t in target.reshape(-1).tolist()]
    elif isinstance(target, (int, str)):
        items = [target]
    elif isinstance(target, Sequence) and len(target) > 0:
        items = list(target)
    else:
        raise TypeError(
            f"target must be a class index, a name or a non-empty list of them, got {target!r}")
    # ImageNet models look names up with all WordNet synonyms ("tabby cat" as well as "tabby")
    lookup = None if classes is not None and tuple(classes) == imagenet_classes() else classes
    return [class_index(item, lookup) for item in items]


def _name(index: int, classes: tuple[str, ...] | None, num_classes: int) -> str:
    """The class's name from the model's metadata, ImageNet's for a plain 1000-class module."""
    if classes is None and num_classes == 1000:
        classes = imagenet_classes()
    return classes[index] if classes is not None and index < len(classes) else f"class {index}"


def _start(model: nn.Module, image: Tensor | None, size: int | tuple[int, int] | None,
           count: int) -> Tensor:
    """Starting images: the photo repeated, or mid-grey at `size` on the model's device."""
    if image is not None:
        check_images(image, name="image")
        check_same_device(image, model=model)
        if size is not None and _pair(size) != tuple(image.shape[-2:]):
            raise ValueError(f"size {size} differs from the image's {tuple(image.shape[-2:])}; "
                             "resize the image or leave size=None")
        if image.shape[0] not in (1, count):
            raise ValueError(f"image must hold 1 or {count} images, got {image.shape[0]}")
        return image.detach().expand(count, -1, -1, -1).clone()
    info = model_info(model)
    height, width = _pair(size if size is not None else (info.input_size if info else 224))
    channels = info.in_channels if info is not None else 3
    reference: Tensor | None = next(iter(model.parameters()), None)
    if reference is None:
        reference = next(iter(model.buffers()), None)
    device = reference.device if reference is not None else torch.device("cpu")
    floating = reference is not None and reference.is_floating_point()
    dtype = reference.dtype if reference is not None and floating else torch.float32
    return torch.full((count, channels, height, width), 0.5, device=device, dtype=dtype)


def _pair(size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(size, bool):
        raise TypeError(f"size must be an int or (height, width), got {size!r}")
    if isinstance(size, int):
        size = (size, size)
    if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
        raise ValueError(f"size must be a positive int or (height, width), got {size!r}")
    return int(size[0]), int(size[1])
