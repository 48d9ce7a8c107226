"""The habits of the project: install lists agree, lint is clean, CI runs the README's command."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pip_section_of_environment_yml() -> list[str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(index for index, line in enumerate(lines) if line.strip() == "- pip:")
    return [line.strip()[2:] for line in lines[start + 1 :] if line.strip().startswith("- ")]


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    listed = {entry for entry in _pip_section_of_environment_yml() if entry != "-e ."}
    assert listed == wanted, f"only in pyproject: {wanted - listed}; only in environment.yml: {listed - wanted}"


def test_torch_is_pinned_exactly():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "torch==2.13.0" in project["dependencies"]


def test_ruff_lint_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", str(ROOT)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci
    assert "make demo" in readme


def test_license_and_gitignore_keep_generated_files_out():
    assert (ROOT / "LICENSE").is_file()
    ignored = (ROOT / ".gitignore").read_text()
    for pattern in ("*.pth", "*.onnx", "artifacts/", ".venv/"):
        assert re.search(rf"^{re.escape(pattern)}$", ignored, re.MULTILINE), pattern


def test_every_track_has_thresholds_for_every_artifact():
    from helpers.targets import threshold_for
    from helpers.tracks import TRACKS

    for name in TRACKS:
        for artifact in ("baseline", "quantized_dynamic", "pruned", "onnx", "optimized"):
            assert threshold_for(name, artifact).max_accuracy_drop > 0
    assert threshold_for("images", "quantized_static").min_size_reduction > 1


def test_nbgrader_and_the_formgrader_read_the_course_settings():
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.CourseDirectory.db_url == f"sqlite:///{ROOT / 'course' / 'gradebook.db'}"
    assert config.CourseDirectory.source_directory == "solutions"
    assert config.CourseDirectory.autograded_directory == "course/autograded"
