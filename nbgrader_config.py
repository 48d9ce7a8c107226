"""nbgrader's settings for this course, read by the `nbgrader` commands and by the formgrader in
JupyterLab when they run in this folder. They come from grading/course.py, the one place they
are written: the gradebook and the submitted, autograded and feedback folders live in course/,
where `day26 autograde` puts them. nbgrader's own autograde (the formgrader's Autograde button, and
`nbgrader autograde` here) is turned off: it would run learner code outside the sandbox
(grading/formgrader_guard.py)."""

from pathlib import Path

from grading.course import course_config
from grading.formgrader_guard import turn_off_nbgrader_autograde

c = get_config()  # noqa: F821 (nbgrader defines get_config when it reads this file)
c.merge(course_config(Path(__file__).resolve().parent))
turn_off_nbgrader_autograde()
