"""Images and classes: preprocessing matches torchvision's reference pipeline, files round-trip
losslessly, conversions are the documented ones, and every bad input gets a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import advcat
from advcat.data import (
    class_index,
    class_name,
    imagenet_samples,
    load_image,
    read_image,
    samples,
    save_image,
    to_uint8,
)
from advcat.models import ModelInfo
from advcat.validate import check_images, check_labels


def _noise(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (height, width, channels) if channels > 1 else (height, width)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def _expected(array: np.ndarray) -> torch.Tensor:
    """(1, C, H, W) float of an (H, W[, C]) uint8 array: the values the loader must produce."""
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.astype(np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)


# --- loading and preprocessing --------------------------------------------------------------------


def test_load_image_matches_torchvision_reference_pipeline():
    from torchvision import transforms

    path = samples()["chelsea"].path
    reference = transforms.Compose([
        transforms.Resize(256, interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
    ])(Image.open(path).convert("RGB"))
    x = load_image("chelsea")
    assert x.shape == (1, 3, 224, 224) and x.dtype == torch.float32
    assert torch.equal(x[0], reference)


def test_load_image_uses_the_models_preprocessing(tmp_path, tiny_cnn):
    path = tmp_path / "wide.png"
    Image.fromarray(_noise(30, 50)).save(path)
    x = load_image(path, tiny_cnn)
    assert x.shape == (1, 3, 16, 16)
    gray = ModelInfo(input_size=8, resize=10, interpolation="nearest", in_channels=1)
    assert load_image(str(path), gray).shape == (1, 1, 8, 8)


def test_load_image_needs_a_model_with_metadata():
    with pytest.raises(TypeError, match="advcat metadata"):
        load_image("chelsea", torch.nn.Linear(2, 2))


def test_unknown_interpolation_is_refused():
    with pytest.raises(ValueError, match="unknown interpolation 'cubic'"):
        load_image("chelsea", ModelInfo(interpolation="cubic"))


def test_read_image_gives_the_files_pixels(tmp_path):
    pixels = _noise(7, 9)
    Image.fromarray(pixels).save(tmp_path / "noise.png")
    assert torch.equal(read_image(tmp_path / "noise.png"), _expected(pixels))


# --- documented conversions -----------------------------------------------------------------------


def test_grayscale_is_repeated_to_three_channels(tmp_path):
    pixels = _noise(6, 5, channels=1)
    Image.fromarray(pixels).save(tmp_path / "gray.png")
    x = read_image(tmp_path / "gray.png")
    assert x.shape == (1, 3, 6, 5)
    for channel in range(3):
        assert torch.equal(x[:, channel:channel + 1], _expected(pixels))
    assert torch.equal(read_image(tmp_path / "gray.png", channels=1), _expected(pixels))


def test_transparency_is_composited_over_white(tmp_path):
    rgba = np.zeros((1, 3, 4), dtype=np.uint8)
    rgba[0, 0] = (10, 20, 30, 0)      # fully transparent -> white
    rgba[0, 1] = (10, 20, 30, 255)    # opaque -> unchanged
    rgba[0, 2] = (0, 100, 200, 128)   # half -> a blend with white
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    x = to_uint8(read_image(tmp_path / "rgba.png"))[0, :, 0].T.int()
    assert x[0].tolist() == [255, 255, 255]
    assert x[1].tolist() == [10, 20, 30]
    blend = [round(c * 128 / 255 + 255 * 127 / 255) for c in (0, 100, 200)]
    assert all(abs(a - b) <= 1 for a, b in zip(x[2].tolist(), blend))


def test_palette_transparency_is_composited_over_white(tmp_path):
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.putpixel((0, 0), 0)
    image.putpixel((1, 0), 1)
    image.save(tmp_path / "palette.png", transparency=0)
    x = to_uint8(read_image(tmp_path / "palette.png"))[0, :, 0].T
    assert x.tolist() == [[255, 255, 255], [0, 0, 255]]


def test_sixteen_bit_grayscale_is_scaled_to_eight_bits(tmp_path):
    values = np.array([[0, 257 * 100, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    x = to_uint8(read_image(tmp_path / "deep.png", channels=1))
    assert x.flatten().tolist() == [0, 100, 255]


def test_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees clockwise
    Image.fromarray(_noise(10, 20)).save(tmp_path / "phone.jpg", exif=exif)
    assert read_image(tmp_path / "phone.jpg").shape == (1, 3, 20, 10)


# --- bad files ------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no image file"):
        load_image(tmp_path / "nothing.jpg")
    with pytest.raises(FileNotFoundError, match="chelsea"):
        load_image("chelsae")


def test_directory_is_not_an_image(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        load_image(tmp_path)


def test_wrong_argument_type():
    with pytest.raises(TypeError, match="file path or a sample name"):
        load_image(torch.zeros(3, 4, 4))  # type: ignore[arg-type]


def test_non_image_file(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("these are not pixels\n")
    with pytest.raises(ValueError, match="not an image file"):
        load_image(path)


def test_truncated_jpeg(tmp_path):
    whole = tmp_path / "whole.jpg"
    Image.fromarray(_noise(64, 64)).save(whole, quality=90)
    data = whole.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_image(cut)
    assert read_image(whole).shape == (1, 3, 64, 64)


def test_corrupt_png(tmp_path):
    path = tmp_path / "flipped.png"
    Image.fromarray(_noise(16, 16)).save(path)
    data = bytearray(path.read_bytes())
    start = data.index(b"IDAT") + 8
    data[start] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_image(path)


def test_truncated_jpeg_is_refused_even_if_pil_was_told_to_allow_it(tmp_path, monkeypatch):
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    whole = tmp_path / "whole.jpg"
    Image.fromarray(_noise(64, 64)).save(whole)
    cut = tmp_path / "cut.jpg"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # header intact: PIL would fill in the rest
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_image(cut)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True


# --- saving ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 5, 7), (1, 3, 5, 7), (1, 5, 7)])
def test_save_then_read_is_exact(tmp_path, shape):
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    path = save_image(x, tmp_path / "sub" / "out.png")
    channels = 1 if shape[-3] == 1 else 3
    back = read_image(path, channels=channels)
    assert torch.equal(back, to_uint8(x).reshape(back.shape).float() / 255)


def test_loaded_images_round_trip_bit_for_bit(tmp_path):
    x = load_image("coffee")
    assert torch.equal(read_image(save_image(x, tmp_path / "coffee.png")), x)


def test_to_uint8_rounds_to_the_nearest_level():
    levels = torch.arange(256, dtype=torch.float32) / 255
    assert torch.equal(to_uint8(levels), torch.arange(256, dtype=torch.uint8))
    near = torch.tensor([0.4, 0.6, 254.4, 254.6]) / 255
    assert to_uint8(near).tolist() == [0, 1, 254, 255]


@pytest.mark.parametrize("x, error, match", [
    (torch.rand(2, 3, 4, 4), ValueError, "one image"),
    (torch.rand(4, 4), ValueError, "one image"),
    (torch.rand(2, 4, 4), ValueError, "one image"),
    (torch.full((3, 4, 4), 1.5), ValueError, r"\[0, 1\]"),
    (torch.full((3, 4, 4), -0.1), ValueError, r"\[0, 1\]"),
    (torch.full((3, 4, 4), float("nan")), ValueError, "NaN"),
    (torch.zeros(3, 4, 4, dtype=torch.uint8), TypeError, "floating-point"),
    (np.zeros((3, 4, 4)), TypeError, "torch.Tensor"),
])
def test_save_image_refuses_bad_tensors(tmp_path, x, error, match):
    with pytest.raises(error, match=match):
        save_image(x, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_save_image_writes_png_only(tmp_path):
    with pytest.raises(ValueError, match=r"\.png"):
        save_image(torch.rand(3, 4, 4), tmp_path / "out.jpg")


# --- sample photos --------------------------------------------------------------------------------


def test_samples_list_the_named_photos_with_labels():
    found = samples()
    for name in ("chelsea", "coffee", "astronaut", "rocket", "grace_hopper"):
        assert found[name].path.is_file(), name
    assert found["chelsea"].label is None and "281-285" in found["chelsea"].note
    assert found["coffee"].label == 967
    assert found["grace_hopper"].label == 652
    foolbox = {k: v for k, v in found.items() if v.source == "foolbox"}
    assert len(foolbox) == 20
    assert found["imagenet_00_243"].label == 243 and found["imagenet_16_251"].label == 251


def test_imagenet_samples_are_the_twenty_labelled_photos(tiny_cnn):
    x, y = imagenet_samples(tiny_cnn)
    assert x.shape == (20, 3, 16, 16) and y.shape == (20,) and y.dtype == torch.long
    assert y[0] == 243 and y[16] == 251 and y[19] == 305
    check_images(x)


def test_public_names_are_exported():
    assert advcat.load_image is load_image and advcat.save_image is save_image
    assert advcat.samples is samples and advcat.class_index is class_index


# --- classes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, index", [
    ("tabby", 281), ("tabby cat", 281), ("Tabby_Cat", 281), ("zebra", 340),
    ("golden retriever", 207), ("espresso", 967), (5, 5), ("5", 5),
])
def test_class_index_by_name_or_index(value, index):
    assert class_index(value) == index


@pytest.mark.parametrize("name, candidates", [("crane", ("134", "517")),
                                              ("maillot", ("638", "639"))])
def test_ambiguous_class_names_list_the_candidates(name, candidates):
    with pytest.raises(ValueError, match="ambiguous") as info:
        class_index(name)
    assert all(c in str(info.value) for c in candidates)


def test_unknown_class_name_lists_close_matches():
    with pytest.raises(ValueError, match="unknown class name 'zebar'.*'zebra'"):
        class_index("zebar")


def test_synonyms_work_with_torchvisions_imagenet_names():
    import torchvision

    names = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    assert class_index("tabby cat", names) == 281
    assert class_index("Carassius auratus", names) == 1
    assert class_index("tabby", names) == 281


def test_a_small_class_list_gets_no_imagenet_synonyms():
    with pytest.raises(ValueError, match="unknown class name 'tabby cat'"):
        class_index("tabby cat", ["cat", "dog"])


@pytest.mark.parametrize("value, error", [(1000, ValueError), (-1, ValueError),
                                          (True, TypeError), (2.0, TypeError)])
def test_bad_class_values(value, error):
    with pytest.raises(error):
        class_index(value)


def test_custom_class_lists():
    classes = ["cat", "dog"]
    assert class_index("Dog", classes) == 1 and class_name(0, classes) == "cat"
    with pytest.raises(ValueError, match="unknown class name"):
        class_index("tabby", classes)
    assert class_name(281) == "tabby"


# --- image tensors handed to the library ----------------------------------------------------------


@pytest.mark.parametrize("x, error, match", [
    ([[0.5]], TypeError, "torch.Tensor"),
    (torch.rand(3, 8, 8), ValueError, "add a batch dimension"),
    (torch.rand(8, 8), ValueError, r"\(N, C, H, W\)"),
    (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), TypeError, "divide by 255"),
    (torch.zeros(0, 3, 8, 8), ValueError, "empty"),
    (torch.full((1, 3, 8, 8), float("nan")), ValueError, "NaN"),
    (torch.full((1, 3, 8, 8), float("inf")), ValueError, "infinite"),
    (torch.full((1, 3, 8, 8), 255.0), ValueError, "pixel space"),
    (torch.full((1, 3, 8, 8), -0.5), ValueError, r"\[0, 1\]"),
])
def test_bad_image_tensors_are_refused(x, error, match):
    with pytest.raises(error, match=match):
        check_images(x)


@pytest.mark.parametrize("y, error, match", [
    (torch.tensor([1.0, 2.0]), TypeError, "integer"),
    (torch.tensor([1, 2, 3]), ValueError, r"shape \(2,\)"),
    (torch.tensor([1, 10]), ValueError, "outside"),
    ("cat", TypeError, r"class indices \(a tensor, an int or a list of ints\)"),
    ([1, "2"], TypeError, "integer class indices"),
])
def test_bad_labels_are_refused(y, error, match):
    with pytest.raises(error, match=match):
        check_labels(y, 2, num_classes=10)
