"""Scoring: the verifier's verdict decides the points of every autograded test cell.

nbgrader scores a test cell by whether it raised. Those cells run in the learner's kernel,
which the learner controls, so here each of them is paired with the verifier checks that
prove the same thing from outside. The verifier's points go into the gradebook as the
cell's ``manual_score``, which nbgrader shows and counts instead of the automatic score;
a cell where the two differ is a *disagreement* the instructor gets to see.

A cell earns all its points when every paired check passed, none when one failed, unless the targets
file splits its points over its checks (``[credit]`` in helpers/targets.toml): then it earns the points
of each listed check that passed, and the unlisted ones (accuracy, a loadable file) are conditions for
any points. When a speed check stayed inside the guard band the cell is flagged for an instructor instead. Where the
verifier cannot measure part of a cell (an own model's PyTorch files: their accuracy needs the
learner's code), the cell earns the lower of the verifier's and the notebook's points.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from nbgrader.api import Gradebook, MissingEntry

from grading.course import ASSIGNMENT, autoflush_warnings_ignored
from grading.verify import Check, Verdict
from helpers import contract
from helpers.errors import Day26Error
from helpers.targets import TARGETS_FILE, credit_split


@dataclass(frozen=True)
class CellCheck:
    """Which verifier checks stand behind one autograded test cell (all of them when ``checks`` is empty).

    ``answer`` is the learner's solution cell the test checks (the nearest one above it). nbgrader's
    formgrader has a comment box for solution cells only, so the grader's reason is written there.
    """

    grade_id: str
    notebook: str
    answer: str
    artifact: str
    checks: tuple[str, ...] = ()


VERIFIED_CELLS = (
    CellCheck("00-test-10", "00_start", "00-solution-3", contract.TRACK_CHOICE.file),
    CellCheck("01-test-8", "01_baseline", "01-solution-5", contract.BASELINE.file),
    CellCheck("02-test-7", "02_quantization", "02-solution-4", contract.QUANTIZED_DYNAMIC.file),
    CellCheck("02-test-11", "02_quantization", "02-solution-10", contract.QUANTIZED_STATIC.file),
    CellCheck("03-test-6", "03_pruning", "03-solution-5", contract.PRUNED.file),
    CellCheck("04-test-6", "04_onnx", "04-solution-session", contract.ONNX_FP32.file),
    CellCheck("05-test-5", "05_combined", "05-solution-4", contract.COMBINED.file, ("file", "structure")),
    CellCheck(
        "05-test-9", "05_combined", "05-solution-7", contract.COMBINED.file, ("file", "size", "accuracy", "speed")
    ),
    CellCheck("05-test-12", "05_combined", "05-solution-11", contract.COMPARISON_PLOT.file),
)


@dataclass
class CellScore:
    """The points of one test cell: what the notebook's test gave and what the verifier gives."""

    grade_id: str
    notebook: str
    max_points: float
    notebook_points: float | None  # None: the cell never ran (missing notebook, crash)
    verifier_points: float | None  # None: an instructor decides (speed inside the guard band)
    reason: str

    @property
    def disagrees(self) -> bool:
        """The notebook's own test ran and said otherwise than the verifier."""
        return None not in (self.notebook_points, self.verifier_points) and self.notebook_points != self.verifier_points


def verifier_points(
    cell: CellCheck, max_points: float, verdict: Verdict, split: dict[str, float] | None = None
) -> tuple[float | None, str]:
    """Points of ``cell`` from the verdict, and why. ``split`` is the cell's points per check (by default
    its ``[credit]`` table in the targets file; None or empty: all or nothing)."""
    paired = [
        check
        for check in verdict.checks
        if check.artifact == cell.artifact and (not cell.checks or check.name in cell.checks)
    ]
    if not paired:
        why = "; ".join(c.reason for c in verdict.checks if c.passed is False) or "nothing to check"
        return 0.0, f"{cell.artifact} was not verified: {why}"
    split = credit_split().get(cell.grade_id) if split is None else split
    if split:
        return _points_per_check(cell, max_points, paired, split)
    failed = [check for check in paired if check.passed is False]
    if failed:
        return 0.0, "; ".join(f"{c.artifact} {c.name}: {c.measured} ({c.reason})" for c in failed)
    if any(check.passed is None for check in paired):
        return None, "; ".join(f"{c.artifact} {c.name}: {c.reason}" for c in paired if c.passed is None)
    return max_points, "verified: " + ", ".join(f"{c.name} {c.measured}" for c in paired)


def _points_per_check(
    cell: CellCheck, max_points: float, paired: list[Check], split: dict[str, float]
) -> tuple[float | None, str]:
    """Partial credit: each check named in ``split`` earns its points when it passed; every other paired
    check is a condition for any points. A named check the track does not require gives its points to
    the required ones, and so does one the verifier did not measure because the track does not require it.
    None when a check stayed inside the guard band (an instructor decides)."""
    if abs(sum(split.values()) - max_points) > 1e-9:
        raise Day26Error(
            f'{TARGETS_FILE}: [credit."{cell.grade_id}"] gives {sum(split.values()):g} points, but the test cell '
            f"has {max_points:g} in the notebook. Make them equal, then run day26 autograde again."
        )
    conditions = [check for check in paired if check.name not in split]
    failed = [check for check in conditions if check.passed is False]
    if failed:
        return 0.0, "; ".join(f"{c.artifact} {c.name}: {c.measured} ({c.reason})" for c in failed) + (
            f": a condition for all {max_points:g} points"
        )
    named = {check.name: check for check in paired if check.name in split}
    # the verifier measures only what the track requires (no size check on stocks)
    required = {name: points for name, points in split.items() if name in named and named[name].required}
    if not required:
        return 0.0, f"{cell.artifact}: none of {', '.join(split)} was measured"
    scale = max_points / sum(required.values())
    earned, parts, undecided = 0.0, [], [c for c in conditions if c.passed is None]
    for name, points in required.items():
        worth, check = points * scale, named[name]
        if check.passed is True:
            earned += worth
            parts.append(f"{name} {check.measured}: {worth:g} of {worth:g}")
        elif check.passed is False:
            parts.append(f"{name} {check.measured}, needs {check.target} ({check.reason}): 0 of {worth:g}")
        else:
            undecided.append(check)
            parts.append(f"{name} {check.measured}: {check.reason} ({worth:g} points)")
    parts += [f"{c.name}: {c.reason}" for c in conditions if c.passed is None]
    summary = f"{cell.artifact}: " + "; ".join(parts)
    if undecided:
        return None, f"{summary}; {earned:g} of {max_points:g} points are certain"
    if earned == max_points:
        return earned, f"verified: {summary}"
    return earned, f"partly verified, {earned:g} of {max_points:g} points: {summary}"


def _with_the_notebooks_word(
    points: float | None, reason: str, said: float | None, only_notebook: str | None
) -> tuple[float | None, str]:
    """Where the verifier cannot measure part of what a test cell checks (``only_notebook`` says what),
    the cell earns the lower of the verifier's and the notebook's points; with no notebook result,
    an instructor decides."""
    if not only_notebook or not points:
        return points, reason
    if said is None:
        return None, f"{reason}; {only_notebook}: the notebook's test did not run, an instructor decides"
    outcome = "passed" if said >= points else "failed"
    return min(points, said), f"{reason}; {only_notebook}: the notebook's test {outcome}"


def copy_scores(scratch: str, gradebook: str, learner: str, submitted: datetime.datetime | None = None) -> None:
    """Copy a learner's automatic scores from the sandbox's scratch gradebook into the real one.

    Both arguments are database URLs. Manual scores an instructor already gave are kept. ``submitted``
    (from an LMS bulk download) becomes the submission's timestamp, so the formgrader shows it as late
    when it is after the assignment's due date.
    """
    with Gradebook(scratch) as source, Gradebook(gradebook) as target:
        target.update_or_create_student(learner)
        with autoflush_warnings_ignored():
            if submitted is None:
                target.update_or_create_submission(ASSIGNMENT, learner)
            else:
                target.update_or_create_submission(ASSIGNMENT, learner, timestamp=submitted)
        try:
            executed = source.find_submission(ASSIGNMENT, learner)
        except MissingEntry:
            return  # no notebook ran; the verifier's scores are all there is
        for notebook in executed.notebooks:
            for grade in notebook.grades:
                mine = target.find_grade(grade.name, notebook.name, ASSIGNMENT, learner)
                mine.auto_score = grade.auto_score
                mine.needs_manual_grade = grade.needs_manual_grade
        target.db.commit()


def _answer_comment(book: Gradebook, cell: CellCheck, learner: str) -> object:
    """The gradebook's comment on the answer cell ``cell`` checks; an error when there is none, because
    the grader's reason would be lost (the course's gradebook does not match the source notebooks)."""
    try:
        return book.find_comment(cell.answer, cell.notebook, ASSIGNMENT, learner)
    except MissingEntry:
        raise Day26Error(
            f"gradebook: no comment for answer cell {cell.answer} of {cell.notebook} ({learner}), so the reason "
            f"for test {cell.grade_id} has nowhere to go. The course's notebooks do not match solutions/: "
            "run day26 release again, then day26 autograde."
        ) from None


def apply_verdict(gradebook: str, learner: str, verdict: Verdict, executed: set[str]) -> list[CellScore]:
    """Write the verifier's points of every paired test cell into the gradebook; return them all.

    ``executed`` names the notebooks nbgrader ran to the end; the others' tests never ran.
    """
    scores = []
    with Gradebook(gradebook) as book:
        for cell in VERIFIED_CELLS:
            grade = book.find_grade(cell.grade_id, cell.notebook, ASSIGNMENT, learner)
            points, reason = verifier_points(cell, grade.max_score, verdict)
            said = grade.auto_score if cell.notebook in executed else None
            points, reason = _with_the_notebooks_word(points, reason, said, verdict.notebook_decides.get(cell.artifact))
            scores.append(CellScore(cell.grade_id, cell.notebook, grade.max_score, said, points, reason))
            grade.manual_score = points
            grade.needs_manual_grade = points is None
            comment = _answer_comment(book, cell, learner)  # shown in the formgrader and nbgrader's feedback
            comment.manual_comment = f"grader, for test {cell.grade_id}: {reason}"
            book.db.commit()
    return scores
