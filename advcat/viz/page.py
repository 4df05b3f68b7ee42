"""The HTML index of a gallery folder: each figure with its caption, numbers and the exact call."""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote


@dataclass
class Entry:
    """One figure of a gallery: where its image is, what it shows and which call made it.

    `image` and `files` are file paths, absolute or relative to the gallery folder.
    """

    key: str
    title: str
    image: str
    caption: str
    call: str
    numbers: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
section { margin-bottom: 2.5em; border-top: 1px solid #ddd; padding-top: 1em; }
img { max-width: 100%; border: 1px solid #eee; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left; }
.files { font-size: 0.85em; color: #555; }
"""


def _numbers_table(numbers: dict[str, Any]) -> str:
    if not numbers:
        return ""
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_show(v))}</td></tr>" for k, v in numbers.items()
    )
    return f"<table>{rows}</table>"


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def file_link(folder: Path, path: str | Path) -> str:
    """An href attribute value for the file `path` (absolute, or relative to `folder`).

    Always a relative link from folder/index.html, percent-encoded, so no name can turn into a
    `javascript:` or web link, a query or a fragment; the page keeps working when moved with its
    files. Only a file on another drive (Windows) gets an absolute `file:` URI instead.
    """
    target = Path(os.path.abspath(Path(folder) / path))
    try:
        relative = Path(os.path.relpath(target, os.path.abspath(folder))).as_posix()
    except ValueError:
        return html.escape(target.as_uri())
    return html.escape(quote(relative, safe="/"))


def write_index(folder: Path, title: str, intro: str, entries: list[Entry]) -> Path:
    """Write folder/index.html showing every entry; returns its path.

    An entry's `image` and `files` are file paths, absolute or relative to `folder`; they become
    relative file links (`file_link`), and every text on the page is HTML-escaped.
    """
    sections = []
    for entry in entries:
        files = ", ".join(f'<a href="{file_link(folder, f)}">{html.escape(f)}</a>' for f in entry.files)
        sections.append(
            f'<section id="{html.escape(entry.key)}"><h2>{html.escape(entry.title)}</h2>'
            f'<img src="{file_link(folder, entry.image)}" alt="{html.escape(entry.title)}">'
            f"<p>{html.escape(entry.caption)}</p>{_numbers_table(entry.numbers)}"
            f"<pre><code>{html.escape(entry.call)}</code></pre>"
            + (f'<p class="files">tensors: {files}</p>' if files else "")
            + "</section>"
        )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><link rel='icon' href='data:,'>"
        f"<title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(intro)}</p>{''.join(sections)}</body></html>"
    )
    path = folder / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
