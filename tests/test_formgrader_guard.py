"""nbgrader's own autograde is turned off in the course folder (grading/formgrader_guard.py): the
formgrader's Autograde button and `nbgrader autograde` say why in one line and run nothing, while
`day26 autograde` (tests/test_autograde.py) grades as before. The button in the browser:
tests/test_browser.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_nbgrader_autograde_in_the_course_folder_refuses_and_says_why(tmp_path):
    ran = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", "day26", "--student", "someone"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert ran.returncode == 2
    assert "would run the learner's code outside the sandbox" in ran.stderr and "day26 autograde" in ran.stderr
    assert not (ROOT / "course" / "autograded" / "someone").exists()


def test_the_formgraders_autograde_call_returns_the_reason_and_runs_nothing(tmp_path):
    # The formgrader reads nbgrader_config.py in the server's process, then calls NbGraderAPI.autograde.
    config_file = str(ROOT / "nbgrader_config.py")
    script = f"""
import json
from traitlets.config import Config
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
config = Config()
exec(open({config_file!r}).read(), {{"get_config": lambda: config, "__file__": {config_file!r}}})
api = NbGraderAPI(CourseDirectory(config=config), config=config)
print(json.dumps(api.autograde("day26", "someone")))
"""
    ran = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    result = json.loads(ran.stdout.strip().splitlines()[-1])
    assert result["success"] is False and "turned off in this course" in result["error"]
