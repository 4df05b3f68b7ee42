"""benchmarks/results.py: a benchmark rewrites its own section of RESULTS.md and no other."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from results import write_section  # noqa: E402

DOC = "# Results\n\n## A\n\nold a\n\n## B\n\nold b\n| row |\n\n## C\n\nold c\n"


def test_a_middle_section_is_replaced_and_its_neighbours_kept(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    path.write_text(DOC)
    write_section("## B", "## B\n\nnew b\n", path)
    assert path.read_text() == "# Results\n\n## A\n\nold a\n\n## B\n\nnew b\n\n## C\n\nold c\n"


def test_the_last_section_is_replaced_to_the_end(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    path.write_text(DOC)
    write_section("## C", "## C\n\nnew c\n", path)
    assert path.read_text() == DOC.replace("old c", "new c")


def test_a_missing_section_is_appended_and_a_missing_file_created(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    path.write_text(DOC)
    write_section("## D", "## D\n\nd\n", path)
    assert path.read_text() == DOC + "\n## D\n\nd\n"
    fresh = tmp_path / "fresh.md"
    write_section("## D", "## D\n\nd\n", fresh)
    assert fresh.read_text() == "## D\n\nd\n"
