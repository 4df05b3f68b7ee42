"""`advcat.finetune`: turn a pretrained backbone into a classifier for new data, in one call.

Checks everything first, then: copy the backbone and give it a new head (the data's images are
adapted inside the model), freeze by strategy, train with AdamW under a warm-up + cosine schedule
with early stopping on held-out data, and hand back the best epoch's pixel-space model.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from advcat.core.interrupts import counting
from advcat.data.split import stratified_split
from advcat.models.guard import any_grad_mode
from advcat.models.pixel import ModelInfo, PixelModel
from advcat.transfer import adversarial as adv
from advcat.transfer import augment as aug
from advcat.transfer.config import TrainConfig
from advcat.transfer.features import FeatureSource, head_inputs
from advcat.transfer.freeze import FreezePlan, freeze, set_modes
from advcat.transfer.loop import Trainer, steps_per_epoch
from advcat.transfer.metrics import report
from advcat.transfer.network import backbone_model, fit_to_data
from advcat.transfer.result import FineTuned
from advcat.transfer.source import Source, as_dataset
from advcat.transfer.state import load_last, save_best, save_last


@any_grad_mode
def finetune(
    backbone: str | Path | nn.Module,
    train: Any,
    val: Any = None,
    *,
    strategy: str = "linear",
    epochs: int = 10,
    lr: float = 1e-3,
    unfreeze: int | None = None,
    augment: str | Callable[[torch.Tensor], torch.Tensor] | None = "default",
    image_size: int | None = None,
    cache_features: bool = True,
    adversarial: Any = None,
    seed: int = 0,
    out: str | Path | None = None,
    progress: bool = True,
    backbone_lr: float | None = None,
    batch_size: int = 64,
    weight_decay: float = 0.05,
    warmup: float = 0.05,
    label_smoothing: float = 0.0,
    clip_grad: float | None = 1.0,
    patience: int | None = 3,
    val_fraction: float = 0.1,
    classes: Sequence[str] | None = None,
    device: str | torch.device | None = None,
    amp: bool | None = None,
    workers: int = 0,
    resume: bool = True,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> FineTuned:
    """Fine-tune `backbone` on `train` and return the best epoch's model with its record.

    `backbone`: a `load_model` name or checkpoint path, or a module (deep-copied; yours is never
    changed). `train`/`val`: labelled sets of (C, H, W) images in [0, 1] (any `advcat.data` set)
    or (images, labels) tensor pairs; without `val`, a stratified `val_fraction` of `train` is
    held out. `strategy`: "linear" (new head on frozen features; `cache_features` computes them
    once), "partial" (also the top `unfreeze` blocks, default 2, at `backbone_lr`, default lr/10)
    or "full". `image_size`: the resolution the backbone sees (default its own input size);
    grayscale and other sizes are adapted inside the returned model. `adversarial`: an advcat
    attack (PGD training); needs `cache_features=False` with the linear strategy. `out`: a folder
    for checkpoints (`advcat.load_model(out)` loads the result); a run cut off there resumes from
    its last epoch when called again with the same settings.
    """
    if isinstance(augment, str) and augment not in ("default", "none"):
        raise ValueError(f"augment must be 'default', 'none', None or a callable, got {augment!r}")
    attack = adv.as_attack(adversarial)
    if attack is not None and strategy == "linear" and cache_features:
        raise ValueError(
            "adversarial training needs the images at every step, so it cannot train on cached "
            "features: pass cache_features=False (or strategy='partial'/'full')"
        )
    config = TrainConfig(
        strategy=strategy, epochs=epochs, lr=lr, backbone_lr=backbone_lr, unfreeze=unfreeze,
        batch_size=batch_size, weight_decay=weight_decay, warmup=warmup,
        label_smoothing=label_smoothing, clip_grad=clip_grad, patience=patience,
        augment=aug.describe(augment), image_size=image_size, cache_features=cache_features,
        adversarial=adv.describe(attack), val_fraction=val_fraction, seed=seed,
    )
    if not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers must be a non-negative integer, got {workers!r}")
    run = _Run(config, backbone, train, val, classes, device, amp, workers, out, resume, progress)
    with counting():
        return run.fit(augment, attack, on_epoch)


class _Run:
    """The state of one call: data, model, optimizer, trainer, and the record written to OUT."""

    def __init__(self, config: TrainConfig, backbone: Any, train: Any, val: Any,
                 classes: Sequence[str] | None, device: Any, amp: bool | None, workers: int,
                 out: str | Path | None, resume: bool, progress: bool) -> None:
        self.config, self.progress, self.resume = config, progress, resume
        self.out = Path(out) if out is not None else None
        train_set = as_dataset(train, classes)
        val_set = as_dataset(val, classes, name="val") if val is not None else None
        if val_set is None and config.val_fraction > 0:
            train_set, val_set = stratified_split(train_set, config.val_fraction, seed=config.seed)
        self.train = Source(train_set, workers=workers)
        self.val = Source(val_set, workers=workers) if val_set is not None else None
        self.classes = self._class_names(classes)
        self.device = _device(device, backbone)
        model = backbone_model(backbone)
        if self.out is not None and model.info.arch is None:
            raise ValueError(
                "out= saves a checkpoint that advcat.load_model rebuilds from an architecture name; "
                "this backbone has none: pass a load_model name (or a model from load_model), or "
                "out=None"
            )
        self.origin = {"name": model.info.name, "arch": model.info.arch,
                       "weights": model.info.weights}
        self.model = fit_to_data(model, self.classes, self.train.shape,
                                 image_size=config.image_size,
                                 preprocessing=_preprocessing(train_set), seed=config.seed)
        self.model.to(self.device)
        self.plan = freeze(self.model.net, config.blocks)
        self.optimizer = torch.optim.AdamW(_groups(self.plan, config), lr=config.lr,
                                           weight_decay=config.weight_decay)
        for group in self.optimizer.param_groups:
            group["base_lr"] = group["lr"]
        self.autocast, self.scaler = _precision(self.device, amp)

    def _class_names(self, classes: Sequence[str] | None) -> tuple[str, ...]:
        labels = self.train.labels
        count = int(labels.max()) + 1 if labels.numel() else 0
        names = tuple(classes) if classes is not None else self.train.classes
        names = names if names is not None else tuple(str(i) for i in range(count))
        if len(names) < max(count, 2) or (labels.numel() and int(labels.min()) < 0):
            raise ValueError(f"labels must be class indices in [0, {len(names)}) with at least 2 "
                             f"classes; got labels up to {count - 1} for {len(names)} class names")
        if self.val is not None:
            if self.val.shape != self.train.shape:
                raise ValueError(f"validation images are {self.val.shape}, training images "
                                 f"{self.train.shape}; both sets must share one image shape")
            if self.val.labels.numel() and int(self.val.labels.max()) >= len(names):
                raise ValueError("validation labels go beyond the training set's classes")
        return names

    def identity(self) -> dict[str, Any]:
        """What a resumed run must share with the interrupted one."""
        identity: dict[str, Any] = json.loads(json.dumps({
            "config": self.config.to_dict(), "backbone": self.origin, "classes": self.classes,
            "shape": self.train.shape, "n_train": len(self.train),
            "n_val": len(self.val) if self.val is not None else 0,
        }))
        return identity

    def fit(self, augment: Any, attack: Any,
            on_epoch: Callable[[dict[str, Any]], None] | None) -> FineTuned:
        from advcat.progress import progress_bar

        started = time.perf_counter()
        record = self._start()
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
        cfg = self.config
        tick = time.perf_counter()
        train_src, val_src, module, modes = self._sources()
        feature_seconds = time.perf_counter() - tick if cfg.cached else 0.0
        total = cfg.epochs * steps_per_epoch(len(self.train), cfg.batch_size)
        trainer = Trainer(
            module=module, optimizer=self.optimizer, config=cfg, device=self.device,
            total_steps=total, autocast=self.autocast, scaler=self.scaler,
            augment=None if cfg.cached else aug.build_augment(augment, self.train.shape),
            attack=attack, set_modes=modes, step=record["step"],
        )
        best_state = self._best_state(record)
        bar = progress_bar(total=cfg.epochs, desc="fine-tuning",
                           enabled=self.progress and not record["finished"])
        bar.update(record["epoch"])
        for epoch in range(record["epoch"] + 1, cfg.epochs + 1):
            if record["finished"]:
                break
            tick = time.perf_counter()
            row: dict[str, Any] = {"epoch": epoch, **trainer.train_epoch(train_src, epoch,
                                                                         self.progress)}
            if val_src is not None:
                row["val_loss"], row["val_acc"], _ = trainer.evaluate(val_src)
            row["lr"] = self.optimizer.param_groups[0]["lr"]
            row["seconds"] = time.perf_counter() - tick
            record["epoch"], record["step"] = epoch, trainer.step
            best_state = self._end_epoch(record, row, best_state)
            bar.set_postfix({k: f"{v:.4f}" for k, v in row.items()
                             if k in ("train_loss", "val_loss", "val_acc")})
            bar.update(1)
            if on_epoch is not None:
                on_epoch(dict(row))
        bar.close()
        self.model.net.load_state_dict(best_state)
        metrics = self._metrics(trainer, val_src, record)
        metrics.update(seconds=time.perf_counter() - started, feature_seconds=feature_seconds)
        record["metrics"] = metrics
        final = self._final(record)
        if self.out is not None:
            save_best(self.out, final, record)
        return FineTuned(final, record["history"], metrics, self.config.to_dict(), self.out)

    def _sources(self) -> tuple[Any, Any, nn.Module, Callable[[], None] | None]:
        """(train, val, trained module, mode setter): cached features and the head alone for the
        linear strategy, else the images and the whole model with its frozen parts' modes."""
        if self.config.cached:
            train = self._features(self.train, "train features")
            val = self._features(self.val, "val features") if self.val else None
            return train, val, self.plan.head, None
        return self.train, self.val, self.model, lambda: set_modes(self.model.net, self.plan)

    def _end_epoch(self, record: dict[str, Any], row: dict[str, Any],
                   best_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Record a finished epoch: history, best weights, early stop, checkpoints in OUT; returns
        the best weights so far."""
        cfg, epoch = self.config, record["epoch"]
        record["history"].append(row)
        improved = "val_loss" not in row or record["best_loss"] is None \
            or row["val_loss"] < record["best_loss"]
        if improved:
            record["best_epoch"], record["bad_epochs"] = epoch, 0
            record["best_loss"] = row.get("val_loss")
            best_state = _clone(self.model.net)
        else:
            record["bad_epochs"] += 1
        stop = cfg.patience is not None and record["bad_epochs"] >= cfg.patience
        record["finished"] = stop or epoch == cfg.epochs
        record["stopped_early"] = stop and epoch < cfg.epochs
        if self.out is not None:
            if improved:
                save_best(self.out, self.model, record)
            save_last(self.out, self.model, self.optimizer, record)
        return best_state

    def _start(self) -> dict[str, Any]:
        """A fresh record, or the last epoch's from OUT (weights and optimizer restored)."""
        record: dict[str, Any] = {
            "run": self.identity(), "epoch": 0, "step": 0, "history": [], "best_epoch": None,
            "best_loss": None, "bad_epochs": 0, "finished": False, "stopped_early": False,
        }
        if self.out is None or not self.resume:
            return record
        found = load_last(self.out)
        if found is None:
            return record
        weights, optimizer_state, saved = found
        if saved.get("run") != record["run"]:
            changed = differences(saved.get("run"), record["run"])
            raise ValueError(
                f"{self.out} holds a run with different settings ({'; '.join(changed)}); pass a new "
                "out= folder (--out), or resume=False (--no-resume) to start over there"
            )
        self.model.net.load_state_dict(weights)
        self.optimizer.load_state_dict(optimizer_state)
        return saved

    def _best_state(self, record: dict[str, Any]) -> dict[str, torch.Tensor]:
        if self.out is not None and record["best_epoch"] is not None:
            from safetensors.torch import load_file

            best = self.out / "model.safetensors"
            if best.is_file():
                return {k: v.to(self.device) for k, v in load_file(str(best)).items()}
        return _clone(self.model.net)

    def _features(self, source: Source | None, label: str) -> FeatureSource:
        assert source is not None
        return head_inputs(self.model, self.plan.head, source, batch_size=2 * self.config.batch_size,
                           device=self.device, autocast=self.autocast, progress=self.progress,
                           label=label)

    def _metrics(self, trainer: Trainer, val_src: Any, record: dict[str, Any]) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "best_epoch": record["best_epoch"], "epochs_run": record["epoch"],
            "stopped_early": record["stopped_early"], "n_train": len(self.train),
            "n_val": len(self.val) if self.val is not None else 0,
            "image_size": self.model.info.adapt_size or self.train.shape[-1],
        }
        if val_src is None:
            return {**summary, "note": "no held-out data: val=None and val_fraction=0"}
        _, _, logits = trainer.evaluate(val_src)
        assert self.val is not None
        return {**summary, **report(logits, self.val.labels, self.classes,
                                    k=min(5, len(self.classes)))}

    def _final(self, record: dict[str, Any]) -> PixelModel:
        """The trained model in eval mode, every parameter trainable again, its record in info."""
        for param in self.model.parameters():
            param.requires_grad_(True)
        summary = {"backbone": self.origin, "config": self.config.to_dict(),
                   "best_epoch": record["best_epoch"],
                   "top1": record["metrics"].get("top1"), "val_loss": record["metrics"].get("loss")}
        info = ModelInfo.from_dict({**self.model.info.to_dict(), "extra": {"finetune": summary}})
        return PixelModel(self.model.net, info).eval()


def _groups(plan: FreezePlan, config: TrainConfig) -> list[dict[str, Any]]:
    """AdamW groups: head at lr, unfrozen blocks at the lower lr; no decay on biases and norms."""
    groups = []
    for params, lr in ((plan.head_params, config.lr), (plan.block_params, config.lower_lr)):
        decay = [p for p in params if p.dim() > 1]
        flat = [p for p in params if p.dim() <= 1]
        if decay:
            groups.append({"params": decay, "lr": lr})
        if flat:
            groups.append({"params": flat, "lr": lr, "weight_decay": 0.0})
    return groups


def _device(device: str | torch.device | None, backbone: Any) -> torch.device:
    if device is not None:
        return torch.device(device)
    if isinstance(backbone, nn.Module):
        first = next(iter(backbone.parameters()), None)
        if first is not None:
            return first.device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _precision(device: torch.device, amp: bool | None) -> tuple[torch.dtype | None, Any]:
    """(autocast dtype, grad scaler): bf16 or fp16 on CUDA by default, bf16 on CPU only if asked."""
    if amp is False or (amp is None and device.type != "cuda"):
        return None, None
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return torch.bfloat16, None
        return torch.float16, torch.amp.GradScaler("cuda")
    return torch.bfloat16, None


def _preprocessing(dataset: Any) -> ModelInfo | None:
    """The resize/interpolation a file-based set applies, to record in the model's metadata."""
    while dataset is not None:
        info = getattr(dataset, "info", None)
        if isinstance(info, ModelInfo):
            return info
        dataset = getattr(dataset, "dataset", None)
    return None


def _clone(net: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def differences(saved: Any, now: Any, name: str = "") -> list[str]:
    """Each setting that differs between a saved run and this one, as "name: saved -> now",
    nested settings by dotted name (config.lr), so a refused resume says what changed."""
    if isinstance(saved, dict) and isinstance(now, dict):
        keys = list(now) + [k for k in saved if k not in now]
        return [line for k in keys
                for line in differences(saved.get(k), now.get(k), f"{name}.{k}" if name else str(k))]
    return [] if saved == now else [f"{name or 'run'}: {saved!r} -> {now!r}"]
