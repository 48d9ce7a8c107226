"""nbgrader's own autograde, turned off in the course folder: it would run learner code outside the sandbox.

The formgrader's "Autograde" button runs ``nbgrader autograde`` inside the Jupyter server's own process,
and ``nbgrader autograde`` on the command line in the course folder does the same: the learner's code
then runs with the instructor's rights, the network and every file, and nbgrader copies the submission
over the autograded folder that ``day26 autograde`` filled. The course's ``nbgrader_config.py`` calls
:func:`turn_off_nbgrader_autograde`, so both say in one line what to use instead and change nothing.
``day26 autograde`` is unaffected: it gives nbgrader its settings itself (``grading/course.py``) and
never reads ``nbgrader_config.py``.
"""

from __future__ import annotations

import sys

from nbgrader.apps.api import NbGraderAPI
from nbgrader.apps.autogradeapp import AutogradeApp

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


def turn_off_nbgrader_autograde() -> None:
    """Make the formgrader's Autograde button and ``nbgrader autograde`` refuse, with :data:`REASON`."""
    NbGraderAPI.autograde = _refused_in_the_formgrader
    AutogradeApp.start = _refused_on_the_command_line
