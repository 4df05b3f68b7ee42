"""Report: what an evaluation found, with everything needed to repeat and check it.

JSON holds every number, the config, versions, the seed and per-sample flags (`save`/`load`);
`to_markdown`, `to_latex` and `robustbench_line` format it for papers. `advcat.viz.figure(report)`
draws robust accuracy against eps (several reports on one figure: `advcat.viz.robustness_curve`);
the report itself never imports viz.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from advcat.io_paths import read_json_object

KIND = "advcat.evaluation.Report"
FORMAT = 1
NORM_NAMES = {"linf": "Linf", "l2": "L2", "l1": "L1"}


@dataclass
class Report:
    """Clean and robust accuracy (fractions in [0, 1]) of one model on n points, per eps.

    `attacks[e]` lists each attack's points standing before it, points broken and seconds at
    eps[e]; `samples["broken_by"][e][i]` is the code of what broke point i (-2 misclassified
    clean, -1 robust, else an index into `samples["legend"]`); `checks` are the sanity checks.
    After an adaptive stage (docs/evaluation.md), `robust_accuracy` is the adaptive number (every
    verified break counted, the adaptive attacks' too), `naive_robust_accuracy` the cascade's
    alone, and `adaptive` lists each adaptation, the checks that triggered it and its breaks per eps.
    """

    config: dict[str, Any]
    versions: dict[str, str]
    labels: str
    n: int
    clean_accuracy: float
    eps: list[float]
    robust_accuracy: list[float]
    attacks: list[list[dict[str, Any]]]
    checks: list[dict[str, Any]]
    samples: dict[str, Any]
    seconds: dict[str, float]
    world_size: int = 1
    naive_robust_accuracy: list[float] | None = None
    adaptive: dict[str, Any] | None = None

    @property
    def warnings(self) -> list[str]:
        """The messages of the failed sanity checks."""
        return [f"{c['name']}: {c['message']}" for c in self.checks if c["passed"] is False]

    @property
    def adapted(self) -> bool:
        """Whether an adaptive stage ran (then `robust_accuracy` is the adaptive number)."""
        return bool(self.adaptive and self.adaptive.get("ran"))

    def adaptation_lines(self) -> list[str]:
        """One line per adaptation: what it did, what triggered it, the points it broke per eps."""
        lines = []
        for a in (self.adaptive or {}).get("adaptations", []):
            broke = ", ".join(f"{b} at eps {format_eps(e)}" for e, b in zip(self.eps, a.get("broken", [])))
            lines.append(f"{a['name']} ({a['detail']}; triggered by {', '.join(a['trigger'])}): "
                         f"broke {broke or 'nothing'} of the points the cascade left")
        return lines

    @property
    def model(self) -> str:
        return str(self.config.get("model", {}).get("name", "model"))

    def robust(self, eps: float) -> Tensor:
        """Per-sample flags (n,) bool at `eps`, in data-set order: True where every attack failed."""
        e = self._eps_index(eps)
        return torch.tensor(self.samples["broken_by"][e]) == -1

    def robust_at(self, eps: float) -> float:
        """Robust accuracy at `eps` (a fraction)."""
        return self.robust_accuracy[self._eps_index(eps)]

    def _eps_index(self, eps: float) -> int:
        for e, value in enumerate(self.eps):
            if abs(value - eps) <= 1e-9 * max(1.0, abs(eps)):
                return e
        raise ValueError(f"eps {eps} was not evaluated; the report has {self.eps}")

    def to_dict(self, *, times: bool = True) -> dict[str, Any]:
        """Everything as plain JSON types; `times=False` drops timings and the process count, which
        vary between runs of the same evaluation."""
        data = {"kind": KIND, "format": FORMAT, **asdict(self)}
        if not times:
            data.pop("seconds")
            data.pop("world_size")
            data["attacks"] = [
                [{k: v for k, v in row.items() if k != "seconds"} for row in rows] for rows in data["attacks"]
            ]
        return data

    def save(self, path: str | Path) -> Path:
        """Write the report as JSON (a folder gets report.json inside); returns the file."""
        from advcat.evaluation.state import atomic_write

        target = Path(path)
        if target.is_dir() or target.suffix != ".json":
            target = target / "report.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, json.dumps(self.to_dict(), indent=1))
        return target

    @classmethod
    def load(cls, path: str | Path) -> Report:
        """Read a report written by `save` (a file, or a folder holding report.json)."""
        source = Path(path)
        if source.is_dir():
            source = source / "report.json"
        if not source.is_file():
            raise FileNotFoundError(f"no saved evaluation report at {source}")
        data = read_json_object(source, "run the evaluation again to rewrite it")
        if data.get("kind") != KIND:
            raise ValueError(f"{source} is not a saved advcat evaluation report")
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def summary(self) -> str:
        """One line per eps: robust accuracy and the count of warnings."""
        norm = NORM_NAMES.get(self.config.get("norm", ""), self.config.get("norm", ""))
        parts = [
            f"{self.model}: clean {100 * self.clean_accuracy:.2f}% on {self.n} points"
            + (" (labels: the model's clean predictions)" if self.labels != "given" else "")
        ]
        naive = self.naive_robust_accuracy if self.adapted else None
        parts += [
            f"  {norm} eps {format_eps(e)}: robust {100 * r:.2f}%"
            + ("" if naive is None else f" adaptive (naive cascade: {100 * naive[k]:.2f}%)")
            for k, (e, r) in enumerate(zip(self.eps, self.robust_accuracy))
        ]
        parts += [f"  adaptive: {line}" for line in self.adaptation_lines()]
        parts += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(parts)

    def __repr__(self) -> str:
        return f"Report(\n{self.summary()}\n)"

    def to_markdown(self) -> str:
        """A Markdown table (eps, robust accuracy, each attack's breaks and time) and the warnings."""
        names = [row["name"] for row in self.attacks[0]] if self.attacks else []
        broke = [f"{markdown_cell(name)} broke" for name in names]
        adapted = self.adapted and self.naive_robust_accuracy is not None
        accuracy = ["naive robust accuracy", "adaptive robust accuracy"] if adapted else ["robust accuracy"]
        head = ["eps", *accuracy, *broke, "attack time"]
        lines = [
            f"**{self.model}**: clean accuracy {100 * self.clean_accuracy:.2f}% on {self.n} points "
            f"({self.config.get('norm')}; labels: {self.labels}; seed {self.config.get('seed')})",
            "",
            "| " + " | ".join(head) + " |",
            "|" + "---|" * len(head),
        ]
        for k, (e, rows) in enumerate(zip(self.eps, self.attacks)):
            seconds = sum(row["seconds"] or 0.0 for row in rows)
            accuracies = [f"{100 * self.robust_at(e):.2f}%"]
            if adapted:
                assert self.naive_robust_accuracy is not None
                accuracies.insert(0, f"{100 * self.naive_robust_accuracy[k]:.2f}%")
            cells = [format_eps(e), *accuracies] + [str(row["broken"]) for row in rows]
            lines.append("| " + " | ".join(cells + [f"{seconds:.1f} s"]) + " |")
        if self.adaptation_lines():
            lines += ["", "Adaptive stage (robust accuracy is the adaptive number):", ""]
            lines += [f"- {markdown_cell(line)}" for line in self.adaptation_lines()]
        if self.warnings:
            lines += ["", "Warnings:", ""] + [f"- {w}" for w in self.warnings]
        return "\n".join(lines) + "\n"

    def to_latex(self) -> str:
        """A LaTeX tabular of robust accuracy per eps (booktabs rules), with clean accuracy first."""
        norm = NORM_NAMES.get(self.config.get("norm", ""), "")
        cols = "l" + "r" * (1 + len(self.eps))
        sub = {"Linf": "\\infty", "L2": "2", "L1": "1"}.get(norm, "")
        head = ["Model", "Clean"] + [f"$\\epsilon_{{{sub}}}={format_eps(e)}$" for e in self.eps]
        row = [latex_escape(self.model), f"{100 * self.clean_accuracy:.2f}"] + [
            f"{100 * r:.2f}" for r in self.robust_accuracy
        ]
        return (
            "\n".join(
                [
                    f"\\begin{{tabular}}{{{cols}}}",
                    "\\toprule",
                    " & ".join(head) + " \\\\",
                    "\\midrule",
                    " & ".join(row) + " \\\\",
                    "\\bottomrule",
                    "\\end{tabular}",
                ]
            )
            + "\n"
        )

    def robustbench_line(self, eps: float | None = None) -> str:
        """A leaderboard row as RobustBench shows it: model | clean | robust | threat | eps | n."""
        e = self.eps[-1] if eps is None else eps
        norm = NORM_NAMES.get(self.config.get("norm", ""), "")
        attacks = markdown_cell(self.config.get("attacks_name", "custom"))
        attacks += " + adaptive" if self.adapted else ""
        return (
            f"| {markdown_cell(self.model)} | {100 * self.clean_accuracy:.2f} | "
            f"{100 * self.robust_at(e):.2f} | {norm} | {format_eps(e)} | {self.n} | advcat {attacks} |"
        )


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    **{c: "\\" + c for c in "%&#$_{}"},
}


def latex_escape(text: str) -> str:
    """`text` as LaTeX prints it literally: each of % & # $ _ { } ~ ^ \\ escaped, in one pass."""
    return "".join(_LATEX_SPECIAL.get(c, c) for c in str(text))


def markdown_cell(text: str) -> str:
    """`text` safe inside a Markdown table cell: a `|` would end the cell, a newline the row."""
    return " ".join(str(text).splitlines()).replace("|", r"\|")


def format_eps(eps: float) -> str:
    """eps as written by people: 0.1 stays 0.1, 2/255 and 0.5/255 print as such."""
    short = f"{eps:.4g}"
    steps = eps * 255
    if float(short) != eps and abs(2 * steps - round(2 * steps)) < 1e-6:
        return f"{steps:.1f}".removesuffix(".0") + "/255"
    return short
