"""Objectives on hidden layers (read through taps): channel, neuron, direction, activation, diversity."""

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
    """Mean activation of one channel of a layer (feature visualization); `channel` may be an (N,)
    integer tensor, one channel per image, so a whole channel atlas is one batched objective."""

    def __init__(self, layer: str, channel: int | Tensor) -> None:
        super().__init__(layer)
        if isinstance(channel, Tensor):
            if channel.dim() != 1 or channel.is_floating_point() or channel.numel() == 0:
                raise ValueError(f"channel must be an int or an (N,) integer tensor, got {channel!r}")
            self.channel: int | Tensor = channel.detach().to(torch.long)
        else:
            self.channel = int(channel)
        self._freeze()

    def describe(self) -> str:
        if isinstance(self.channel, Tensor):
            chosen = sorted(set(self.channel.tolist()))
            shown = ", ".join(map(str, chosen)) if len(chosen) <= 8 else f"{len(chosen)} channels"
            return f"Channel({self.layer!r}, per image: {shown})"
        return f"Channel({self.layer!r}, {self.channel})"

    def score(self, ctx: Context) -> Tensor:
        if not isinstance(self.channel, Tensor):
            return self._channel(ctx, self.channel).flatten(1).mean(1)
        act = self._activation(ctx)
        channels = ctx.per_sample(self.channel, dtype=torch.long)
        if int(channels.max()) >= act.shape[1] or int(channels.min()) < 0:
            raise ValueError(f"channels {sorted(set(channels.tolist()))} are out of range for layer "
                             f"{self.layer!r} with {act.shape[1]} channels")
        rows = torch.arange(act.shape[0], device=act.device)
        return act[rows, channels].flatten(1).mean(1)


class Direction(_LayerObjective):
    """The mean over positions of a layer's activation projected on a direction `vector` (C,)
    (Olah et al. 2017, "Feature Visualization": directions in activation space, not only channels)."""

    def __init__(self, layer: str, vector: Tensor) -> None:
        super().__init__(layer)
        if not isinstance(vector, Tensor) or vector.dim() != 1 or not bool(torch.isfinite(vector).all()):
            raise ValueError(f"vector must be a finite (C,) tensor, got {vector!r}")
        length = float(vector.float().norm())
        if length == 0:
            raise ValueError("vector must not be zero: it has no direction")
        self.vector = vector.detach().float() / length
        self._freeze()

    def describe(self) -> str:
        return f"Direction({self.layer!r}, {self.vector.numel()} channels)"

    def score(self, ctx: Context) -> Tensor:
        act = self._activation(ctx)
        if act.shape[1] != self.vector.numel():
            raise ValueError(f"vector has {self.vector.numel()} entries but layer {self.layer!r} has "
                             f"{act.shape[1]} channels")
        weights = self.vector.to(act.device, act.dtype).view(1, -1, *([1] * (act.dim() - 2)))
        return (act * weights).sum(1).flatten(1).mean(1)


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
