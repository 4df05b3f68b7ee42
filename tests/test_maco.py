"""MACO: a fixed natural amplitude spectrum, phase-only optimization, per-sample seeded starts."""

from __future__ import annotations

import pytest
import torch
from digits import trained_digits_model

import advcat
from advcat.params import Maco
from advcat.params.maco import SPECTRUM_SIZE, load_spectrum, reflect

SHAPES = [(3, 13, 18), (3, 16, 16), (1, 8, 8)]  # odd and even sides, colour and luminance


def _init(param: Maco, shape: tuple[int, ...], index: list[int], seed: int = 0, restart: int = 0):
    return param.init(shape, torch.as_tensor(index), seed, restart, None)


def test_the_shipped_spectrum_loads_with_the_documented_shapes():
    spectra = load_spectrum()
    size = SPECTRUM_SIZE
    assert spectra["decorrelated"].shape == (3, size, size)
    assert spectra["luminance"].shape == (1, size, size)
    assert spectra["decorrelated_mean"].shape == (3,) and spectra["luminance_mean"].shape == (1,)
    for name in ("decorrelated", "luminance"):
        amplitude = spectra[name]
        assert bool(torch.isfinite(amplitude).all()) and float(amplitude.min()) > 0
        # a natural spectrum: low frequencies carry far more amplitude than high ones
        centre = size // 2
        assert float(amplitude[:, centre, centre + 2].min()) > 20 * float(amplitude[:, centre, 0].max())


@pytest.mark.parametrize("shape", SHAPES)
def test_images_are_in_the_unit_box_and_the_signal_has_exactly_the_fixed_amplitude(shape):
    param = Maco()
    z = _init(param, shape, [0, 1, 2])
    wild = z + 50 * torch.randn_like(z)  # any phase, as after many optimizer steps
    for variable in (z, wild):
        image = param.to_image(variable)
        assert image.shape == (3, *shape)
        assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
        amplitude = torch.fft.fft2(param.signal(variable), norm="ortho").abs()
        magnitude = param.magnitude(*shape)
        assert torch.allclose(amplitude, magnitude.expand_as(amplitude), rtol=1e-4, atol=1e-5)


def test_the_magnitude_at_the_shipped_size_is_the_shipped_spectrum():
    shipped = torch.fft.ifftshift(load_spectrum()["decorrelated"], dim=(-2, -1))
    # float16 storage: the zero frequency is recomputed from the stored mean, within its precision
    assert torch.allclose(Maco().magnitude(3, SPECTRUM_SIZE, SPECTRUM_SIZE), shipped, rtol=1e-3)


def test_the_phase_is_the_only_thing_an_optimizer_changes():
    param = Maco()
    z = _init(param, (3, 16, 16), [0]).requires_grad_(True)
    param.to_image(z)[:, 0, 3:9, 4:7].mean().backward()
    assert z.grad is not None and bool(torch.isfinite(z.grad).all()) and float(z.grad.abs().sum()) > 0
    stepped = (z - 0.5 * z.grad).detach()
    before = torch.fft.fft2(param.signal(z.detach()), norm="ortho")
    after = torch.fft.fft2(param.signal(stepped), norm="ortho")
    assert torch.allclose(after.abs(), before.abs(), rtol=1e-4, atol=1e-5)
    assert not torch.allclose(after.angle(), before.angle(), atol=1e-2)


def test_the_starting_phase_is_uniform_so_no_pixel_stands_out():
    # an odd part built as a difference of two uniform draws piles phases near 0, and every
    # frequency then adds up at the corner pixel
    param = Maco()
    z = _init(param, (3, 64, 64), list(range(8)))
    phase = 0.5 * (z - reflect(z))
    assert float(phase.cos().mean().abs()) < 0.05
    signal = param.signal(z)
    corner = (signal[:, :, 0, 0] - signal.mean((2, 3))).abs()
    assert float(corner.max()) < 5 * float(signal.std((2, 3)).max())


def test_a_sample_start_depends_on_its_seed_and_index_not_its_batch():
    param = Maco()
    batch = param.to_image(_init(param, (3, 13, 18), [0, 1, 2], seed=3))
    alone = param.to_image(_init(param, (3, 13, 18), [2], seed=3))
    assert torch.allclose(batch[2], alone[0], atol=1e-6)
    assert not torch.allclose(batch[0], batch[1])
    assert not torch.allclose(batch, param.to_image(_init(param, (3, 13, 18), [0, 1, 2], seed=4)))
    assert not torch.allclose(batch, param.to_image(_init(param, (3, 13, 18), [0, 1, 2], seed=3,
                                                               restart=1)))


def test_an_image_synthesized_in_a_batch_equals_the_one_made_alone(tiny_cnn):
    kwargs = dict(param=Maco(), steps=5, size=16, progress=False, transforms=None, seed=0)
    batched = advcat.synthesize(tiny_cnn, [3, 5, 7], **kwargs)
    one_at_a_time = advcat.synthesize(tiny_cnn, [3, 5, 7], batch_size=1, **kwargs)
    assert torch.allclose(batched.images, one_at_a_time.images, atol=1e-5)


def test_maco_cannot_start_from_a_photo(tiny_cnn):
    photo = torch.rand(1, 3, 16, 16)
    with pytest.raises(ValueError, match="cannot start from a photo"):
        advcat.synthesize(tiny_cnn, 3, param=Maco(), steps=1, image=photo, progress=False)


def test_phase_only_synthesis_raises_the_target_probability():
    model = trained_digits_model()  # wrapped with one mean: a 1-channel model
    assert model.info.in_channels == 1
    targets = [3, 2, 6]  # each far from what its random start shows (9, 8, 9)
    param = Maco()
    start = param.to_image(param.init((1, 8, 8), torch.arange(3), 0, 0, None))
    with torch.no_grad():
        before = model(start).softmax(1)[torch.arange(3), torch.tensor(targets)]
    by_name = advcat.synthesize(model, targets[:1], param="maco", steps=2, progress=False, seed=0)
    assert "Maco" in by_name.config["param"]
    result = advcat.synthesize(model, targets, param=param, steps=20, lr=0.1, progress=False,
                               transforms=None, seed=0)
    after = result.probs[torch.arange(3), result.targets]
    assert result.images.shape == (3, 1, 8, 8)
    assert bool((after > before + 0.3).all()), (before, after)


def test_unknown_shapes_are_refused_with_the_shape_named():
    with pytest.raises(ValueError, match=r"\(n, C, H, W\)"):
        Maco().to_image(torch.zeros(2, 3, 8))
