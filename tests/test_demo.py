"""`advcat demo --quick`: every figure, tensor and number of the gallery is written and consistent."""

from __future__ import annotations

import functools
import json
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from matplotlib.image import imread

import advcat
from advcat.attacks import AttackResult
from advcat.cli.main import main

FIGURES = ["ideal_images", "cat_to_golden_retriever", "dog_to_cat", "transfer", "robustness", "attributions"]


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--quick", "--no-progress", "--out", str(out)]) == 0
    return out


def test_every_figure_is_written_and_shown(gallery):
    page = (gallery / "index.html").read_text()
    for key in FIGURES:
        image = imread(gallery / f"{key}.png")
        assert image.shape[0] > 100 and image.shape[1] > 100
        assert f'id="{key}"' in page and f'src="{key}.png"' in page
    assert page.count("<pre><code>advcat.") == len(FIGURES)


def test_every_link_of_the_index_page_resolves(gallery):
    from urllib.parse import unquote

    page = (gallery / "index.html").read_text()
    links = re.findall(r'(?:href|src)="([^"#]+)"', page)
    assert links
    missing = [link for link in links if not (gallery / unquote(link)).is_file()]
    assert missing == []
    for saved in ("robustness/report.json", "ideal_default.safetensors", "ideal_plain.json",
                  "transfer_pgd.json", "transfer_mifgsm.safetensors"):
        assert f'href="{saved}"' in page, saved


def test_summary_numbers_match_the_saved_tensors(gallery):
    summary = json.loads((gallery / "summary.json").read_text())
    assert set(FIGURES) <= set(summary)
    model = advcat.load_model()
    for key in ("cat_to_golden_retriever", "dog_to_cat"):
        result = AttackResult.load(gallery / f"{key}.json")
        numbers = summary[key]
        assert numbers["success"] == bool(result.success[0])
        assert numbers["linf norm"] <= numbers["eps (linf)"] + 1e-6
        with torch.no_grad():
            prediction = int(model(result.adv).argmax(1)[0])
        assert numbers["adversarial prediction"] == model.info.classes[prediction]
    assert summary["dog_to_cat"]["clean prediction"] in ("bull mastiff", "dalmatian")
    assert 0.0 <= summary["robustness"]["robust accuracy at 1/255"] <= 1.0
    assert summary["robustness"]["clean accuracy"] >= summary["robustness"]["robust accuracy at 1/255"]
    for key, value in summary["attributions"].items():
        assert -1.0 <= value <= 1.0, key
    assert summary["seconds"] > 0


def test_gallery_command_draws_every_saved_result(gallery, tmp_path):
    saved = [gallery / "cat_to_golden_retriever.json", gallery / "ideal_default.json",
             gallery / "robustness"]
    attribution = advcat.attribute(advcat.load_model(), torch.rand(1, 3, 224, 224),
                                   method="saliency")
    attribution.save(tmp_path / "saliency")
    saved.append(tmp_path / "saliency.json")
    out = tmp_path / "gallery"
    assert main(["gallery", *map(str, saved), "--out", str(out)]) == 0
    page = (out / "index.html").read_text()
    for kind in ("AttackResult", "SynthesisResult", "Report", "Attribution"):
        assert f"{kind}: " in page
    assert len(list(out.glob("*.png"))) == 4


def test_gallery_refuses_files_that_are_not_results(tmp_path):
    (tmp_path / "other.json").write_text("{}")
    assert main(["gallery", str(tmp_path / "other.json"), "--out", str(tmp_path / "g")]) == 2


CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; `make test` installs it


@pytest.fixture(scope="module")
def served(gallery):
    """The demo's folder on a localhost HTTP server (file:// pages cannot fetch their own links)."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(gallery))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_index_page_renders_in_headless_chromium_with_no_broken_link(served, tmp_path):
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does)")
    from playwright.sync_api import sync_playwright

    flags = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=flags)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("requestfailed", lambda request: errors.append(f"failed: {request.url}"))
        response = page.goto(f"{served}/index.html", wait_until="load")
        assert response is not None and response.ok
        images = page.evaluate("[...document.images].map(i => [i.getAttribute('src'), i.naturalWidth])")
        links = page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.href)")
        statuses = {link: page.request.get(link).status for link in links if link.startswith(served)}
        height = page.evaluate("document.body.scrollHeight")
        page.screenshot(path=str(tmp_path / "index.png"), full_page=True)
        browser.close()
    assert len(images) >= len(FIGURES) and all(width > 100 for _, width in images), images
    assert statuses and all(status == 200 for status in statuses.values()), statuses
    assert errors == []
    assert height > 900 * 2, "the page lays out every figure, one under another"
