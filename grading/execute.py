"""Execution: the second stage of grading one submission, run inside the sandbox.

``python -m grading.execute`` autogrades one learner's notebooks with nbgrader, one notebook at a time
(``grading/nbgrader_run.py``), and writes a small JSON report after every notebook, so the grader
knows how far a killed run got. The kernels of the first two notebooks are started before nbgrader
is even loaded (``grading/kernel_ahead.py``): loading nbgrader takes about 5 s, which the kernels spend
importing the day's libraries.

The grader (``grading.autograde``) reads the report and the executed notebooks, and copies the
scores into the real gradebook; learner code never sees the real one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grading.course import ASSIGNMENT
from grading.kernel_ahead import kernel_ahead


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m grading.execute", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--gradebook", type=Path, required=True)
    parser.add_argument("--learner", required=True)
    parser.add_argument("--notebook", action="append", required=True, help="notebook name without .ipynb")
    parser.add_argument("--seconds", type=int, required=True, help="time budget of each notebook")
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args(argv)
    folder = args.workspace / "autograded" / args.learner / ASSIGNMENT  # where nbgrader runs them
    folder.mkdir(parents=True, exist_ok=True)
    kernel_ahead.notebooks_left = len(args.notebook)
    kernel_ahead.start("python3", str(folder), [], ahead=2)  # the first notebook's kernel and the second's
    from grading.nbgrader_run import execute_notebooks  # nbgrader loads while the first kernel starts

    try:
        execute_notebooks(
            args.root, args.workspace, args.gradebook, args.learner, args.notebook, args.seconds, args.report
        )
    finally:
        kernel_ahead.discard()  # one no notebook took (the last notebooks failed before they ran)
    sys.exit(0)


if __name__ == "__main__":
    main()
