"""nbgrader's settings for this course, read by the `nbgrader` commands and by the formgrader in
JupyterLab when they run in this folder. They come from grading/course.py, the one place they
are written: the gradebook and the submitted, autograded and feedback folders live in course/,
where `day26 autograde` puts them."""

from pathlib import Path

from grading.course import course_config

c = get_config()  # noqa: F821 (nbgrader defines get_config when it reads this file)
c.merge(course_config(Path(__file__).resolve().parent))
