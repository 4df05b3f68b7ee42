"""Undecodable files are skipped and counted when a folder is read; one that fails later names itself."""

from __future__ import annotations

import io
import logging
import struct
import zlib
from pathlib import Path

import pytest
import torch
from PIL import Image

import advcat.data
from advcat.data.files import file_problem
from advcat.data.images import read_image


def _png_without_idat() -> bytes:
    """A valid PNG signature and IHDR chunk, then IEND: a header and no image data."""
    ihdr = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _truncated_jpeg() -> bytes:
    buffer = io.BytesIO()
    noise = (torch.rand(32, 32, 3, generator=torch.Generator().manual_seed(0)) * 255).to(torch.uint8)
    Image.fromarray(noise.numpy()).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """root/a holds 2 good PNGs and the broken files, root/b one good PNG."""
    for name, shade in (("a/good0.png", 10), ("a/good1.png", 120), ("b/good2.png", 240)):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        Image.new("RGB", (20, 20), (shade, shade, shade)).save(tmp_path / name)
    (tmp_path / "a/empty.png").write_bytes(b"")
    (tmp_path / "a/truncated.jpg").write_bytes(_truncated_jpeg())
    (tmp_path / "a/noidat.png").write_bytes(_png_without_idat())
    return tmp_path


def test_decoder_errors_become_value_errors_naming_the_file(folder: Path) -> None:
    for name in ("noidat.png", "truncated.jpg"):
        with pytest.raises(ValueError, match=name):
            read_image(folder / "a" / name)
        assert file_problem(folder / "a" / name, "decode") == "corrupt"


def test_image_folder_keeps_exactly_the_decodable_images(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="advcat.data"):
        data = advcat.data.image_folder(folder, size=8, check="decode")
    assert sorted(p.name for p, _ in data.files) == ["good0.png", "good1.png", "good2.png"]
    assert len(data) == 3 and len(data.skipped) == 3
    assert "skipped 3 unreadable files" in caplog.text
    shades = sorted(round(float(data[i][0].mean()) * 255) for i in range(3))
    assert shades == [10, 120, 240]


def test_a_file_failing_only_at_decode_raises_naming_it(folder: Path) -> None:
    data = advcat.data.image_folder(folder, size=8, check="header")
    names = [p.name for p, _ in data.files]
    assert "empty.png" not in names
    for i, name in enumerate(names):
        if name.startswith("good"):
            assert data[i][0].shape == (3, 8, 8)
        else:
            with pytest.raises(ValueError, match=name):
                data[i]
