"""What every benchmark script shares: the RESULTS.md path, the CPU's name, the machine and date
lines of a section, and replacing one script's section of RESULTS.md while leaving the others."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path

import torch

RESULTS = Path(__file__).with_name("RESULTS.md")


def cpu_name() -> str:
    """The CPU's model name as `lscpu` reports it."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    names = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name:")]
    return names[0] if names else "unknown CPU"


def machine_and_date(load: float, note: str) -> list[str]:
    """A section's "- machine:" and "- date:" lines: cores, CPU, torch and its threads, the load
    average at the start, and `note` on how to read times taken on a shared machine."""
    return [
        f"- machine: {os.cpu_count()}-core x86 CPU, {cpu_name()}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s); 1-min load average {load:.1f} at the start (shared "
        f"machine: {note})",
        f"- date: {datetime.date.today().isoformat()}",
    ]


def write_section(title: str, text: str, results: Path = RESULTS) -> None:
    """Replace the section headed `title` (up to the next `## ` heading) with `text`, or append it."""
    current = results.read_text() if results.exists() else ""
    head, found, rest = current.partition(title)
    if not found:
        results.write_text(current.rstrip("\n") + "\n\n" + text if current.strip() else text)
        return
    tail = rest[rest.find("\n## ") + 1 :] if "\n## " in rest else ""
    results.write_text(head + text.rstrip("\n") + "\n" + ("\n" + tail if tail else ""))
