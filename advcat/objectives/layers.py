"""Objectives on hidden layers (read through taps): channel, neuron, activation, diversity."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from advcat.core.context import Context
from advcat.objectives.base import Objective


class _LayerObjective(Objective):
    def __init__(self, layer: str) -> None:
        if not isinstance(layer, str) or not layer:
            raise TypeError(f"a layer name must be a non-empty string, got {layer!r}")
        self.layer = layer
        self.layers = frozenset({layer})

    def _activation(self, ctx: Context) -> Tensor:
        act = ctx.activation(self.layer)
        if act.dim() < 2:
            raise ValueError(f"layer {self.layer!r} output has shape {tuple(act.shape)}; need (N, C, ...)")
        return act

    def _channel(self, ctx: Context, channel: int) -> Tensor:
        act = self._activation(ctx)
        if not 0 <= channel < act.shape[1]:
            raise ValueError(
                f"channel {channel} is out of range for layer {self.layer!r} with {act.shape[1]} channels"
            )
        return act[:, channel]


class Channel(_LayerObjective):
    """Mean activation of one channel of a layer (feature visualization)."""

    def __init__(self, layer: str, channel: int) -> None:
        super().__init__(layer)
        self.channel = int(channel)
        self._freeze()

    def describe(self) -> str:
        return f"Channel({self.layer!r}, {self.channel})"

    def score(self, ctx: Context) -> Tensor:
        return self._channel(ctx, self.channel).flatten(1).mean(1)


class Neuron(_LayerObjective):
    """Activation of one channel at one spatial position (the centre by default)."""

    def __init__(self, layer: str, channel: int, position: tuple[int, int] | None = None) -> None:
        super().__init__(layer)
        self.channel = int(channel)
        self.position = position
        self._freeze()

    def describe(self) -> str:
        where = "" if self.position is None else f", position={self.position}"
        return f"Neuron({self.layer!r}, {self.channel}{where})"

    def score(self, ctx: Context) -> Tensor:
        act = self._channel(ctx, self.channel)
        if act.dim() == 1:
            return act
        h, w = act.shape[-2], act.shape[-1]
        row, col = self.position if self.position is not None else (h // 2, w // 2)
        if not (0 <= row < h and 0 <= col < w):
            raise ValueError(f"position {(row, col)} is outside layer {self.layer!r}'s {h}x{w} grid")
        return act[:, row, col]


class Activation(_LayerObjective):
    """Mean squared activation of a whole layer, as DeepDream maximizes."""

    def __init__(self, layer: str) -> None:
        super().__init__(layer)
        self._freeze()

    def describe(self) -> str:
        return f"Activation({self.layer!r})"

    def score(self, ctx: Context) -> Tensor:
        return self._activation(ctx).pow(2).flatten(1).mean(1)


class Diversity(_LayerObjective):
    """Minus the mean cosine similarity of a sample's Gram matrix to the others' (Lucid's diversity).

    Added to a batch objective, it pushes the images of one batch towards different styles.
    A batch of one scores 0.
    """

    def __init__(self, layer: str) -> None:
        super().__init__(layer)
        self._freeze()

    def describe(self) -> str:
        return f"Diversity({self.layer!r})"

    def score(self, ctx: Context) -> Tensor:
        act = self._activation(ctx)
        n = act.shape[0]
        if n < 2:
            return act.new_zeros(n)
        flat = act.flatten(2)
        gram = torch.bmm(flat, flat.transpose(1, 2)).flatten(1)
        gram = F.normalize(gram, dim=1)
        similarity = gram @ gram.T
        off_diagonal = similarity.sum(1) - similarity.diagonal()
        return -off_diagonal / (n - 1)
