"""Count what a learner writes: ``python -m grading.solution_lines``.

For each source notebook in ``solutions/day26``, the non-blank lines inside the solution regions
(between nbgrader's solution markers, or whole code cells marked as solutions without markers),
and the helper calls among them that do a technique for the learner. Written reflections are not
counted.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
# helpers that carry out a technique the day teaches (the learner should call the library instead)
# (a function of the same name that the notebook defines itself is the learner's code, not a helper)
TECHNIQUE_HELPERS = re.compile(
    r"\b(torch_dynamic_int8|ort_static_int8|ort_dynamic_int8|prune_channels|prune_lstm_units|prune_recurrent_units|"
    r"prune_l1_unstructured|export_onnx|save_comparison_plot)\s*\("
)
DEFINED = re.compile(r"^\s*def\s+(\w+)\s*\(", re.MULTILINE)


def solution_lines(source: str) -> list[str]:
    """The non-blank lines a learner writes in one solution cell."""
    if BEGIN not in source:
        return [line for line in source.splitlines() if line.strip()]
    lines = []
    for region in source.split(BEGIN)[1:]:
        lines += [line for line in region.split(END)[0].splitlines() if line.strip()]
    return lines


def count(folder: Path = ROOT / "solutions" / "day26") -> dict[str, tuple[int, int, int]]:
    """Notebook -> (solution regions, non-blank lines, lines that call a technique helper)."""
    counts = {}
    for path in sorted(folder.glob("*.ipynb")):
        cells = [
            cell
            for cell in nbformat.read(path, as_version=4).cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")
        ]
        lines = [line for cell in cells for line in solution_lines(cell.source)]
        own = set(DEFINED.findall("\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)))
        helper_calls = [match for line in lines for match in TECHNIQUE_HELPERS.findall(line) if match not in own]
        counts[path.stem] = (len(cells), len(lines), len(helper_calls))
    return counts


def main() -> int:
    counts = count()
    print(f"{'notebook':<18} {'regions':>7} {'lines':>6} {'technique helpers':>18}")
    for name, (regions, lines, helpers) in counts.items():
        print(f"{name:<18} {regions:>7} {lines:>6} {helpers:>18}")
    total = [sum(values) for values in zip(*counts.values(), strict=True)]
    print(f"{'the day':<18} {total[0]:>7} {total[1]:>6} {total[2]:>18}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
