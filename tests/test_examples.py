"""Every script in examples/ runs with --quick, as a user would start it, and writes what it promises.

Each example runs in a subprocess with one thread: on a shared 2-core machine two OpenMP threads per
process spin against each other and run many times slower.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from PIL import Image

import advcat

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_example(name: str, out: Path, *extra: str) -> str:
    """Run examples/NAME.py --quick --out OUT; fail with its output if it exits non-zero."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--quick", "--out", str(out), *extra],
        cwd=out.parent, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def test_every_example_is_tested() -> None:
    tested = {"dog_to_cat", "ideal_cat_and_zebra", "transfer_learning", "robustness_benchmark"}
    scripts = {p.stem for p in EXAMPLES.glob("*.py") if p.stem != "common"}
    assert scripts == tested


def test_dog_to_cat(tmp_path: Path) -> None:
    out = tmp_path / "d2c"
    run_example("dog_to_cat", out)
    found = summary(out)
    for name in ("pgd", "mifgsm_ensemble"):
        row = found[name]
        assert max(row["linf"]) <= found["eps"] + 1e-6
        assert 0.0 <= row["victim_hits_target"] <= 1.0
        assert len(row["victim_top1"]) == len(found["images"]) == 2
        assert (out / f"{name}.json").is_file() and (out / f"{name}_dog0.png").is_file()
    assert (out / "pgd_panel.png").stat().st_size > 10_000


def test_ideal_cat_and_zebra(tmp_path: Path) -> None:
    out = tmp_path / "ideal"
    run_example("ideal_cat_and_zebra", out)
    recipes = summary(out)["recipes"]
    assert set(recipes) == {"plain", "pixel + TV", "default"}
    for row in recipes.values():
        assert set(row["p_target"]) == set(row["p_target_second_model"]) == {"tabby", "zebra"}
        assert all(0.0 <= p <= 1.0 for p in row["p_target"].values())
    with Image.open(out / "ideal_zebra.png") as image:
        assert image.size == (64, 64)
    assert (out / "ideal_images.pdf").is_file()


def _jpeg(colour: tuple[int, int, int], seed: int) -> bytes:
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randint(-20, 21, (40, 48, 3), generator=generator)
    pixels = (torch.tensor(colour) + noise).clamp(0, 255).to(torch.uint8).numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG")
    return buffer.getvalue()


def _pet_images(root: Path) -> Path:
    """A tiny PetImages tree (Cat/, Dog/) with a corrupt JPEG, as Microsoft's set has."""
    for label, colour in (("Cat", (200, 120, 60)), ("Dog", (60, 90, 200))):
        (root / "PetImages" / label).mkdir(parents=True)
        for i in range(12):
            (root / "PetImages" / label / f"{i}.jpg").write_bytes(_jpeg(colour, i))
    (root / "PetImages" / "Cat" / "666.jpg").write_bytes(b"\xff\xd8\xff broken")
    return root / "PetImages"


def _oxford_pets(root: Path) -> Path:
    """A tiny oxford-iiit-pet tree: 2 breeds, trainval and test split files as Oxford writes them."""
    base = root / "oxford-iiit-pet"
    (base / "annotations").mkdir(parents=True)
    (base / "images").mkdir()
    lines: dict[str, list[str]] = {"trainval": [], "test": []}
    for prefix, label, species, colour in (("Abyssinian", 1, 1, (200, 120, 60)),
                                           ("beagle", 11, 2, (60, 90, 200))):
        for i in range(1, 11):
            (base / "images" / f"{prefix}_{i}.jpg").write_bytes(_jpeg(colour, i))
            lines["test" if i > 7 else "trainval"].append(f"{prefix}_{i} {label} {species} 1")
    for split, rows in lines.items():
        (base / "annotations" / f"{split}.txt").write_text("\n".join(rows) + "\n")
    return root


def test_transfer_learning_with_and_without_the_optional_data(tmp_path: Path) -> None:
    out = tmp_path / "tl"
    printed = run_example("transfer_learning", out, "--cats-dogs", str(_pet_images(tmp_path / "cd")),
                          "--pets", str(_oxford_pets(tmp_path / "pets")))
    found = summary(out)
    for name in ("fashion_mnist", "cats_vs_dogs", "oxford_pets"):
        for strategy in ("linear", "partial"):
            assert 0.0 <= found[name][strategy]["top1"] <= 1.0
            assert (out / f"{name}_{strategy}_curves.png").is_file()
        attack = found[name]["attack"]
        assert attack["robust_accuracy"] <= attack["clean_accuracy"]
    assert found["cats_vs_dogs"]["n_train"] + found["cats_vs_dogs"]["n_test"] == 24  # corrupt one skipped
    assert "skipped" not in printed
    model = advcat.load_model(out / "fashion_mnist_linear")
    assert model.info.classes is not None and len(model.info.classes) == 10


def test_transfer_learning_says_why_it_skips_missing_data(tmp_path: Path) -> None:
    out = tmp_path / "tl"
    printed = run_example("transfer_learning", out, "--cats-dogs", str(tmp_path / "nowhere"))
    assert f"cats vs dogs: skipped (no folder at {tmp_path / 'nowhere'})" in printed
    assert "Oxford-IIIT Pet: skipped (no folder given)" in printed
    assert set(summary(out)) >= {"fashion_mnist"} and "cats_vs_dogs" not in summary(out)


def test_robustness_benchmark(tmp_path: Path) -> None:
    out = tmp_path / "rb"
    printed = run_example("robustness_benchmark", out)
    found = summary(out)
    cascade, pgd = found["robust_accuracy"]["cascade"], found["robust_accuracy"]["pgd alone"]
    assert len(cascade) == len(pgd) == len(found["eps"]) == 1
    assert cascade[0] <= found["clean_accuracy"] and pgd[0] <= found["clean_accuracy"]
    assert (out / "cascade" / "report.json").is_file() and (out / "robustness_curve.pdf").is_file()
    assert "| eps | robust accuracy |" in printed
