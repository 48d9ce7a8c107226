"""The nbgrader course: where its folders are and how nbgrader is configured.

The repository is the course root: ``solutions/`` holds the source notebooks (nbgrader's
"source" folder) and ``notebooks/`` the student release. The gradebook and the other
workspaces of the instructor live under ``course/`` (ignored by git).
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.exc import SAWarning
from traitlets.config import Config

ASSIGNMENT = "day26"
CELL_TIMEOUT_SECONDS = 600  # nbgrader's default of 30 s is too short for training and export


@contextmanager
def autoflush_warnings_ignored() -> Iterator[None]:
    """nbgrader 0.9.6 builds a new submission's rows with SQLAlchemy autoflush on, which warns
    that objects are "not in session" although every row is written. Silence exactly that."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=SAWarning, message=".*not in session")
        yield


def put_environment_tools_on_path() -> None:
    """nbgrader runs the ``alembic`` command (gradebook migrations) from PATH; make sure the
    one installed beside this Python is found even when the environment is not activated."""
    tools = str(Path(sys.executable).parent)
    if tools not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = tools + os.pathsep + os.environ.get("PATH", "")


# Folders a learner's run creates beside the notebooks; nbgrader must never copy them from the
# instructor's solutions folder over a learner's (an instructor who ran the solutions has them).
NOT_COURSE_FILES = [
    "artifacts",
    "experiments",
    "*.pth",
    "*.onnx",
    "*.onnx.data",
    "*.png",
    ".ipynb_checkpoints",
    "__pycache__",
]


def course_config(root: str | Path, workspace: str | Path | None = None, gradebook: str | Path | None = None) -> Config:
    """nbgrader settings for the course rooted at ``root``.

    ``workspace`` (default ``root/course``) holds the gradebook and the submitted, autograded
    and feedback folders; ``gradebook`` overrides the gradebook file (the sandbox grades
    into a scratch copy).
    """
    root = Path(root).resolve()
    workspace = Path(workspace).resolve() if workspace else root / "course"
    workspace.mkdir(parents=True, exist_ok=True)
    gradebook = Path(gradebook).resolve() if gradebook else workspace / "gradebook.db"
    put_environment_tools_on_path()
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = "day26"
    config.CourseDirectory.source_directory = "solutions"
    config.CourseDirectory.release_directory = "notebooks"
    config.CourseDirectory.db_url = f"sqlite:///{gradebook}"
    for step in ("submitted", "autograded", "feedback"):
        setattr(config.CourseDirectory, f"{step}_directory", os.path.relpath(workspace / step, root))
    config.CourseDirectory.ignore = NOT_COURSE_FILES
    # nbgrader's release and collect go through an exchange folder; one inside the workspace that
    # exists and is writable keeps the formgrader free of its "exchange directory" warning.
    exchange = workspace / "exchange"
    exchange.mkdir(exist_ok=True)
    config.Exchange.root = str(exchange)
    # Execute.timeout is the one nbgrader honours (ExecutePreprocessor.timeout alone is not always).
    config.Execute.timeout = CELL_TIMEOUT_SECONDS
    config.ExecutePreprocessor.timeout = CELL_TIMEOUT_SECONDS
    config.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    return config
