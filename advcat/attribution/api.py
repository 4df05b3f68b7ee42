"""`advcat.attribute`: one call over Captum's attribution methods for pixel-space models.

Checks every argument before any work, borrows the model (eval mode, frozen, restored after),
prepares a copy where the method's Captum rule needs one, and returns an `Attribution`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from advcat.attribution.baselines import BaselineLike, resolve_baseline
from advcat.attribution.layers import find_layer
from advcat.attribution.methods import Method, get_method, method_options
from advcat.attribution.prepare import prepare
from advcat.attribution.result import Attribution
from advcat.attribution.runner import DEFAULT_BATCH_SIZE, fill_auto_options, run_method
from advcat.attribution.targets import TargetLike, attribution_targets
from advcat.core.rng import fresh_seed
from advcat.models import borrowed, model_info, resolve_layer
from advcat.models.guard import any_grad_mode, usable
from advcat.validate import (
    check_images,
    check_logits,
    check_model_input,
    check_model_output,
    check_same_device,
)


def predict_logits(model: nn.Module, x: Tensor, batch_size: int) -> Tensor:
    """The model's logits on `x`, computed in chunks of `batch_size` without gradients."""
    with torch.no_grad():
        logits = torch.cat([check_model_output(model(x[i:i + batch_size]))
                            for i in range(0, x.shape[0], batch_size)])
    return check_logits(logits)


def check_batch_size(batch_size: int | None) -> int:
    """`batch_size` as a positive int (None: the default bound of 64 rows per pass)."""
    if batch_size is None:
        return DEFAULT_BATCH_SIZE
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int (rows per pass), got {batch_size!r}")
    return batch_size


def check_layer_argument(method: Method, model: nn.Module, layer: str | None) -> None:
    """A layer is only for Grad-CAM-style methods, and must exist in the model."""
    if layer is None:
        return
    if not method.layer:
        raise ValueError(f"method {method.name!r} takes no layer; only gradcam and "
                         "guided_gradcam explain a layer")
    resolve_layer(model, layer)


@dataclass
class AttributionPlan:
    """Everything one attribution call decided: the method, the (prepared) network, targets,
    baseline, layer and options; `sensitivity` reuses it on perturbed inputs."""

    method: Method
    net: nn.Module
    targets: Tensor
    reference: Tensor | None
    description: str
    layer_name: str | None
    layer: nn.Module | None
    options: dict[str, Any]
    rows: int
    seed: int
    classes: tuple[str, ...] | None = None

    def run(self, x: Tensor, targets: Tensor | None = None, reference: Tensor | None = None,
            progress: bool = False) -> tuple[Tensor, Tensor | None]:
        """Raw maps and IG deltas for `x`; targets and baseline default to the planned ones."""
        return run_method(self.method, self.net, x, self.targets if targets is None else targets,
                          self.reference if reference is None else reference, self.layer,
                          self.options, batch_size=self.rows, seed=self.seed, progress=progress)

    def result(self, raw: Tensor, delta: Tensor | None) -> Attribution:
        """The `Attribution` for maps computed under this plan."""
        return Attribution(
            raw=raw, map=raw.sum(dim=1, keepdim=True), method=self.method.name,
            target=self.targets, baseline=self.description, delta=delta,
            layer=self.layer_name, options=self.options, seed=self.seed,
            target_names=None if self.classes is None else [self.classes[t] for t in self.targets.tolist()],
        )


@contextmanager
def planned(
    model: nn.Module,
    x: Tensor,
    target: TargetLike,
    *,
    method: str,
    layer: str | None,
    baseline: BaselineLike,
    batch_size: int | None,
    seed: int | None,
    options: dict[str, Any],
) -> Iterator[AttributionPlan]:
    """Check the arguments, borrow the model, and yield the plan for attributing `x`."""
    spec = get_method(method)
    opts = method_options(spec, options)
    check_images(x)
    rows = check_batch_size(batch_size)
    check_same_device(x, model=model)
    check_model_input(model, x)
    check_layer_argument(spec, model, layer)
    opts = fill_auto_options(spec, opts, x)
    with borrowed(model):
        logits = predict_logits(model, x, rows)
        info = model_info(model)
        targets = attribution_targets(target, logits, info.classes if info is not None else None)
        reference, description = resolve_baseline(baseline, x, spec)
        net = prepare(model, spec.prepare, x) if spec.prepare else model
        layer_name, layer_module = find_layer(net, x, layer) if spec.layer else (None, None)
        yield AttributionPlan(spec, net, targets, reference, description, layer_name, layer_module, opts,
                   rows, fresh_seed() if seed is None else seed,
                   info.classes if info is not None else None)


@any_grad_mode
def attribute(
    model: nn.Module,
    x: Tensor,
    target: TargetLike = None,
    *,
    method: str = "integrated_gradients",
    layer: str | None = None,
    baseline: BaselineLike = None,
    batch_size: int | None = None,
    seed: int | None = 0,
    progress: bool = False,
    **options: Any,
) -> Attribution:
    """Attribution maps of `model`'s `target` logit on images `x` (N, C, H, W) in [0, 1].

    `method`: a name from `advcat.attribution.method_names()` or an alias ("ig", "gradcam").
    `target`: class index, name, (N,) tensor or list; default the model's prediction.
    `layer`: the layer Grad-CAM explains (default: the last spatial feature map).
    `baseline`: "black" (default), "grey", "white", "blur", a constant or an image, in pixels.
    `batch_size`: at most this many rows per forward/backward pass (default 64).
    `options`: the method's own settings, e.g. n_steps=32 for integrated gradients.
    """
    x = usable(x.detach()) if isinstance(x, Tensor) else x
    with planned(model, x, target, method=method, layer=layer, baseline=baseline,
                 batch_size=batch_size, seed=seed, options=options) as plan:
        raw, delta = plan.run(x, progress=progress)
    return plan.result(raw, delta)
