"""Ctrl-C is never counted (issue 13, item 1): a direct attack says its result is partial; evaluate
and adversarial fine-tuning stop, keep what was committed, and a resume gives the full report."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import advcat
from advcat.transfer import finetune

ATTACKS = [("pgd", {"steps": 4})]


class InterruptAt:
    """A forward hook that raises KeyboardInterrupt at its k-th call (a Ctrl-C mid-run)."""

    def __init__(self, k: int) -> None:
        self.k, self.calls = k, 0

    def __call__(self, module: nn.Module, inputs: object, output: object) -> None:
        self.calls += 1
        if self.calls == self.k:
            raise KeyboardInterrupt


def _data(n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    return x, torch.arange(n) % 10


def test_an_interrupted_direct_attack_says_its_result_is_partial(tiny_cnn) -> None:  # noqa: ANN001
    x, y = _data(4)
    handle = tiny_cnn.register_forward_hook(InterruptAt(3))
    try:
        result = advcat.attack(tiny_cnn, x, y, method="pgd", eps=4 / 255, steps=10)
    finally:
        handle.remove()
    assert result.interrupted
    assert "INTERRUPTED" in result.summary()
    assert not advcat.attack(tiny_cnn, x, y, method="pgd", eps=4 / 255, steps=10).interrupted


def test_an_interrupted_multi_run_attack_stops(tiny_cnn) -> None:  # noqa: ANN001
    x, y = _data(4)
    handle = tiny_cnn.register_forward_hook(InterruptAt(3))
    try:
        with pytest.raises(KeyboardInterrupt):
            advcat.attack(tiny_cnn, x, y, method="apgd_t", eps=4 / 255, steps=5, n_target_classes=2)
    finally:
        handle.remove()


def _evaluate(model: nn.Module, out: Path | None) -> advcat.evaluation.Report:
    return advcat.evaluate(model, _data(), eps=[2 / 255, 8 / 255], attacks=ATTACKS, batch_size=4,
                           progress=False, sanity=False, out=out)


def test_evaluate_stops_on_ctrl_c_keeps_committed_batches_and_resumes_to_the_full_report(
    tiny_cnn, tmp_path: Path  # noqa: ANN001
) -> None:
    full = _evaluate(tiny_cnn, None)
    counter = InterruptAt(10**9)
    handle = tiny_cnn.register_forward_hook(counter)
    _evaluate(tiny_cnn, tmp_path / "count")
    handle.remove()
    per_batch = counter.calls // 2
    hook = InterruptAt(per_batch + per_batch // 2)  # in the middle of the second batch's attacks
    handle = tiny_cnn.register_forward_hook(hook)
    try:
        with pytest.raises(KeyboardInterrupt):
            _evaluate(tiny_cnn, tmp_path / "run")
    finally:
        handle.remove()
    committed = sorted(p.name for p in (tmp_path / "run").rglob("*") if "batch" in p.name)
    assert committed, "the first batch, finished before Ctrl-C, stays committed"
    assert not (tmp_path / "run" / "report.json").exists()
    resumed = _evaluate(tiny_cnn, tmp_path / "run")
    assert resumed.robust_accuracy == full.robust_accuracy
    assert resumed.clean_accuracy == full.clean_accuracy


def test_adversarial_finetune_stops_on_ctrl_c(tiny_cnn) -> None:  # noqa: ANN001
    images = torch.rand(12, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    labels = torch.arange(12) % 3
    hook = InterruptAt(5)
    handle = tiny_cnn.net[0].register_forward_hook(hook)  # the copy finetune trains keeps the hook
    try:
        with pytest.raises(KeyboardInterrupt):
            finetune(tiny_cnn, (images, labels), (images[:6], labels[:6]), strategy="full", epochs=1,
                     batch_size=6, augment=None, cache_features=False, progress=False, image_size=16,
                     adversarial={"method": "pgd", "eps": 2 / 255, "steps": 4})
    finally:
        handle.remove()


_SIGINT_SCRIPT = """
import os, signal, sys
from pathlib import Path
import torch
from torch import nn
import advcat

# as in a terminal, even when this test runs in the background (where SIGINT starts ignored)
signal.signal(signal.SIGINT, signal.default_int_handler)
torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                    nn.Linear(8, 10))
model = advcat.wrap(net, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), input_size=16)
fired = [False]

def hook(module, inputs, output):
    # a real Ctrl-C, delivered mid-batch: in the first forward pass after batch 0 was committed
    if not fired[0] and any(Path(sys.argv[1]).glob("batches/*.json")):
        fired[0] = True
        os.kill(os.getpid(), signal.SIGINT)

model.register_forward_hook(hook)
x = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(3))
advcat.evaluate(model, x, eps=[8 / 255], attacks=[("pgd", {"steps": 20})],
                batch_size=4, progress=False, sanity=False, out=sys.argv[1])
print("FINISHED")
"""


def test_a_real_sigint_stops_evaluate_and_keeps_the_committed_batch(tmp_path: Path) -> None:
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _SIGINT_SCRIPT, str(tmp_path / "run")],
                         capture_output=True, text=True, timeout=120)
    assert "FINISHED" not in run.stdout
    assert run.returncode != 0 and "KeyboardInterrupt" in run.stderr
    assert not (tmp_path / "run" / "report.json").exists()
    assert len(list((tmp_path / "run" / "batches").glob("*.json"))) == 1, "batch 0 stays committed"
