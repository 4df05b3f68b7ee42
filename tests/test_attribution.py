"""Attribution: advcat's maps equal direct Captum calls on an equivalent clean model, the user's
model is never changed, and the comparisons, sanity checks, overlays and CLI behave."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from captum.attr import (
    DeepLift,
    FeatureAblation,
    GradientShap,
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from matplotlib.figure import Figure
from scipy.stats import spearmanr
from torch import nn

import advcat
from advcat.attribution import (
    Attribution,
    cascading_randomization,
    compare_attributions,
    compare_maps,
    completeness,
    infidelity,
    overlay,
    overlay_pair,
    sensitivity,
    spearman,
    top_k_overlap,
)
from advcat.core.rng import derive_seed

CLASSES = ["cat", "dog", "fox", "owl", "eel"]


class TwoReLUClamp(nn.Module):
    """ReLU6 written with two plain ReLUs, the form DeepLift's rescale rule handles.

    Each ReLU gets a tensor of its own (`x + 0`): Captum's DeepLift multipliers are wrong when a
    nonlinearity's input tensor is also used elsewhere.
    """

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.ReLU(), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a(x + 0.0) - self.b(x - 6.0)


class CappedReLU(nn.ReLU):
    """A ReLU6 that guided backprop's ReLU hook sees."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.hardtanh(x, 0.0, 6.0)


def _net(act1: nn.Module, act2: nn.Module) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), act1, nn.Conv2d(8, 8, 3, padding=1), act2,
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5),
    )


@pytest.fixture
def user_model() -> advcat.PixelModel:
    """The user's CNN: in-place ReLU and in-place ReLU6, weights large enough to saturate ReLU6."""
    torch.manual_seed(0)
    net = _net(nn.ReLU(inplace=True), nn.ReLU6(inplace=True))
    with torch.no_grad():
        net[0].weight.mul_(6)
        net[2].weight.mul_(4)
    return advcat.wrap(net, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), input_size=16,
                       classes=CLASSES)


def twin(model: advcat.PixelModel, act2: nn.Module) -> advcat.PixelModel:
    """A clean equivalent of `model`: same weights, no in-place ops, ReLU6 as `act2`."""
    net = _net(nn.ReLU(), act2)
    net.load_state_dict(model.net.state_dict())
    return advcat.wrap(net, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), input_size=16,
                       classes=CLASSES).eval()


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(1))


def _grad_input(x: torch.Tensor) -> torch.Tensor:
    return x.clone().requires_grad_()


def _seeded(index: int) -> None:
    seed = derive_seed(0, index)
    torch.random.default_generator.manual_seed(seed)
    np.random.seed(seed % 2**32)


def _per_sample(run, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A stochastic Captum call made one sample at a time, seeded as advcat documents."""
    maps = []
    for i in range(x.shape[0]):
        _seeded(i)
        maps.append(run(_grad_input(x[i:i + 1]), t[i:i + 1]))
    return torch.cat(maps)


def captum_reference(name: str, model: advcat.PixelModel, x: torch.Tensor, t: torch.Tensor):
    """The direct Captum call for each method, on a clean twin of `model` (written out by hand)."""
    plain = twin(model, nn.ReLU6())
    zeros = torch.zeros_like(x)
    if name == "saliency":
        return Saliency(plain).attribute(_grad_input(x), target=t, abs=True)
    if name == "input_x_gradient":
        return InputXGradient(plain).attribute(_grad_input(x), target=t)
    if name == "integrated_gradients":
        return IntegratedGradients(plain).attribute(
            _grad_input(x), baselines=zeros, target=t, n_steps=50, method="gausslegendre",
            internal_batch_size=64, return_convergence_delta=True)
    if name == "gradient_shap":
        return _per_sample(lambda xi, ti: GradientShap(plain).attribute(
            xi, baselines=zeros[:1], target=ti, n_samples=5, stdevs=0.0), x, t)
    if name == "deeplift":
        return DeepLift(twin(model, TwoReLUClamp())).attribute(_grad_input(x), baselines=zeros,
                                                               target=t)
    if name == "guided_backprop":
        return GuidedBackprop(twin(model, CappedReLU())).attribute(_grad_input(x), target=t)
    if name == "occlusion":
        return Occlusion(plain).attribute(x, sliding_window_shapes=(3, 4, 4), strides=(3, 2, 2),
                                          baselines=zeros, target=t)
    if name == "feature_ablation":
        grid = torch.arange(16) // 4
        mask = (grid[:, None] * 4 + grid[None, :]).view(1, 1, 16, 16)
        return FeatureAblation(plain).attribute(x, baselines=zeros, target=t, feature_mask=mask)
    if name == "gradcam":
        cam = LayerGradCam(plain, plain.net[3]).attribute(_grad_input(x), target=t,
                                                          relu_attributions=True)
        return LayerAttribution.interpolate(cam, (16, 16), "bilinear")
    if name == "guided_gradcam":
        guided = twin(model, CappedReLU())
        return GuidedGradCam(guided, guided.net[3]).attribute(_grad_input(x), target=t)
    if name in ("smoothgrad", "vargrad"):
        return _per_sample(lambda xi, ti: NoiseTunnel(Saliency(plain)).attribute(
            xi, nt_type=name, nt_samples=20, stdevs=0.15, target=ti, abs=False), x, t)
    raise AssertionError(name)


OPTIONS = {"occlusion": {"window": 4, "stride": 2}, "feature_ablation": {"patch": 4}}
# Fewer steps and noise samples where a test is about plumbing, not about the method's defaults.
LIGHT = {**OPTIONS, "integrated_gradients": {"n_steps": 8}, "smoothgrad": {"nt_samples": 6},
         "vargrad": {"nt_samples": 6}}


def test_twin_is_equivalent_and_relu6_saturates(user_model, images):
    with torch.no_grad():
        hidden = user_model.net[:3]((images - 0.5) / 0.25)
        for act in (nn.ReLU6(), TwoReLUClamp(), CappedReLU()):
            torch.testing.assert_close(twin(user_model, act)(images), user_model(images))
    assert (hidden > 6).float().mean() > 0.05 and (hidden < 0).float().mean() > 0.05


@pytest.mark.parametrize("name", advcat.attribution.method_names())
def test_map_equals_direct_captum_call(user_model, images, name):
    t = torch.tensor([0, 3, 1])
    result = advcat.attribute(user_model, images, t, method=name, **OPTIONS.get(name, {}))
    expected = captum_reference(name, user_model, images, t)
    if name == "integrated_gradients":
        expected, delta = expected
        torch.testing.assert_close(result.delta, delta, rtol=1e-4, atol=1e-6)
    else:
        assert result.delta is None
    torch.testing.assert_close(result.raw, expected.detach(), rtol=1e-4, atol=1e-7)
    channels = 1 if name == "gradcam" else 3
    assert result.raw.shape == (3, channels, 16, 16)
    assert result.map.shape == (3, 1, 16, 16)
    torch.testing.assert_close(result.map, result.raw.sum(1, keepdim=True))
    assert result.method == name and torch.equal(result.target, t)


@pytest.mark.parametrize("name", ["deeplift", "guided_backprop"])
def test_preparation_changes_what_captum_computes(user_model, images, name):
    """On the raw in-place ReLU6 model Captum's rule gives another (wrong) answer."""
    t = torch.tensor([0, 3, 1])
    ours = advcat.attribute(user_model, images, t, method=name).raw
    if name == "deeplift":
        raw = DeepLift(user_model).attribute(_grad_input(images), baselines=0.0, target=t)
    else:
        raw = GuidedBackprop(user_model).attribute(_grad_input(images), target=t)
    assert (ours - raw).abs().max() > 0.1 * ours.abs().max()


def _chelsea(model):
    return advcat.load_image("chelsea", model)


@pytest.mark.slow
def test_embedded_model_matches_captum(default_model):
    x = _chelsea(default_model)
    t = torch.tensor([281])
    sal = advcat.attribute(default_model, x, t, method="saliency")
    torch.testing.assert_close(sal.raw, Saliency(default_model).attribute(_grad_input(x), target=t))
    ig = advcat.attribute(default_model, x, t, method="ig", n_steps=3)
    # advcat bounds memory through Captum's internal_batch_size (64 rows by default); the
    # batched and unbatched paths of Captum round differently through the ReLU6 kinks.
    ref, delta = IntegratedGradients(default_model).attribute(
        _grad_input(x), baselines=torch.zeros_like(x), target=t, n_steps=3,
        internal_batch_size=64, return_convergence_delta=True)
    torch.testing.assert_close(ig.raw, ref, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(ig.delta, delta, rtol=1e-4, atol=1e-5)
    cam = advcat.attribute(default_model, x, t, method="gradcam")
    assert cam.layer == "bn2"
    expected = LayerGradCam(default_model, default_model.net.bn2).attribute(
        _grad_input(x), target=t, relu_attributions=True)
    expected = LayerAttribution.interpolate(expected, (224, 224), "bilinear")
    torch.testing.assert_close(cam.raw, expected, rtol=1e-4, atol=1e-7)
    assert cam.raw.shape == (1, 1, 224, 224)


@pytest.mark.slow
def test_guided_backprop_differs_from_saliency_on_embedded_model(default_model):
    x = _chelsea(default_model)
    guided = advcat.attribute(default_model, x, method="guided_backprop").raw.flatten()
    gradient = advcat.attribute(default_model, x, method="saliency", abs=False).raw.flatten()
    correlation = torch.corrcoef(torch.stack([guided, gradient]))[0, 1]
    assert abs(float(correlation)) < 0.5


def test_targets_by_index_name_list_tensor_and_prediction(user_model, images):
    by_index = advcat.attribute(user_model, images, 2, method="saliency")
    by_name = advcat.attribute(user_model, images, "fox", method="saliency")
    torch.testing.assert_close(by_index.raw, by_name.raw)
    assert by_name.target.tolist() == [2, 2, 2]
    listed = advcat.attribute(user_model, images, ["eel", 0, "owl"], method="saliency")
    assert listed.target.tolist() == [4, 0, 3]
    predicted = advcat.attribute(user_model, images, method="saliency")
    with torch.no_grad():
        assert torch.equal(predicted.target, user_model(images).argmax(1))


@pytest.mark.parametrize("name", ["integrated_gradients", "occlusion", "deeplift", "smoothgrad",
                                  "gradcam", "feature_ablation", "guided_backprop"])
def test_bounded_batches_equal_unbounded_and_bound_rows(user_model, name):
    x = torch.rand(5, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    seen: list[int] = []

    def count_rows(_module: nn.Module, args: tuple) -> None:
        while isinstance(args, (tuple, list)):  # DeepLift nests its inputs
            args = args[0]
        seen.append(args.shape[0])

    handle = user_model.register_forward_pre_hook(count_rows)
    try:
        bounded = advcat.attribute(user_model, x, method=name, batch_size=3,
                                   **LIGHT.get(name, {}))
    finally:
        handle.remove()
    unbounded = advcat.attribute(user_model, x, method=name, batch_size=10_000,
                                 **LIGHT.get(name, {}))
    torch.testing.assert_close(bounded.raw, unbounded.raw, rtol=1e-4, atol=1e-8)
    assert seen and max(seen) <= 3  # prepared copies carry the hook along


def _snapshot(model: nn.Module):
    return {
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "modes": [m.training for m in model.modules()],
        "grads": [p.requires_grad for p in model.parameters()],
        "types": [(n, type(m)) for n, m in model.named_modules()],
        "inplace": [getattr(m, "inplace", None) for m in model.modules()],
        "hooks": sum(len(m._forward_hooks) + len(m._backward_hooks) + len(m._forward_pre_hooks)
                     for m in model.modules()),
    }


def test_model_is_unchanged(user_model, images):
    user_model.train()
    user_model.net[0].weight.requires_grad_(True)
    user_model.net[2].weight.requires_grad_(False)
    before = _snapshot(user_model)
    for name in advcat.attribution.method_names():
        advcat.attribute(user_model, images, method=name, **LIGHT.get(name, {}))
    cascading_randomization(user_model, images, method="saliency")
    after = _snapshot(user_model)
    for key in ("modes", "grads", "types", "inplace", "hooks"):
        assert before[key] == after[key], key
    for key, value in before["state"].items():
        assert torch.equal(value, after["state"][key]), key


def _smooth_model() -> advcat.PixelModel:
    torch.manual_seed(3)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.Softplus(), nn.Conv2d(6, 6, 3),
                        nn.Tanh(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4))
    return advcat.wrap(net, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), input_size=12)


def test_integrated_gradients_completeness_on_smooth_model():
    model = _smooth_model()
    x = torch.rand(4, 3, 12, 12, generator=torch.Generator().manual_seed(4))
    result = completeness(model, x, n_steps=64, baseline="grey")
    with torch.no_grad():
        logits = model(x)
        target = logits.argmax(1)
        gap = logits.gather(1, target[:, None])[:, 0] - model(torch.full_like(x, 0.5))[0, target]
    torch.testing.assert_close(result.gap, gap)
    assert gap.abs().min() > 1e-3
    assert float(result.relative.max()) < 1e-3
    torch.testing.assert_close(result.error, (result.total - gap).abs())


def test_randomization_changes_gradient_maps(user_model, images):
    for name in ("saliency", "integrated_gradients"):
        options = {"n_steps": 8} if name == "integrated_gradients" else {}
        check = cascading_randomization(user_model, images, method=name, **options)
        assert check.layers == ["6", "2", "0"]
        assert check.spearman.shape == (3, 3) and check.ssim.shape == (3, 3)
        assert float(check.spearman[-1].mean()) < 0.6, name
    same = advcat.attribute(user_model, images, method="saliency")
    again = advcat.attribute(user_model, images, method="saliency")
    assert torch.allclose(spearman(same.heat(), again.heat()), torch.ones(3))


def test_bad_arguments_get_clear_errors(user_model, images):
    with pytest.raises(ValueError, match="unknown attribution method 'igg'.*'ig'"):
        advcat.attribute(user_model, images, method="igg")
    with pytest.raises(ValueError, match="no layer named 'conv9'"):
        advcat.attribute(user_model, images, method="gradcam", layer="conv9")
    with pytest.raises(ValueError, match=r"target must have shape \(3,\)"):
        advcat.attribute(user_model, images, torch.tensor([0, 1]), method="saliency")
    with pytest.raises(ValueError, match="out of range"):
        advcat.attribute(user_model, images, 7, method="saliency")
    with pytest.raises(ValueError, match="unknown class name"):
        advcat.attribute(user_model, images, "zebra", method="saliency")
    with pytest.raises(ValueError, match="takes no layer"):
        advcat.attribute(user_model, images, method="saliency", layer="0")
    with pytest.raises(ValueError, match="takes no baseline"):
        advcat.attribute(user_model, images, method="saliency", baseline="white")
    with pytest.raises(ValueError, match="takes no option 'steps'"):
        advcat.attribute(user_model, images, method="ig", steps=5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        advcat.attribute(user_model, images * 255, method="saliency")
    with pytest.raises(ValueError, match="batch_size"):
        advcat.attribute(user_model, images, method="saliency", batch_size=0)


def test_baselines_are_pixels_and_stated(user_model, images):
    white = advcat.attribute(user_model, images, method="ig", baseline="white", n_steps=8,
                             integration="riemann_trapezoid")
    assert white.baseline == "white (1)"
    expected = IntegratedGradients(twin(user_model, nn.ReLU6())).attribute(
        _grad_input(images), baselines=torch.ones_like(images), target=white.target, n_steps=8,
        method="riemann_trapezoid")
    torch.testing.assert_close(white.raw, expected, rtol=1e-4, atol=1e-7)
    blurred = advcat.attribute(user_model, images, method="occlusion", baseline="blur", window=8)
    assert blurred.baseline.startswith("blur")
    with pytest.raises(ValueError, match="pixel value"):
        advcat.attribute(user_model, images, method="ig", baseline=-1.0)


def test_save_and_load_round_trip(user_model, images, tmp_path):
    result = advcat.attribute(user_model, images, "dog", method="ig", n_steps=8)
    result.save(tmp_path / "ig")
    loaded = Attribution.load(tmp_path / "ig.json")
    for field in ("raw", "map", "target", "delta"):
        assert torch.equal(getattr(loaded, field), getattr(result, field))
    assert (loaded.method, loaded.baseline, loaded.options, loaded.seed) == (
        "integrated_gradients", "black (0)", {"n_steps": 8, "integration": "gausslegendre"}, 0)


def _fgsm(model: nn.Module, x: torch.Tensor, eps: float) -> torch.Tensor:
    """A one-step attack written here, so the comparison tests need no attack engine."""
    x = x.clone().requires_grad_()
    logits = model(x)
    F.cross_entropy(logits, logits.argmax(1)).backward()
    return (x + eps * x.grad.sign()).clamp(0, 1).detach()


def test_compare_attributions(user_model, images):
    same = compare_attributions(user_model, images, images, method="saliency")
    torch.testing.assert_close(same.spearman, torch.ones(3))
    torch.testing.assert_close(same.top_k, torch.ones(3))
    torch.testing.assert_close(same.ssim, torch.ones(3))
    adv = _fgsm(user_model, images, 0.1)
    moved = compare_attributions(user_model, images, adv, method="saliency", k=20)
    assert moved.k == 20 and float(moved.spearman.mean()) < 0.99
    assert torch.equal(moved.adv.target, moved.clean.target)
    clean, shifted = moved.clean.heat(), moved.adv.heat()
    for i in range(3):
        rho = spearmanr(clean[i].flatten().numpy(), shifted[i].flatten().numpy()).statistic
        assert abs(float(moved.spearman[i]) - rho) < 1e-5
        top_a = set(clean[i].flatten().topk(20).indices.tolist())
        top_b = set(shifted[i].flatten().topk(20).indices.tolist())
        assert float(moved.top_k[i]) == pytest.approx(len(top_a & top_b) / 20)


def test_spearman_handles_ties_like_scipy():
    a = torch.tensor([[0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 5.0, 0.0]])
    b = torch.tensor([[1.0, 0.0, 1.0, 3.0, 2.0, 2.0, 0.0, 0.0]])
    assert float(spearman(a, b)[0]) == pytest.approx(spearmanr(a[0], b[0]).statistic, abs=1e-6)
    assert float(top_k_overlap(a, a, k=3)[0]) == 1.0
    assert float(compare_maps(a.view(1, 1, 2, 4), a.view(1, 1, 2, 4)).spearman[0]) == 1.0


def test_infidelity_and_sensitivity(user_model, images):
    ig = advcat.attribute(user_model, images, method="ig", n_steps=16)
    noise = Attribution(torch.randn_like(ig.raw), ig.map, "noise", ig.target, "none")
    faithful = infidelity(user_model, images, ig, normalize=True, n_samples=32)
    random = infidelity(user_model, images, noise, normalize=True, n_samples=32)
    assert faithful.shape == (3,) and bool((faithful < random).all())
    torch.testing.assert_close(faithful, infidelity(user_model, images, ig, normalize=True,
                                                    n_samples=32))
    linear = advcat.wrap(nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 5)), input_size=16)
    flat = sensitivity(linear, images, method="saliency", abs=False)
    assert flat.shape == (3,) and float(flat.abs().max()) < 1e-6
    assert float(sensitivity(user_model, images, method="saliency").min()) > 0


def test_overlays_are_figures_with_colour_bars(user_model, images, tmp_path):
    result = advcat.attribute(user_model, images, method="saliency")
    single = overlay(images, result, index=1)
    assert isinstance(single, Figure) and len(single.axes) == 2
    adv = _fgsm(user_model, images, 0.05)
    moved = advcat.attribute(user_model, adv, result.target, method="saliency")
    pair = overlay_pair(images, adv, result, moved, absolute=False)
    assert len(pair.axes) == 3
    limits = [ax.images[1].get_clim() for ax in pair.axes[:2]]
    assert limits[0] == limits[1] and limits[0][0] == -limits[0][1]
    pair.savefig(tmp_path / "pair.png")
    assert (tmp_path / "pair.png").stat().st_size > 1000


@pytest.mark.slow
def test_cli_writes_map_and_overlay(tmp_path, capsys):
    from advcat.cli.main import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status = main(["attribute", "chelsea", "--method", "gradcam", "--out", str(tmp_path)])
    assert status == 0
    for name in ("chelsea_gradcam_map.png", "chelsea_gradcam_overlay.png",
                 "gradcam.safetensors", "gradcam.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert "gradcam for" in capsys.readouterr().out
    assert main(["attribute", "chelsea", "--method", "nope", "--out", str(tmp_path)]) == 2


@pytest.mark.gpu
def test_maps_on_cuda_match_cpu(user_model, images):
    model = user_model.cuda()
    for name in ("saliency", "integrated_gradients", "deeplift", "guided_backprop", "gradcam"):
        on_gpu = advcat.attribute(model, images.cuda(), method=name, **LIGHT.get(name, {}))
        assert on_gpu.raw.device.type == "cuda"
        on_cpu = advcat.attribute(model.cpu(), images, method=name, **LIGHT.get(name, {}))
        model.cuda()
        torch.testing.assert_close(on_gpu.raw.cpu(), on_cpu.raw, rtol=1e-3, atol=1e-5)
    assert next(model.parameters()).device.type == "cuda"
