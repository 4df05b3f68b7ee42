"""Run one Captum method over a batch in bounded memory, seeded per sample.

`batch_size` bounds the rows of every forward/backward pass: integrated gradients gets it as
Captum's `internal_batch_size`, occlusion and ablation as `perturbations_per_eval`, SmoothGrad as
`nt_samples_batch_size`, and every method is also chunked over the batch. Methods that draw random
numbers (SmoothGrad, VarGrad, gradient SHAP) run one sample at a time under a generator seeded from
(seed, sample index), so a sample's map does not depend on the batch it came in.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from advcat.attribution.baselines import baseline_rows
from advcat.attribution.methods import Method
from advcat.core.rng import derive_seed

DEFAULT_BATCH_SIZE = 64
_PERTURBATION = ("occlusion", "feature_ablation")
_CAPTUM_NOTICES = r"(Setting (forward, )?backward hooks|Input Tensor \d+ did not already)"

Call = Callable[..., tuple[Tensor, Tensor | None]]


@contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch (CPU and `device`) and numpy's global generators; restore them on exit.

    Captum draws its noise from these global generators (torch for SmoothGrad, numpy for the
    gradient SHAP path points), so seeding them is the only way to make its draws repeatable.
    """
    state = np.random.get_state()
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.default_generator.manual_seed(seed)
        if device.type == "cuda":
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        np.random.seed(seed % 2**32)
        try:
            yield
        finally:
            np.random.set_state(state)


def fill_auto_options(method: Method, options: dict[str, Any], x: Tensor) -> dict[str, Any]:
    """Replace automatic (None) patch sizes by values for this image size, checking them.

    Occlusion: a window of 1/8 of the image side sliding by half a window (225 positions at any
    size); feature ablation: a 14 x 14 grid of patches (16 px at 224). About 200 forward passes
    per image each.
    """
    side = min(x.shape[-2:])
    filled = dict(options)
    if "window" in filled and filled["window"] is None:
        filled["window"] = max(1, side // 8)
    if "patch" in filled and filled["patch"] is None:
        filled["patch"] = max(1, side // 14)
    if "stride" in filled and filled["stride"] is None:
        filled["stride"] = max(1, filled["window"] // 2)
    for key in ("window", "stride", "patch"):
        value = filled.get(key)
        if key in filled and (not isinstance(value, int) or isinstance(value, bool)
                              or not 1 <= value <= side):
            raise ValueError(f"{key} must be an int in [1, {side}] pixels, got {value!r}")
    return filled


def _gradcam(model: nn.Module, layer: nn.Module, x: Tensor, target: Tensor, baseline: Tensor | None,
             options: dict[str, Any], rows: int) -> tuple[Tensor, Tensor | None]:
    from captum.attr import LayerAttribution, LayerGradCam

    cam = LayerGradCam(model, layer).attribute(
        x, target=target, relu_attributions=options["relu_attributions"],
        attribute_to_layer_input=options["attribute_to_layer_input"],
    )
    return LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), options["upsample"]), None


def _guided_gradcam(model: nn.Module, layer: nn.Module, x: Tensor, target: Tensor,
                    baseline: Tensor | None, options: dict[str, Any],
                    rows: int) -> tuple[Tensor, Tensor | None]:
    from captum.attr import GuidedGradCam

    return GuidedGradCam(model, layer).attribute(x, target=target, **options), None


def _noise_tunnel(method: Method) -> Call:
    def call(model: nn.Module, layer: nn.Module | None, x: Tensor, target: Tensor,
             baseline: Tensor | None, options: dict[str, Any],
             rows: int) -> tuple[Tensor, Tensor | None]:
        from captum.attr import NoiseTunnel, Saliency

        samples = options["nt_samples"]
        out = NoiseTunnel(Saliency(model)).attribute(
            x, nt_type=method.noise, nt_samples=samples,
            nt_samples_batch_size=max(1, min(samples, rows // x.shape[0])),
            stdevs=options["stdevs"], target=target, abs=options["abs"],
        )
        return out, None

    return call


def _integrated_gradients(model: nn.Module, layer: nn.Module | None, x: Tensor, target: Tensor,
                          baseline: Tensor | None, options: dict[str, Any],
                          rows: int) -> tuple[Tensor, Tensor | None]:
    from captum.attr import IntegratedGradients

    attr, delta = IntegratedGradients(model).attribute(
        x, baselines=baseline, target=target, n_steps=options["n_steps"],
        method=options["integration"], internal_batch_size=max(rows, x.shape[0]),
        return_convergence_delta=True,
    )
    return attr, delta


def _occlusion(model: nn.Module, layer: nn.Module | None, x: Tensor, target: Tensor,
               baseline: Tensor | None, options: dict[str, Any],
               rows: int) -> tuple[Tensor, Tensor | None]:
    from captum.attr import Occlusion

    c, w, s = x.shape[1], options["window"], options["stride"]
    out = Occlusion(model).attribute(
        x, sliding_window_shapes=(c, w, w), strides=(c, s, s), baselines=baseline, target=target,
        perturbations_per_eval=max(1, rows // x.shape[0]),
    )
    return out, None


def patch_mask(height: int, width: int, patch: int, device: torch.device) -> Tensor:
    """A (1, 1, H, W) mask numbering the cells of a patch x patch grid, for feature ablation."""
    rows = torch.arange(height, device=device) // patch
    cols = torch.arange(width, device=device) // patch
    per_row = (width + patch - 1) // patch
    return (rows[:, None] * per_row + cols[None, :]).view(1, 1, height, width)


def _feature_ablation(model: nn.Module, layer: nn.Module | None, x: Tensor, target: Tensor,
                      baseline: Tensor | None, options: dict[str, Any],
                      rows: int) -> tuple[Tensor, Tensor | None]:
    from captum.attr import FeatureAblation

    mask = patch_mask(x.shape[-2], x.shape[-1], options["patch"], x.device)
    out = FeatureAblation(model).attribute(
        x, baselines=baseline, target=target, feature_mask=mask,
        perturbations_per_eval=max(1, rows // x.shape[0]),
    )
    return out, None


def _plain(method: Method) -> Call:
    def call(model: nn.Module, layer: nn.Module | None, x: Tensor, target: Tensor,
             baseline: Tensor | None, options: dict[str, Any],
             rows: int) -> tuple[Tensor, Tensor | None]:
        import captum.attr

        explainer = getattr(captum.attr, method.captum)(model)
        extra = {} if baseline is None else {"baselines": baseline}
        return explainer.attribute(x, target=target, **extra, **options), None

    return call


_SPECIAL: dict[str, Call] = {
    "gradcam": _gradcam,
    "guided_gradcam": _guided_gradcam,
    "integrated_gradients": _integrated_gradients,
    "occlusion": _occlusion,
    "feature_ablation": _feature_ablation,
}


def _caller(method: Method) -> Call:
    if method.name in _SPECIAL:
        return _SPECIAL[method.name]
    return _noise_tunnel(method) if method.noise else _plain(method)


def chunk_size(method: Method, batch_size: int) -> int:
    """How many samples go into one Captum call for a bound of `batch_size` rows per pass."""
    if method.stochastic:
        return 1
    if method.name == "deeplift":
        return max(1, batch_size // 2)
    return batch_size


def run_method(
    method: Method,
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    reference: Tensor | None,
    layer: nn.Module | None,
    options: dict[str, Any],
    *,
    batch_size: int,
    seed: int,
    progress: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """The raw map (N, C or 1, H, W) and, for integrated gradients, the convergence delta (N,)."""
    call = _caller(method)
    n = x.shape[0]
    size = chunk_size(method, batch_size)
    maps: list[Tensor] = []
    deltas: list[Tensor] = []
    starts = range(0, n, size)
    for start in tqdm(starts, desc=method.name, disable=not progress or len(starts) < 2):
        stop = min(n, start + size)
        part = x[start:stop].clone().requires_grad_(method.name not in _PERTURBATION)
        rows = None if reference is None else baseline_rows(reference, method, part, start)
        context = seeded(derive_seed(seed, start), x.device) if method.stochastic else nullcontext()
        with context, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_CAPTUM_NOTICES, category=UserWarning)
            out, delta = call(model, layer, part, target[start:stop], rows, options, batch_size)
        maps.append(out.detach())
        if delta is not None:
            deltas.append(delta.detach().reshape(-1))
    return torch.cat(maps), (torch.cat(deltas) if deltas else None)
