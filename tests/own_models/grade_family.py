"""Grade one of the test Week-5 models as a learner's hand-in would be graded: the model declared and
briefly trained, the solution notebooks handed in unexecuted, then ``day26 autograde`` (sandboxed
execution, the verifier against the learner's own baseline). Prints the points, the grading time
and the verifier's checks.

    DAY26_HOME=$PWD/.day26 .venv/bin/python tests/own_models/grade_family.py StackedGRU 4

Nothing in the repository is written; the folder it works in is printed.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import nbformat  # noqa: E402
from benchmarks.grade_reference import autograde_alone  # noqa: E402
from own_models.run_family import trained_learner_folder  # noqa: E402
from test_own_model import FAMILIES  # noqa: E402

from grading.samples import choose, notebooks_of  # noqa: E402


def main() -> None:
    class_name, epochs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3
    work = Path(tempfile.mkdtemp(prefix=f"day26-grade-{class_name}-"))
    folder = trained_learner_folder(class_name, epochs, work / "class" / class_name)
    chosen = {"00-solution-3": choose(FAMILIES[class_name])}
    for name, notebook in notebooks_of(ROOT / "solutions" / "day26", chosen).items():
        nbformat.write(notebook, folder / name)
    outcome, record = autograde_alone(work, class_name)
    points = f"{outcome['points']:g}/{outcome['max_points']:g}"
    print(f"{class_name}: {outcome['status']}, {points} in {outcome['seconds']:.0f} s")
    for check in record["verdict"]["checks"]:
        where = f"{check['artifact']:<22} {check['name']:<16}"
        print(f"  {check['status']:<7} {where} {check['measured']:<28} {check['reason'][:90]}")
    print(f"(in {work})")


if __name__ == "__main__":
    main()
