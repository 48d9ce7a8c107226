"""nbgrader's own autograde, turned off in the course folder: it would run learner code outside the sandbox.

The formgrader's "Autograde" button runs ``nbgrader autograde`` inside the Jupyter server's own process,
and ``nbgrader autograde`` on the command line in the course folder does the same: the learner's code
then runs with the instructor's rights, the network and every file, and nbgrader copies the submission
over the autograded folder that ``day26 autograde`` filled. The course's ``nbgrader_config.py`` calls
:func:`turn_off_nbgrader_autograde`, so both say in one line what to use instead and change nothing.
``day26 autograde`` is unaffected: it gives nbgrader its settings itself (``grading/course.py``) and
never reads ``nbgrader_config.py``. The formgrader's Collect button runs ``day26 collect``
(:mod:`grading.exchange_collect`), so what it collects keeps the learners' artifacts and times.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nbgrader.apps.api import NbGraderAPI
from nbgrader.apps.autogradeapp import AutogradeApp

from helpers.errors import Day26Error

REASON = (
    "nbgrader's Autograde is turned off in this course: it would run the learner's code outside the sandbox. "
    "Grade with `day26 autograde` (sandboxed, verified); its scores and comments appear here."
)


def _refused_in_the_formgrader(self, assignment_id, student_id, force=True, create=True) -> dict:
    """What the formgrader shows for its Autograde button: the reason, and nothing run or copied."""
    return {"success": False, "error": REASON, "log": REASON}


def _refused_on_the_command_line(self) -> None:
    print(f"nbgrader autograde: {REASON}", file=sys.stderr)
    sys.exit(2)


def _collected_for_the_grader(self, assignment_id, update=True) -> dict:
    """The formgrader's Collect button, routed to ``day26 collect``: every file kept, times and late flags."""
    from grading.autograde import Course
    from grading.exchange_collect import collect_from_exchange

    root = Path(self.coursedir.root)
    try:
        folder = collect_from_exchange(Course(root, root / "course"))
    except Day26Error as error:
        return {"success": False, "error": str(error), "log": str(error)}
    count = sum(1 for path in folder.iterdir() if path.is_dir())
    done = f"{count} submission(s) collected into {folder}, artifacts kept. Grade them with: day26 autograde {folder}"
    return {"success": True, "log": done}


def turn_off_nbgrader_autograde() -> None:
    """Make the formgrader's Autograde button and ``nbgrader autograde`` refuse, with :data:`REASON`, and
    its Collect button collect for the sandboxed grader (``day26 collect``)."""
    NbGraderAPI.autograde = _refused_in_the_formgrader
    NbGraderAPI.collect = _collected_for_the_grader
    AutogradeApp.start = _refused_on_the_command_line
