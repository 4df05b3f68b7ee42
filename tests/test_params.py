"""Image parameterizations: shapes, ranges, seeded per-sample starts, exact starts from a photo."""

from __future__ import annotations

import pytest
import torch

from advcat.params import Decorrelated, Fourier, Pixel, correlate, decorrelate, frequency_scale

PARAMS = {
    "pixel-sigmoid": lambda: Pixel("sigmoid"),
    "pixel-clamp": lambda: Pixel("clamp"),
    "decorrelated": Decorrelated,
    "fourier": Fourier,
    "fourier-rgb": lambda: Fourier(decorrelate=False),
}
SHAPE = (3, 13, 18)  # odd height, even width: the spectrum must still be exact


def _init(param, index, seed=0, restart=0, x0=None):
    return param.init(SHAPE, torch.as_tensor(index), seed, restart, x0)


@pytest.mark.parametrize("name", PARAMS)
def test_images_have_the_right_shape_and_stay_in_the_unit_box(name):
    param = PARAMS[name]()
    z = _init(param, [0, 1, 2])
    image = param.to_image(z)
    assert image.shape == (3, *SHAPE)
    wild = param.to_image(param.project(z + 50 * torch.randn_like(z)))
    assert float(wild.min()) >= 0.0 and float(wild.max()) <= 1.0


@pytest.mark.parametrize("name", PARAMS)
def test_seed_reproduces_and_other_seeds_and_restarts_differ(name):
    param = PARAMS[name]()
    first = param.to_image(_init(param, [0, 1]))
    assert torch.equal(first, param.to_image(_init(param, [0, 1])))
    assert not torch.allclose(first, param.to_image(_init(param, [0, 1], seed=1)))
    assert not torch.allclose(first, param.to_image(_init(param, [0, 1], restart=1)))
    assert not torch.allclose(first[0], first[1])  # each sample has its own noise


@pytest.mark.parametrize("name", PARAMS)
def test_a_sample_start_does_not_depend_on_the_batch_it_is_in(name):
    param = PARAMS[name]()
    batch = param.to_image(_init(param, [0, 1, 2, 3, 4], seed=3))
    alone = param.to_image(_init(param, [3], seed=3))
    assert torch.allclose(batch[3], alone[0], atol=1e-6)


@pytest.mark.parametrize("name", ["pixel-sigmoid", "pixel-clamp", "decorrelated", "fourier",
                                  "fourier-rgb"])
def test_starting_from_a_photo_reproduces_it(name):
    param = PARAMS[name]()
    param.std = 0.0
    photo = torch.rand(2, *SHAPE).clamp(0.01, 0.99)
    image = param.to_image(_init(param, [0, 1], x0=photo))
    assert torch.allclose(image, photo, atol=1e-4)


@pytest.mark.parametrize("name", PARAMS)
def test_gradients_reach_the_variable(name):
    param = PARAMS[name]()
    z = _init(param, [0, 1]).requires_grad_(True)
    param.to_image(z)[:, 0].sum().backward()
    assert z.grad is not None and bool(torch.isfinite(z.grad).all()) and float(z.grad.abs().sum()) > 0


def test_clamp_mode_projects_onto_the_box_and_sigmoid_mode_does_not_need_to():
    z = torch.tensor([[-0.5, 0.3, 1.7]])
    assert torch.equal(Pixel("clamp").project(z), torch.tensor([[0.0, 0.3, 1.0]]))
    assert torch.equal(Pixel("sigmoid").project(z), z)


def test_fourier_gives_low_frequencies_larger_steps():
    # a unit change of the spectrum moves the image more at low than at high frequency
    assert float(frequency_scale(16, 16)[0, 1]) == pytest.approx(16.0)   # f = 1/16
    assert float(frequency_scale(16, 16)[0, 8]) == pytest.approx(2.0)    # f = 1/2 (Nyquist)
    assert float(frequency_scale(16, 16, decay=0.0)[3, 5]) == pytest.approx(1.0)
    param = Fourier(decorrelate=False, std=0.0)
    z = _init(param, [0])
    base = param.to_image(z)
    low, high = z.clone(), z.clone()
    low[0, 0, 0, 1, 0] += 1.0
    high[0, 0, 0, 9, 0] += 1.0
    low_change = float((param.to_image(low) - base).abs().sum())
    assert low_change > 4 * float((param.to_image(high) - base).abs().sum())


def test_decorrelated_colour_first_direction_is_brightness_and_maps_invert():
    rgb = correlate(torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)).flatten()
    assert float(rgb.min()) > 0 and float(rgb.max() - rgb.min()) < 0.05 * float(rgb.max())
    x = torch.randn(2, 3, 4, 5)
    assert torch.allclose(correlate(decorrelate(x)), x, atol=1e-5)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="mode"):
        Pixel("tanh")
    with pytest.raises(ValueError, match="std"):
        Fourier(std=-1.0)
    with pytest.raises(ValueError, match="decay"):
        Fourier(decay=-0.5)
    with pytest.raises(ValueError, match="3-channel"):
        Decorrelated().init((1, 8, 8), torch.arange(1), 0, 0, None)
    with pytest.raises(ValueError, match="shape"):
        Fourier().to_image(torch.zeros(1, 3, 8, 8))
