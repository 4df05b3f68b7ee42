"""Attribution benchmark: the CPU time of every method on 8 labelled photos at 224 px, and how far a
PGD attack at 2/255 moves the integrated-gradients map (vs random noise of the same size).

Run: `.venv/bin/python benchmarks/attribution.py [--photos 8] [--write]`; `--write` replaces this
benchmark's section of benchmarks/RESULTS.md. Every method runs with its defaults (IG: 50 steps;
occlusion: 28 px window, stride 14; ablation: 16 px patches; SmoothGrad/VarGrad: 20 samples).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

import advcat
from advcat.attribution import Attribution, compare_maps, method_names
from advcat.data import imagenet_samples

sys.path.insert(0, str(Path(__file__).parent))
from results import cpu_name, write_section  # noqa: E402

TITLE = "## Attribution: method times and how far PGD moves the IG map (issue 5)"
EPS = 2 / 255



def pgd(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 10) -> torch.Tensor:
    """Untargeted L-inf PGD at 2/255: advcat.attack, or a plain loop if the attacks are missing."""
    try:
        return advcat.attack(model, x, y, method="pgd", norm="linf", eps=EPS, steps=steps).adv
    except (ImportError, AttributeError):
        adv = x.clone()
        for _ in range(steps):
            adv.requires_grad_(True)
            loss = F.cross_entropy(model(adv), y)
            (grad,) = torch.autograd.grad(loss, adv)
            adv = (adv.detach() + EPS / 4 * grad.sign()).clamp(x - EPS, x + EPS).clamp(0, 1)
        return adv.detach()


def time_methods(
    model: torch.nn.Module, x: torch.Tensor
) -> tuple[dict[str, dict[str, float]], Attribution]:
    """Wall time of each method on the photos (targets: the model's predictions), and the
    integrated-gradients result for reuse."""
    advcat.attribute(model, x[:1], method="saliency")  # warm-up: imports, thread pools
    rows: dict[str, dict[str, float]] = {}
    for name in method_names():
        start = time.perf_counter()
        result = advcat.attribute(model, x, method=name)
        seconds = time.perf_counter() - start
        rows[name] = {"seconds": seconds, "per_image": seconds / x.shape[0]}
        if result.delta is not None:
            rows[name]["mean_abs_delta"] = float(result.delta.abs().mean())
            ig = result
        print(f"{name:22s} {seconds:8.1f} s", flush=True)
    return rows, ig


def movement(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
             clean: Attribution) -> dict[str, Any]:
    """IG maps on PGD and random-sign-noise inputs, compared to the clean map `clean`."""
    adv = pgd(model, x, y)
    sign = torch.randint(0, 2, x.shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    noisy = (x + EPS * sign.to(x)).clamp(0, 1)
    with torch.no_grad():
        clean_pred, adv_pred = model(x).argmax(1), model(adv).argmax(1)
    maps = {"pgd": adv, "noise": noisy}
    out: dict[str, Any] = {
        "clean_accuracy": float((clean_pred == y).float().mean()),
        "pgd_accuracy": float((adv_pred == y).float().mean()),
    }
    for label, inputs in maps.items():
        moved = advcat.attribute(model, inputs, clean.target, method="ig")
        comparison = compare_maps(clean, moved, k=0.05)
        out[label] = {
            **comparison.summary(),
            "per_image": {
                "spearman": [round(float(v), 4) for v in comparison.spearman],
                "top_k": [round(float(v), 4) for v in comparison.top_k],
                "ssim": [round(float(v), 4) for v in comparison.ssim],
            },
        }
        print(label, comparison.summary(), flush=True)
    return out


def section(photos: int, times: dict[str, dict[str, float]], moved: dict[str, Any],
            load: tuple[float, float]) -> str:
    """This benchmark's RESULTS.md section."""
    lines = [
        TITLE,
        "",
        f"- command: `.venv/bin/python benchmarks/attribution.py --photos {photos} --write` "
        f"(foolbox's first {photos} labelled ImageNet photos, embedded EfficientNet-Lite0, 224 "
        "px, every method with its defaults, one run each after a warm-up)",
        f"- machine: {os.cpu_count()}-core x86 CPU, {cpu_name()}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; 1-min load average {load[0]:.1f} at the start and "
        f"{load[1]:.1f} at the end (the machine is shared, so times are upper bounds)",
        f"- date: {datetime.date.today().isoformat()}",
        "",
        f"| method | seconds for {photos} photos | seconds per photo |",
        "|---|---|---|",
    ]
    for name, row in times.items():
        lines.append(f"| {name} | {row['seconds']:.1f} | {row['per_image']:.2f} |")
    pgd_row, noise_row = moved["pgd"], moved["noise"]
    lines += [
        "",
        f"PGD (L-inf, eps 2/255, 10 steps) takes top-1 accuracy on these photos from "
        f"{moved['clean_accuracy']:.2f} to {moved['pgd_accuracy']:.2f}. Integrated-gradients maps "
        "(50 steps, black baseline, target = the clean prediction) compared with the clean map, "
        "on |attribution| summed over channels; top-k = 5% of the pixels:",
        "",
        "| input | Spearman (mean) | top-5% overlap (mean) | SSIM (mean) |",
        "|---|---|---|---|",
        f"| PGD 2/255 | {pgd_row['spearman']:.3f} | {pgd_row['top_k']:.3f} | "
        f"{pgd_row['ssim']:.3f} |",
        f"| random sign noise 2/255 (control) | {noise_row['spearman']:.3f} | "
        f"{noise_row['top_k']:.3f} | {noise_row['ssim']:.3f} |",
        "",
        "Per photo (PGD): Spearman "
        + ", ".join(f"{v:.2f}" for v in pgd_row["per_image"]["spearman"]) + ".",
        "",
    ]
    return "\n".join(lines)



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--json", default=None, help="also write the raw numbers here")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    model = advcat.load_model()
    x, y = imagenet_samples(model)
    x, y = x[:args.photos], y[:args.photos]
    start_load = os.getloadavg()[0]
    times, ig = time_methods(model, x)
    moved = movement(model, x, y, ig)
    text = section(args.photos, times, moved, (start_load, os.getloadavg()[0]))
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps({"times": times, "movement": moved}, indent=2))
    if args.write:
        write_section(TITLE, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
