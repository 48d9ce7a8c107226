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


PYTHON_DECIDERS = ("torch", "onnxruntime", "nbgrader")  # the packages with compiled parts or strict bounds


def _minor_versions(specifier: str) -> set[str]:
    """The Python 3.x versions (3.8 to 3.20) that a Requires-Python specifier admits."""
    from packaging.specifiers import SpecifierSet

    allowed = SpecifierSet(specifier)
    return {f"3.{minor}" for minor in range(8, 21) if allowed.contains(f"3.{minor}.0")}


def _supported_by(package: str) -> set[str]:
    """What ``package``'s own metadata says it runs on: its Requires-Python, narrowed to the Python
    versions its classifiers list when it lists any (onnxruntime ships wheels for exactly those)."""
    from importlib.metadata import metadata

    info = metadata(package)
    admitted = _minor_versions(info.get("Requires-Python") or ">=3")
    listed = {
        c.rsplit("::", 1)[-1].strip()
        for c in info.get_all("Classifier") or []
        if c.startswith("Programming Language :: Python :: 3.")
    }
    return admitted & listed if listed else admitted


def test_requires_python_is_what_torch_onnxruntime_and_nbgrader_support():
    """requires-python (workbook and learner bundle) admits exactly the Pythons on which every one of
    torch 2.13, onnxruntime 1.32 and nbgrader 0.9.6 installs, by those packages' own metadata."""
    supported = set.intersection(*(_supported_by(package) for package in PYTHON_DECIDERS))
    assert {"3.11", "3.12", "3.13", "3.14"} <= supported  # what the metadata said on 2026-12-02
    for pyproject in (ROOT / "pyproject.toml", ROOT / "grading" / "bundle_files" / "pyproject.toml"):
        declared = tomllib.loads(pyproject.read_text())["project"]["requires-python"]
        assert _minor_versions(declared) == supported, (
            f"{pyproject}: {declared} admits {sorted(_minor_versions(declared))}"
        )
    minors = sorted(int(version.split(".")[1]) for version in supported)
    conda_line = f"  - python>=3.{minors[0]},<3.{minors[-1] + 1}"
    for environment in (ROOT / "environment.yml", ROOT / "grading" / "bundle_files" / "environment.yml"):
        assert conda_line in environment.read_text().splitlines(), f"{environment} should say {conda_line.strip()}"
