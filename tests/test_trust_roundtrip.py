"""An image advcat saved at the model's input size loads back bit-identical, not zoomed again."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

import advcat
from advcat.data.images import to_uint8


def test_saved_input_size_image_loads_back_bit_identical(tiny_cnn: advcat.PixelModel, tmp_path: Path) -> None:
    assert tiny_cnn.info.input_size == 16 and tiny_cnn.info.resize != 16
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    path = advcat.save_image(x, tmp_path / "adv.png")
    loaded = advcat.load_image(path, tiny_cnn)
    assert torch.equal(to_uint8(loaded), to_uint8(x))


def test_other_sizes_are_still_resized_and_cropped(tiny_cnn: advcat.PixelModel, tmp_path: Path) -> None:
    gradient = torch.linspace(0, 255, 40).to(torch.uint8)[None, :].repeat(30, 1)
    pixels = torch.stack([gradient] * 3, -1).numpy()
    path = tmp_path / "photo.png"
    Image.fromarray(pixels).save(path)
    loaded = advcat.load_image(path, tiny_cnn)
    assert tuple(loaded.shape) == (1, 3, 16, 16)
    resize = tiny_cnn.info.resize
    size = (int(resize * 40 / 30), resize)
    resized = Image.fromarray(pixels).resize(size, resample=Image.Resampling.BILINEAR)
    left, top = round((size[0] - 16) / 2), round((size[1] - 16) / 2)
    expected = torch.as_tensor(list(resized.crop((left, top, left + 16, top + 16)).getdata()))
    assert torch.equal(to_uint8(loaded)[0].permute(1, 2, 0).reshape(-1, 3), expected.to(torch.uint8))
