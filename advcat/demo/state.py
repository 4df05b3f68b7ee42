"""The state the demo's parts share: models, settings, output folder, and what is done so far.

Every part adds its figure through `Demo.add`, which saves it and refreshes index.html and
summary.json at once, so an interrupted demo keeps everything finished so far.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from advcat.demo.settings import DemoSettings
from advcat.viz.page import Entry, write_index


class Demo:
    """The state shared by the demo's parts: models, settings, output folder, what is done."""

    def __init__(self, out: Path, settings: DemoSettings, progress: bool, *, title: str, intro: str) -> None:
        import advcat

        self.out = out
        self.settings = settings
        self.progress = progress
        self.title = title
        self.intro = intro
        self.model = advcat.load_model()
        self.second = advcat.load_model("efficientnet_lite2")
        self.classes = self.model.info.classes
        self.entries: list[Entry] = []
        self.summary: dict[str, Any] = {
            "settings": vars(settings) | {"robust_eps": list(settings.robust_eps)}
        }

    def add(self, entry: Entry, figure: Any) -> None:
        """Save the figure of `entry`, list the entry and its numbers, and refresh the page."""
        from advcat.viz.save import save_figure

        save_figure(figure, self.out / entry.image)
        self.entries.append(entry)
        self.summary[entry.key] = entry.numbers
        self.flush()

    def flush(self) -> None:
        """Write summary.json and index.html as they stand now."""
        (self.out / "summary.json").write_text(json.dumps(self.summary, indent=2, default=str))
        write_index(self.out, self.title, self.intro, self.entries)

    def saved(self, result: Any, name: str) -> list[str]:
        """Save `result` as NAME in the demo folder; the files it wrote, relative to the folder."""
        written = Path(result.save(self.out / name))
        files = [written, written.with_name(written.name[: -len(".json")] + ".safetensors")]
        return [f.relative_to(self.out).as_posix() for f in files if f.is_file()]

    def name(self, index: int) -> str:
        """The readable name of class `index` (the index itself when the model names no classes)."""
        return self.classes[index] if self.classes else str(index)

    def probs(self, model: nn.Module, x: Tensor) -> Tensor:
        """`model`'s probabilities on `x`, resized to the model's own input size first."""
        from advcat.attacks.transfer import fit_to

        with torch.no_grad():
            logits: Tensor = model(fit_to(model, x))
            return logits.softmax(1)
