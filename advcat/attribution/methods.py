"""The registry of attribution methods: names, aliases, the Captum class behind each, its options.

One table says everything the rest of the package needs to know about a method: what it takes
(a baseline, a layer, randomness), how many rows one sample costs per pass, and which preparation
of the model its Captum rule requires.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Method:
    """One attribution method and the facts advcat needs to run it.

    `baseline`: "none", "single" (one reference per sample) or "distribution" (SHAP-style).
    `prepare`: None, "deeplift" or "guided": the model copy its Captum rule needs (see prepare.py).
    `noise`: the NoiseTunnel type for SmoothGrad-style methods wrapped around Saliency.
    """

    name: str
    captum: str
    aliases: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)
    baseline: str = "none"
    layer: bool = False
    prepare: str | None = None
    stochastic: bool = False
    noise: str | None = None
    summary: str = ""


_NOISE = {"nt_samples": 20, "stdevs": 0.15, "abs": False}

METHODS: dict[str, Method] = {m.name: m for m in (
    Method("saliency", "Saliency", ("grad", "gradient", "vanilla"), {"abs": True},
           summary="absolute gradient of the target logit"),
    Method("input_x_gradient", "InputXGradient", ("ixg", "input_times_gradient"),
           summary="input times gradient"),
    Method("integrated_gradients", "IntegratedGradients", ("ig",),
           {"n_steps": 50, "integration": "gausslegendre"}, baseline="single",
           summary="path integral of gradients from the baseline (Sundararajan et al. 2017)"),
    Method("gradient_shap", "GradientShap", ("gradshap", "shap"),
           {"n_samples": 5, "stdevs": 0.0}, baseline="distribution", stochastic=True,
           summary="expected gradients over random baselines and path points"),
    Method("deeplift", "DeepLift", ("dl",), baseline="single", prepare="deeplift",
           summary="DeepLIFT rescale rule against the baseline"),
    Method("guided_backprop", "GuidedBackprop", ("gbp", "guided"), prepare="guided",
           summary="gradient with negative signals stopped at every ReLU"),
    Method("occlusion", "Occlusion", ("occ",), {"window": None, "stride": None},
           baseline="single", summary="logit drop when a sliding patch is set to the baseline"),
    Method("feature_ablation", "FeatureAblation", ("ablation",), {"patch": None},
           baseline="single", summary="logit drop when each grid patch is set to the baseline"),
    Method("gradcam", "LayerGradCam", ("grad_cam",),
           {"relu_attributions": True, "upsample": "bilinear", "attribute_to_layer_input": False},
           layer=True, summary="gradient-weighted layer activation, upsampled to the input"),
    Method("guided_gradcam", "GuidedGradCam", ("guided_grad_cam", "ggc"),
           {"interpolate_mode": "nearest", "attribute_to_layer_input": False},
           layer=True, prepare="guided", summary="Grad-CAM times guided backprop"),
    Method("smoothgrad", "Saliency", ("sg", "smooth_grad"), dict(_NOISE), stochastic=True,
           noise="smoothgrad", summary="gradient averaged over noisy copies of the input"),
    Method("vargrad", "Saliency", ("vg", "var_grad"), dict(_NOISE), stochastic=True,
           noise="vargrad", summary="variance of the gradient over noisy copies of the input"),
)}

_ALIASES: dict[str, str] = {
    alias: m.name for m in METHODS.values() for alias in (m.name, *m.aliases)
}


def _normal(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").replace("_", " ").split())


def get_method(name: str) -> Method:
    """The method called `name` or one of its aliases ("ig", "gradcam"); a clear error otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"method must be a string such as 'integrated_gradients', got {name!r}")
    key = _normal(name)
    if key in _ALIASES:
        return METHODS[_ALIASES[key]]
    close = difflib.get_close_matches(key, list(_ALIASES), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"unknown attribution method {name!r}.{hint} Known methods: {', '.join(METHODS)} "
        f"(aliases: {', '.join(sorted(a for a in _ALIASES if a not in METHODS))})"
    )


def method_options(method: Method, options: dict[str, Any]) -> dict[str, Any]:
    """The method's defaults updated with the user's options; unknown option names are refused."""
    unknown = sorted(set(options) - set(method.defaults))
    if unknown:
        allowed = ", ".join(method.defaults) or "none"
        raise ValueError(
            f"method {method.name!r} takes no option {', '.join(repr(u) for u in unknown)}; "
            f"its options are: {allowed}"
        )
    return {**method.defaults, **options}


def method_names() -> list[str]:
    """The canonical names of all methods, in registry order."""
    return list(METHODS)
