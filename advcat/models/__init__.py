"""Models in pixel space: the zoo, the wrapper, layer taps, the borrow guard, checkpoints."""

from advcat.models.bpda import BPDA, bpda
from advcat.models.checkpoint import load_checkpoint, save_checkpoint
from advcat.models.ensemble import Ensemble, ensemble
from advcat.models.guard import borrowed
from advcat.models.heads import head_name, replace_head
from advcat.models.pixel import ModelInfo, PixelModel, model_info, wrap
from advcat.models.taps import layer_names, resolve_layer, tap
from advcat.models.zoo import DEFAULT_MODEL, load_model

__all__ = [
    "BPDA",
    "DEFAULT_MODEL",
    "Ensemble",
    "bpda",
    "ensemble",
    "ModelInfo",
    "PixelModel",
    "borrowed",
    "head_name",
    "layer_names",
    "load_checkpoint",
    "load_model",
    "model_info",
    "replace_head",
    "resolve_layer",
    "save_checkpoint",
    "tap",
    "wrap",
]
