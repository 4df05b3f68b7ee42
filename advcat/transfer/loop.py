"""One epoch of training and one pass of evaluation, with the careful defaults of the field.

AdamW steps with the warm-up + cosine schedule, optional label smoothing, gradient clipping, mixed
precision where asked, per-epoch seeded shuffles and augmentation (so a resumed run repeats the
uninterrupted one), and losses averaged per sample over held-out data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from advcat.core.rng import derive_seed
from advcat.transfer.adversarial import adversarial_batch
from advcat.transfer.config import TrainConfig
from advcat.transfer.schedule import lr_scale

SHUFFLE_STREAM, EPOCH_STREAM = 3, 5


class NonFiniteLoss(ValueError):
    """The training loss became NaN or infinite: the run stops rather than learn NaNs."""


class Batches(Protocol):
    labels: Tensor

    def __len__(self) -> int: ...

    def batches(self, order: Tensor, batch_size: int) -> Any: ...


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Optimizer steps in one epoch: a trailing batch of one sample is dropped (BatchNorm needs two)."""
    full, rest = divmod(n, batch_size)
    return full + (1 if rest > 1 else 0)


@dataclass
class Trainer:
    """Trains `module` (the full model, or the head alone on cached features)."""

    module: nn.Module
    optimizer: torch.optim.Optimizer
    config: TrainConfig
    device: torch.device
    total_steps: int
    autocast: torch.dtype | None = None
    scaler: Any = None
    augment: Callable[[Tensor], Tensor] | None = None
    attack: Any = None
    set_modes: Callable[[], None] | None = None
    step: int = 0

    def _params(self) -> list[nn.Parameter]:
        return [p for group in self.optimizer.param_groups for p in group["params"]]

    def train_epoch(self, source: Batches, epoch: int, progress: bool = False) -> dict[str, float]:
        """One pass over `source` in a seeded order; returns the per-sample mean loss and accuracy."""
        from advcat.progress import progress_bar

        cfg = self.config
        order = torch.randperm(len(source), generator=torch.Generator().manual_seed(
            derive_seed(cfg.seed, SHUFFLE_STREAM, epoch)))
        loss_sum, correct, seen = 0.0, 0, 0
        devices = [self.device] if self.device.type == "cuda" else []
        if self.set_modes is not None:
            self.set_modes()
        with torch.random.fork_rng(devices=devices), progress_bar(
                total=steps_per_epoch(len(source), cfg.batch_size), desc=f"epoch {epoch}",
                enabled=progress) as bar:
            torch.manual_seed(derive_seed(cfg.seed, EPOCH_STREAM, epoch))
            for index, (inputs, labels) in enumerate(source.batches(order, cfg.batch_size)):
                if inputs.shape[0] < 2:
                    continue
                inputs, labels = inputs.to(self.device), labels.to(self.device)
                loss, logits = self._step(inputs, labels, epoch, index)
                loss_sum += loss * labels.shape[0]
                correct += int((logits.argmax(1) == labels).sum())
                seen += labels.shape[0]
                bar.set_postfix(loss=f"{loss_sum / seen:.4f}")
                bar.update(1)
        return {"train_loss": loss_sum / max(seen, 1), "train_acc": correct / max(seen, 1)}

    def _step(self, inputs: Tensor, labels: Tensor, epoch: int, index: int) -> tuple[float, Tensor]:
        cfg = self.config
        if self.augment is not None:
            with torch.no_grad():
                inputs = self.augment(inputs).clamp(0.0, 1.0)
        if self.attack is not None:
            inputs = adversarial_batch(self.attack, self.module, inputs, labels, seed=cfg.seed,
                                       epoch=epoch, batch=index)
        scale = lr_scale(self.step, self.total_steps, cfg.warmup)
        for group in self.optimizer.param_groups:
            group["lr"] = group["base_lr"] * scale
        with torch.autocast(self.device.type, dtype=self.autocast, enabled=self.autocast is not None):
            logits = self.module(inputs)
        loss = F.cross_entropy(logits.float(), labels, label_smoothing=cfg.label_smoothing)
        if not bool(torch.isfinite(loss)):
            raise NonFiniteLoss(
                f"the training loss turned non-finite ({float(loss)}) at epoch {epoch}, batch {index}; "
                "the run stopped before that step (the last finished epoch's checkpoint, if out= was "
                "given, is kept): check the data for NaN/inf and lower lr"
            )
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            torch.autograd.backward(loss)
        if cfg.clip_grad is not None:
            torch.nn.utils.clip_grad_norm_(self._params(), cfg.clip_grad)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.step += 1
        return float(loss.detach()), logits.detach()

    @torch.no_grad()
    def evaluate(self, source: Batches, batch_size: int | None = None) -> tuple[float, float, Tensor]:
        """(mean cross-entropy, accuracy, logits) over `source`, in eval mode, no augmentation."""
        was_training = [(m, m.training) for m in self.module.modules()]
        self.module.eval()
        total, correct, outputs = 0.0, 0, []
        try:
            for inputs, labels in source.batches(torch.arange(len(source)),
                                                 batch_size or 2 * self.config.batch_size):
                inputs, labels = inputs.to(self.device), labels.to(self.device)
                with torch.autocast(self.device.type, dtype=self.autocast,
                                    enabled=self.autocast is not None):
                    logits = self.module(inputs).float()
                total += float(F.cross_entropy(logits, labels, reduction="sum"))
                correct += int((logits.argmax(1) == labels).sum())
                outputs.append(logits.cpu())
        finally:
            for module, training in was_training:
                module.training = training
        n = max(len(source), 1)
        return total / n, correct / n, torch.cat(outputs) if outputs else torch.empty(0)
