"""Evaluation: the cascade's bookkeeping, resume after SIGKILL, 2-process sharding, planted
gradient masking caught by the sanity checks and undone by BPDA, refused config changes, reports."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from digits import DigitsNet, digits, trained_digits_model
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import advcat
from advcat.attacks import PGD, Attack
from advcat.attacks.base import Goal
from advcat.core.result import Result
from advcat.evaluation import Report
from advcat.threats import make_threat

ROOT = Path(__file__).resolve().parents[1]
# The reference run the resumed and the sharded runs must reproduce exactly.
SHARED = dict(eps=[0.05, 0.1], attacks=[("apgd_ce", {"steps": 10})], n=32, batch_size=8,
              sanity_points=8, progress=False)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models run faster on one thread (no OpenMP barriers), and every process here uses the
    same thread count, so the runs compared below do identical arithmetic."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def setup():
    model = trained_digits_model()
    _, _, x, y = digits()
    return model, x[:48], y[:48]


@pytest.fixture(scope="module")
def shared(setup, tmp_path_factory):
    """The reference report, and the model and data saved for other processes to load."""
    model, x, y = setup
    folder = tmp_path_factory.mktemp("shared")
    torch.save(model.state_dict(), folder / "model.pt")
    torch.save({"x": x, "y": y}, folder / "data.pt")
    return advcat.evaluate(model, (x, y), **SHARED), folder


SCRIPT = textwrap.dedent("""
    import sys, time
    import torch
    sys.path.insert(0, {tests!r})
    import advcat
    from digits import DigitsNet
    torch.set_num_threads(1)
    folder = {folder!r}
    model = advcat.wrap(DigitsNet(), mean=[0.0], std=[1.0], name="digits", input_size=8,
                        classes=[str(i) for i in range(10)])
    model.load_state_dict(torch.load(folder + "/model.pt"))
    if {slow}:
        model.register_forward_pre_hook(lambda module, args: time.sleep(0.05))
    data = torch.load(folder + "/data.pt")
    advcat.evaluate(model, (data["x"], data["y"]), out={out!r}, **{shared!r})
""")


def _script(folder: Path, out: Path, slow: bool) -> str:
    tests = str(ROOT / "tests")
    return SCRIPT.format(tests=tests, folder=str(folder), out=str(out), slow=slow, shared=SHARED)


def _same(a: Report, b: Report) -> None:
    assert a.to_dict(times=False) == b.to_dict(times=False)


class OutOfBall(Attack):
    """A broken attack: claims successes with perturbations four times larger than eps."""

    name = "out_of_ball"

    def run(self, model: nn.Module, x: torch.Tensor, goal: Goal) -> Result:
        wide = dataclasses.replace(goal, threat=make_threat("linf", 4 * float(self.eps)))
        return PGD(eps=4 * float(self.eps), steps=5).run(model, x, wide)


def test_index_keys_each_rows_randomness(setup):
    model, x, y = setup
    attack = PGD(eps=0.1, steps=2)
    full = attack(model, x[:12], y[:12], seed=3)
    rows = torch.tensor([2, 7, 11])
    part = attack(model, x[rows], y[rows], seed=3, index=rows)
    assert torch.equal(part.adv, full.adv[rows])
    assert not torch.equal(attack(model, x[rows], y[rows], seed=3).adv, full.adv[rows])


def test_cascade_counts_a_point_robust_only_if_every_attack_failed(setup):
    model, x, y = setup
    weak = ("pgd", {"steps": 2, "random_start": False})
    options = dict(eps=[0.1], n=24, batch_size=12, sanity=False, progress=False)
    alone = [advcat.evaluate(model, (x, y), attacks=[a], **options) for a in (weak, "fgsm")]
    liar = lambda eps: OutOfBall(eps=eps)  # noqa: E731 - an attack factory, as evaluate takes
    both = advcat.evaluate(model, (x, y), attacks=[liar, weak, "fgsm"], **options)
    flags = [r.robust(0.1) for r in alone]
    assert torch.equal(both.robust(0.1), flags[0] & flags[1])
    assert (~flags[0] & flags[1]).any() or (flags[0] & ~flags[1]).any()  # each attack adds breaks
    rows = {row["name"]: row for row in both.attacks[0]}
    assert rows["out_of_ball"]["broken"] == 0  # its successes lie outside the ball: not counted
    correct = int(torch.tensor(both.samples["clean"]).sum())
    assert rows["pgd"]["broken"] + rows["fgsm"]["broken"] == correct - int(both.robust(0.1).sum())
    assert both.robust_accuracy[0] == pytest.approx(float(both.robust(0.1).float().mean()))


class Quantize(nn.Module):
    """16 grey levels: the identity on the digits (multiples of 1/16), zero gradient everywhere."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x * 16) / 16


class Saturate(nn.Module):
    """A steep ramp between grey levels: binarizes the input, gradient zero outside [0.45, 0.49]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x - 0.45) / 0.04).clamp(0, 1)


@pytest.mark.parametrize("layer", [Quantize, Saturate])
def test_planted_gradient_masking_is_flagged_and_bpda_restores_robust_accuracy(setup, layer):
    model, x, y = setup
    attacks = ["apgd_ce", ("apgd_t", {"n_target_classes": 3, "steps": 50}), ("square", {"steps": 300})]
    options = dict(eps=[0.1], attacks=attacks, n=30, batch_size=30, sanity_points=15, progress=False)
    masked = advcat.evaluate(nn.Sequential(layer(), model), (x, y), **options)
    undone = advcat.evaluate(nn.Sequential(advcat.bpda(layer()), model), (x, y), **options)
    failed = {c["name"] for c in masked.checks if c["passed"] is False}
    assert {"gradients", "unbounded_attack", "gradient_free_stage"} <= failed
    assert undone.warnings == []
    assert all(c["passed"] for c in undone.checks if c["name"] != "deterministic" and c["passed"] is not None)
    # Through the masking layer the gradient attacks leave many points standing that Square breaks;
    # through BPDA they break at least as many as the gradient-free attack did on the masked model.
    gradient_only = masked.attacks[0][2]["standing"] / masked.n
    assert undone.robust_accuracy[0] <= masked.robust_accuracy[0] <= gradient_only - 0.1


def test_resume_after_sigkill_ends_with_the_same_report(shared, tmp_path):
    reference, folder = shared
    out = tmp_path / "run"
    script = tmp_path / "slow_run.py"
    script.write_text(_script(folder, out, slow=True))
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    batches = out / "batches"
    deadline = time.monotonic() + 120
    while len(list(batches.glob("*.json"))) < 2:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, "the run committed no batch in time"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    committed = {p.name: p.read_bytes() for p in batches.glob("*.json")}
    assert 2 <= len(committed) < 4  # killed part-way: some batches done, some not
    model, x, y = _load(folder)
    resumed = advcat.evaluate(model, (x, y), out=out, **SHARED)
    _same(resumed, reference)
    for name, content in committed.items():  # the committed batches were read, not recomputed
        assert (batches / name).read_bytes() == content
    assert len(list(batches.glob("*.json"))) == 4
    _same(Report.load(out), reference)


def test_two_gloo_processes_give_the_single_process_report(shared, tmp_path):
    reference, folder = shared
    script = tmp_path / "sharded.py"
    out = tmp_path / "sharded"
    script.write_text(_script(folder, out, slow=False))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               str(script)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    sharded = Report.load(out)
    assert sharded.world_size == 2
    _same(sharded, reference)
    assert len(list((out / "batches").glob("*.json"))) == 4


def _load(folder: Path):
    model = advcat.wrap(DigitsNet(), mean=[0.0], std=[1.0], name="digits", input_size=8,
                        classes=[str(i) for i in range(10)])
    model.load_state_dict(torch.load(folder / "model.pt"))
    data = torch.load(folder / "data.pt")
    return model, data["x"], data["y"]


def test_a_changed_config_is_refused(setup, tmp_path):
    model, x, y = setup
    options = dict(attacks=["fgsm"], n=8, batch_size=4, sanity=False, progress=False, out=tmp_path)
    first = advcat.evaluate(model, (x, y), eps=[0.1], **options)
    with pytest.raises(ValueError, match="different config.*eps"):
        advcat.evaluate(model, (x, y), eps=[0.2], **options)
    with pytest.raises(ValueError, match="different config.*seed"):
        advcat.evaluate(model, (x, y), eps=[0.1], seed=1, **options)
    again = advcat.evaluate(model, (x, y), eps=[0.1], **options)
    _same(again, first)
    fresh = advcat.evaluate(model, (x, y), eps=[0.2], resume=False, **options)
    assert fresh.eps == [0.2]


def test_report_formats_round_trip(shared, tmp_path):
    report, _ = shared
    loaded = Report.load(report.save(tmp_path / "r.json"))
    assert loaded.to_dict() == report.to_dict()
    assert loaded.robust(0.1).shape == (report.n,)
    assert report.robust_accuracy == [float(report.robust(e).float().mean()) for e in report.eps]
    data = json.loads((tmp_path / "r.json").read_text())
    assert {"config", "versions", "samples", "checks", "seconds"} <= set(data)
    assert data["config"]["seed"] == 0 and data["versions"]["torch"] == torch.__version__
    table = report.to_markdown()
    assert f"{100 * report.robust_accuracy[1]:.2f}%" in table and "apgd_ce broke" in table
    latex = report.to_latex()
    assert latex.count("\\\\") == 2 and "\\toprule" in latex and f"{100 * report.clean_accuracy:.2f}" in latex
    line = report.robustbench_line()
    assert line.startswith("| digits |") and "| Linf | 0.1 | 32 |" in line
    from advcat.viz.robustness import robustness_curve

    figure = robustness_curve([report, loaded], labels=["a", "b"])
    lines = figure.axes[0].get_lines()
    assert len(lines) == 2 and list(lines[0].get_xdata()) == [0.0, 0.05, 0.1]


def test_data_forms_and_unlabelled_images(setup):
    model, x, y = setup
    options = dict(eps=[0.1], attacks=["fgsm"], n=12, batch_size=6, sanity=False, progress=False)
    by_tensors = advcat.evaluate(model, (x, y), **options)
    by_dataset = advcat.evaluate(model, TensorDataset(x, y), **options)
    by_loader = advcat.evaluate(model, DataLoader(TensorDataset(x, y), batch_size=5), **options)
    for other in (by_dataset, by_loader):
        assert other.samples["broken_by"] == by_tensors.samples["broken_by"]
    with pytest.raises(ValueError, match="shuffle"):
        advcat.evaluate(model, DataLoader(TensorDataset(x, y), shuffle=True), **options)
    unlabelled = advcat.evaluate(model, x, **options)
    assert unlabelled.labels == "clean predictions" and unlabelled.clean_accuracy == 1.0
    assert "clean predictions" in unlabelled.summary()
    with torch.no_grad():
        assert unlabelled.samples["label"] == model(x[:12]).argmax(1).tolist()


def test_fashion_mnist_idx_files_evaluate(tmp_path):
    from advcat.data import fashion_mnist

    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (10, 28, 28), dtype=torch.uint8, generator=generator)
    labels = torch.arange(10, dtype=torch.uint8)
    for prefix in ("train", "t10k"):
        (tmp_path / f"{prefix}-images-idx3-ubyte").write_bytes(
            bytes([0, 0, 8, 3]) + (10).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
            + images.numpy().tobytes())
        (tmp_path / f"{prefix}-labels-idx1-ubyte").write_bytes(
            bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + labels.numpy().tobytes())
    data = fashion_mnist(tmp_path / "root", split="test", source=tmp_path)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    report = advcat.evaluate(net, data, eps=[0.1], attacks=["fgsm"], sanity=False, progress=False)
    assert report.n == 10 and report.config["data"]["name"] == "TensorImages"
    assert report.samples["label"] == list(range(10))


def test_errors_are_raised_before_any_work(setup):
    model, x, y = setup
    with pytest.raises(ValueError, match="eps"):
        advcat.evaluate(model, (x, y), eps=[-0.1])
    with pytest.raises(ValueError, match="n=100"):
        advcat.evaluate(model, (x, y), n=100)
    with pytest.raises(ValueError, match="unknown attack"):
        advcat.evaluate(model, (x, y), attacks=["nope"])
    with pytest.raises(TypeError, match="data"):
        advcat.evaluate(model, {"x": x})
    with pytest.raises(ValueError, match="unknown data set"):
        advcat.evaluate(model, "no_such_set")


def test_cli_evaluate_writes_the_same_report_as_the_api(setup, tmp_path, monkeypatch, capsys):
    from safetensors.torch import save_file

    from advcat.cli.main import main

    model, x, y = setup
    save_file({"x": x[:12].contiguous(), "y": y[:12].contiguous()}, str(tmp_path / "digits.safetensors"))
    monkeypatch.setattr(advcat, "load_model", lambda name, **kwargs: model)
    out = tmp_path / "cli"
    status = main(["evaluate", "--model", "digits", "--data", str(tmp_path / "digits.safetensors"),
                   "--eps", "1/20,0.1", "--attacks", "fgsm,pgd", "--batch-size", "6", "--out", str(out),
                   "--sanity-points", "4", "--no-progress"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "| digits |" in printed and "pgd broke" in printed
    assert (out / "robustness.png").is_file() and (out / "report.md").is_file()
    api = advcat.evaluate(model, (x[:12], y[:12]), eps=[0.05, 0.1], attacks=["fgsm", "pgd"], batch_size=6,
                          sanity_points=4, progress=False)
    cli = Report.load(out).to_dict(times=False)
    ours = api.to_dict(times=False)
    assert cli.pop("config")["data"]["name"] == "digits.safetensors"
    ours.pop("config")
    assert cli == ours
    assert main(["evaluate", "--data", "x", "--eps", "1/0"]) == 2
    assert "argument --eps: expected a finite number" in capsys.readouterr().err


def test_an_attack_object_runs_at_every_eps_and_robust_accuracy_never_rises(setup, tmp_path):
    """eps is given at call time, so one attack object serves the whole sweep; a point broken at a
    smaller eps stays broken at the larger ones (issue 15, item 3)."""
    model, x, y = setup
    report = advcat.evaluate(model, (x, y), eps=[0.2, 0.05, 0.1], attacks=[PGD(eps=0.1, steps=3)],
                             n=24, batch_size=12, sanity=False, out=tmp_path / "run", progress=False)
    robust = dict(zip(report.eps, report.robust_accuracy))
    assert robust[0.05] >= robust[0.1] >= robust[0.2]
    assert robust[0.05] > robust[0.2]
