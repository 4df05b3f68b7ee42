"""Issue 13, item 3: a save name with dots is kept whole, so `eps_0.5` and `eps_0.25` never collide.

Every saved kind (attack, synthesis and attribution results, checkpoints, gallery figures) goes
through one path helper; each is saved under dotted names with distinct contents and read back.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

import advcat  # noqa: E402
from advcat.attacks.result import AttackResult  # noqa: E402
from advcat.attribution.result import Attribution  # noqa: E402
from advcat.io_paths import saved_pair  # noqa: E402
from advcat.models import load_checkpoint, save_checkpoint  # noqa: E402
from advcat.synthesis.result import SynthesisResult  # noqa: E402
from advcat.viz.save import save_figure  # noqa: E402
from advcat.viz.saved import build_gallery, figure_for  # noqa: E402

NAMES = ("eps_0.5", "eps_0.25", "a.b.c", "run.v2.safetensors")
STEMS = {"eps_0.5": "eps_0.5", "eps_0.25": "eps_0.25", "a.b.c": "a.b.c", "run.v2.safetensors": "run.v2"}


def _attack(seed: int) -> AttackResult:
    g = torch.Generator().manual_seed(seed)
    adv = torch.rand(2, 3, 8, 8, generator=g)
    return AttackResult(adv=adv, x0=torch.full_like(adv, 0.5), success=torch.tensor([True, False]),
                        logits=torch.randn(2, 10, generator=g), labels=torch.tensor([1, 2]),
                        target=None, steps_taken=torch.tensor([3, 4]),
                        queries=torch.tensor([3, 4]), method="pgd", norm="linf", eps=seed / 255, seed=seed)


def _synthesis(seed: int) -> SynthesisResult:
    g = torch.Generator().manual_seed(seed)
    return SynthesisResult(images=torch.rand(1, 3, 8, 8, generator=g),
                           probs=torch.rand(1, 10, generator=g).softmax(1), targets=torch.tensor([seed]),
                           history=torch.rand(4, generator=g), objective=f"ClassLogit({seed})", seed=seed)


def _attribution(seed: int) -> Attribution:
    g = torch.Generator().manual_seed(seed)
    raw = torch.randn(1, 3, 8, 8, generator=g)
    return Attribution(raw=raw, map=raw.sum(1, keepdim=True), method="saliency",
                       target=torch.tensor([seed]), baseline="zeros", seed=seed)


@pytest.mark.parametrize("name", NAMES)
def test_the_pair_keeps_every_dot_but_advcats_own_suffixes(name: str, tmp_path: Path) -> None:
    tensors, meta = saved_pair(tmp_path / name)
    stem = STEMS[name]
    assert (tensors.name, meta.name) == (f"{stem}.safetensors", f"{stem}.json")
    assert saved_pair(tensors) == saved_pair(meta) == (tensors, meta)


@pytest.mark.parametrize(("make", "same"), [
    (_attack, lambda a, b: torch.equal(a.adv, b.adv) and a.eps == b.eps and a.seed == b.seed),
    (_synthesis, lambda a, b: torch.equal(a.images, b.images) and a.objective == b.objective),
    (_attribution, lambda a, b: torch.equal(a.raw, b.raw) and torch.equal(a.target, b.target)),
], ids=["attack", "synthesis", "attribution"])
def test_results_saved_under_dotted_names_round_trip_without_colliding(make, same, tmp_path: Path) -> None:  # noqa: ANN001
    results = {name: make(seed) for seed, name in enumerate(NAMES, start=1)}
    for name, result in results.items():
        result.save(tmp_path / name)
    assert len(list(tmp_path.iterdir())) == 2 * len(NAMES)
    for name, result in results.items():
        tensors, meta = saved_pair(tmp_path / name)
        for path in (tmp_path / name, tensors, meta):
            assert same(type(result).load(path), result), path


def _tiny_checkpointable(seed: int) -> advcat.PixelModel:
    torch.manual_seed(seed)
    return advcat.load_model("timm:test_efficientnet", weights=None)


def test_checkpoints_saved_under_dotted_names_round_trip_without_colliding(tmp_path: Path) -> None:
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    models = {name: _tiny_checkpointable(seed) for seed, name in enumerate(NAMES[:3])}
    written = {name: save_checkpoint(model, tmp_path / name) for name, model in models.items()}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{name}{suffix}" for name in NAMES[:3] for suffix in (".json", ".safetensors"))
    with torch.no_grad():
        for name, model in models.items():
            for path in (tmp_path / name, written[name]):
                assert torch.equal(load_checkpoint(path)(x), model(x)), path
            assert torch.equal(advcat.load_model(written[name])(x), model(x))


def test_figures_and_the_gallery_keep_dotted_names(tmp_path: Path) -> None:
    assert save_figure(Figure(), tmp_path / "eps_0.5") == [tmp_path / "eps_0.5.png"]
    assert save_figure(Figure(), tmp_path / "eps_0.25.png") == [tmp_path / "eps_0.25.png"]
    for seed, name in enumerate(("eps_0.5", "eps_0.25"), start=1):
        _attack(seed).save(tmp_path / "results" / name)
    _, _, caption = figure_for(tmp_path / "results" / "eps_0.25")
    assert "eps=0.007843" in caption
    index = build_gallery([tmp_path / "results" / "eps_0.5.json", tmp_path / "results" / "eps_0.25"],
                          tmp_path / "gallery")
    html = index.read_text()
    for figure in ("00_eps_0.5.png", "01_eps_0.25.png"):
        assert (tmp_path / "gallery" / figure).is_file() and figure in html
