"""GPU speed of advcat against the floor and torchattacks; fused step bandwidth; gpu tests.

Run on a CUDA machine: `python benchmarks/gpu.py` (fits in about 5 minutes on one GPU). Prints a
table and writes benchmarks/gpu-results.json. Random ResNet-50 weights are fine for speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

import advcat
from advcat import kernels
from advcat.kernels import reference

BATCH, STEPS, EPS = 256, 10, 4 / 255


def timed(fn: Callable[[], object], repeats: int = 3) -> float:
    fn()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    import torchvision

    device = torch.device("cuda")
    net = torchvision.models.resnet50(weights=None).to(device).eval()
    model = advcat.wrap(net)
    for p in model.parameters():
        p.requires_grad_(False)
    x = torch.rand(BATCH, 3, 224, 224, device=device)
    y = torch.randint(0, 1000, (BATCH,), device=device)
    rows: dict[str, float] = {}

    def floor() -> None:
        z = x.clone().requires_grad_(True)
        for _ in range(STEPS):
            loss = torch.nn.functional.cross_entropy(model(z), y)
            (grad,) = torch.autograd.grad(loss, z)
            z = (z + grad.sign() * 1e-3).detach().requires_grad_(True)

    rows["floor (10 x fwd+bwd, fp32)"] = timed(floor)
    rows["advcat PGD-10 fp32"] = timed(
        lambda: advcat.attack(model, x, y, method="pgd", eps=EPS, steps=STEPS))
    fast = kernels.accelerate(model, channels_last=True)
    rows["advcat PGD-10 bf16 channels_last"] = timed(
        lambda: advcat.optimize(fast, x, advcat.objectives.CrossEntropy(y),
                                threat=advcat.threats.Linf(EPS),
                                step=advcat.steps.Sign(2.5 * EPS / STEPS), steps=STEPS,
                                autocast="bf16"))
    try:
        import torchattacks

        attack = torchattacks.PGD(model, eps=EPS, alpha=2.5 * EPS / STEPS, steps=STEPS)
        rows["torchattacks PGD-10 fp32"] = timed(lambda: attack(x, y))
    except ImportError:
        pass
    print(f"{'run':40s} {'s':>8s} {'img/s':>8s} {'x floor':>8s}")
    for name, seconds in rows.items():
        ratio = seconds / rows["floor (10 x fwd+bwd, fp32)"]
        print(f"{name:40s} {seconds:8.3f} {BATCH / seconds:8.0f} {ratio:8.2f}")

    big = torch.rand(256, 3, 224, 224, device=device)
    grad = torch.randn_like(big)
    x0 = torch.rand_like(big)
    alpha, eps = torch.full((256,), 1e-3, device=device), torch.full((256,), EPS, device=device)
    advcat.set_kernels("triton")
    fused = timed(lambda: kernels.linf_step(big, grad, x0, alpha, eps), repeats=20)
    advcat.set_kernels("auto")
    unfused = timed(lambda: reference.linf_step(big, grad, x0, alpha, eps), repeats=20)
    moved = 4 * big.numel() * 4  # read x, grad, x0; write out (float32)
    peak = {"H200": 4.8e12, "H100": 3.35e12}
    name = torch.cuda.get_device_name()
    card_peak = next((v for k, v in peak.items() if k in name), float("nan"))
    print(f"\nfused Linf step 256x3x224x224: {moved / fused / 1e9:.0f} GB/s "
          f"({100 * moved / fused / card_peak:.0f}% of {card_peak / 1e12:.2f} TB/s); "
          f"unfused torch ops: {moved / unfused / 1e9:.0f} GB/s (effective)")
    results = {"device": name, "batch": BATCH, "steps": STEPS, "seconds": rows,
               "fused_gbps": moved / fused / 1e9, "unfused_gbps": moved / unfused / 1e9}
    Path(__file__).with_name("gpu-results.json").write_text(json.dumps(results, indent=2))
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "gpu",
                            str(Path(__file__).parents[1] / "tests")], check=False)
    print("gpu-marked tests:", "passed" if tests.returncode == 0 else "FAILED")


if __name__ == "__main__":
    main()
