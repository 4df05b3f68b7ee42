"""Issue 13, item 15: what advcat writes for people (HTML, LaTeX, Markdown) survives hostile names.

Gallery links are file links relative to the index page, never a script or web link, whatever a
result's path is called; every text is escaped; LaTeX escapes all its special characters and a
Markdown table cell never splits on a `|` inside a name.
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from advcat.attacks.result import AttackResult  # noqa: E402
from advcat.evaluation.report import Report, latex_escape  # noqa: E402
from advcat.viz.gallery import gallery, synthesis_titles  # noqa: E402
from advcat.viz.page import Entry, write_index  # noqa: E402
from advcat.viz.save import save_figure  # noqa: E402
from advcat.viz.saved import build_gallery  # noqa: E402

HOSTILE_PATHS = ["javascript:alert(1)", "http://evil.example/x.json", "data:text/html,<b>x</b>",
                 "a b#c?d%e.json", "sub/<script>.json", "'\"quote\".json"]
SCRIPT = "<script>alert(1)</script>"


class _Links(HTMLParser):
    """Every href and src of a page, and the page's raw tags; the page's own empty favicon
    (`data:,`, written so that a browser asks for no favicon.ico) is kept apart."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.icons: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = [value or "" for name, value in attrs if name in ("href", "src")]
        if tag == "link" and ("rel", "icon") in attrs:
            self.icons += values
        else:
            self.links += values


def _parse(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _target(index: Path, link: str) -> Path:
    """The file a relative link of `index` points at."""
    return Path(os.path.normpath(index.parent / unquote(link)))


def test_index_links_are_relative_file_links_whatever_the_names(tmp_path: Path) -> None:
    folder = tmp_path / "gallery"
    folder.mkdir()
    absolute = tmp_path / "elsewhere" / "run.json"
    entry = Entry(key=f'k"{SCRIPT}', title=SCRIPT, image="javascript:alert(1).png",
                  caption=SCRIPT, call=SCRIPT, numbers={SCRIPT: SCRIPT},
                  files=[*HOSTILE_PATHS, str(absolute)])
    index = write_index(folder, SCRIPT, SCRIPT, [entry])
    parsed = _parse(index)
    assert "script" not in parsed.tags and "alert(1)</script>" not in index.read_text()
    assert parsed.icons == ["data:,"]
    assert len(parsed.links) == 1 + len(HOSTILE_PATHS) + 1
    for link in parsed.links:
        parts = urlsplit(link)
        assert parts.scheme == "" and parts.netloc == "" and not link.startswith("/"), link
        assert parts.query == "" and parts.fragment == "", link
    image, *files = parsed.links
    assert _target(index, image) == folder / "javascript:alert(1).png"
    expected = [folder / p for p in HOSTILE_PATHS] + [absolute]
    assert [_target(index, link) for link in files] == [Path(os.path.normpath(p)) for p in expected]


def _result() -> AttackResult:
    g = torch.Generator().manual_seed(0)
    adv = torch.rand(1, 3, 8, 8, generator=g)
    return AttackResult(adv=adv, x0=torch.full_like(adv, 0.5), success=torch.tensor([True]),
                        logits=torch.randn(1, 10, generator=g), labels=torch.tensor([1]),
                        target=None, steps_taken=torch.tensor([3]),
                        queries=torch.tensor([3]), method="pgd", norm="linf", eps=1 / 255, seed=0)


def test_gallery_links_a_result_relative_to_the_index_page(tmp_path: Path, monkeypatch) -> None:
    results = tmp_path / "results"
    saved = _result().save(results / "javascript:alert(1)")
    monkeypatch.chdir(results)
    index = build_gallery([saved.name], tmp_path / "site" / "gallery", title=SCRIPT)
    parsed = _parse(index)
    assert "script" not in parsed.tags
    image, link = parsed.links
    assert link == "../../results/javascript%3Aalert%281%29.json"
    assert urlsplit(image).scheme == "" and not image.startswith("/")
    assert _target(index, link) == saved and _target(index, image).is_file()


def test_latex_escapes_every_special_character() -> None:
    special = "% & # $ _ { } ~ ^ \\"
    escaped = latex_escape(special)
    assert escaped == (r"\% \& \# \$ \_ \{ \} \textasciitilde{} \textasciicircum{} "
                       r"\textbackslash{}")
    table = _report(f"net{special}").to_latex()
    model_row = table.splitlines()[4]
    assert model_row.startswith(f"net{escaped} & ")


def _report(model: str, attack: str = "apgd|ce") -> Report:
    return Report(
        config={"model": {"name": model}, "norm": "linf", "seed": 0, "attacks_name": "a|b"},
        versions={}, labels="given", n=2, clean_accuracy=1.0, eps=[1 / 255, 2 / 255],
        robust_accuracy=[0.5, 0.0],
        attacks=[[{"name": attack, "before": 2, "broken": 1, "seconds": 0.5}],
                 [{"name": attack, "before": 2, "broken": 2, "seconds": 0.5}]],
        checks=[], samples={"broken_by": [[-1, 0], [0, 0]], "legend": [attack]}, seconds={},
    )


def _cells(line: str) -> list[str]:
    """The cells of a Markdown table row, split only on unescaped pipes."""
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_markdown_cells_escape_pipes() -> None:
    report = _report("m|odel", attack="apgd|ce")
    rows = [line for line in report.to_markdown().splitlines() if line.startswith("|")]
    widths = {len(_cells(line)) for line in rows}
    assert widths == {4}
    assert _cells(rows[0])[2].strip() == r"apgd\|ce broke"
    bench = _cells(report.robustbench_line())
    assert len(bench) == 7 and bench[0].strip() == r"m\|odel" and bench[6].strip() == r"advcat a\|b"


@pytest.mark.parametrize("name", ["a$\\frac{$b", "$x^$", "tabby $cat$"])
def test_class_names_in_figure_titles_are_shown_literally(name: str, tmp_path: Path) -> None:
    from types import SimpleNamespace

    result = SimpleNamespace(probability=torch.tensor([0.5]), names=[name],
                             images=torch.rand(1, 3, 4, 4))
    titles = synthesis_titles(result)  # type: ignore[arg-type]
    figure = gallery(result.images, titles)
    save_figure(figure, tmp_path / "g")
    title = figure.axes[0].get_title()
    assert title.count("\\$") == name.count("$") and title.replace("\\$", "$").startswith(name)
