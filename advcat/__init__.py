"""advcat: attack, explain and benchmark image classifiers in pixel space.

One engine (`advcat.optimize`) pairs an objective with a step rule under a threat model; attacks,
ideal-class images and benchmarks are presets over it. Public names are imported lazily so that
the core needs torch alone and optional parts (captum, kornia, matplotlib) load only when used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_PUBLIC: dict[str, str] = {
    # models
    "load_model": "advcat.models",
    "wrap": "advcat.models",
    "PixelModel": "advcat.models",
    "ModelInfo": "advcat.models",
    "ensemble": "advcat.models",
    "bpda": "advcat.models",
    "UnwrappedModelWarning": "advcat.validate",
    # data
    "load_image": "advcat.data",
    "save_image": "advcat.data",
    "samples": "advcat.data",
    "class_index": "advcat.data",
    "imagenet_classes": "advcat.data",
    # engine
    "optimize": "advcat.engine",
    "Result": "advcat.engine",
    # attacks
    "attack": "advcat.attacks",
    "AttackResult": "advcat.attacks",
    "transfer_rate": "advcat.attacks",
    # synthesis
    "synthesize": "advcat.synthesis",
    "SynthesisResult": "advcat.synthesis",
    # attribution
    "attribute": "advcat.attribution",
    "compare_attributions": "advcat.attribution",
    "Attribution": "advcat.attribution",
    # evaluation
    "evaluate": "advcat.evaluation",
    "Report": "advcat.evaluation",
    # fine-tuning
    "finetune": "advcat.transfer",
    "FineTuned": "advcat.transfer",
    # kernels
    "set_kernels": "advcat.kernels",
}

_SUBMODULES = {
    "objectives", "threats", "steps", "params", "transforms", "engine", "attacks", "synthesis",
    "attribution", "evaluation", "models", "data", "viz", "kernels", "transfer",
}

__all__ = sorted(_PUBLIC) + sorted(_SUBMODULES)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(f"advcat.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'advcat' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
