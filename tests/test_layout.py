"""The layout: the learner package stands alone and ships whole; the instructor package builds on it."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from grading.bundle import build_bundle

ROOT = Path(__file__).resolve().parent.parent
LEARNER_COMMANDS = ("train", "inspect", "check", "validate", "card", "pack")
INSTRUCTOR_COMMANDS = (
    "optimize",
    "release",
    "autograde",
    "verify",
    "feedback",
    "grades",
    "leaderboard",
    "throughput",
    "demo",
)


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_learner_package_imports_nothing_of_the_instructor_package():
    offenders = {
        str(path.relative_to(ROOT)): sorted(name for name in _imported_modules(path) if name.split(".")[0] == "grading")
        for path in sorted((ROOT / "helpers").rglob("*.py"))
    }
    assert not {path: names for path, names in offenders.items() if names}


def test_the_release_notebooks_import_nothing_of_the_instructor_package():
    import nbformat

    for notebook in sorted((ROOT / "solutions" / "day26").glob("*.ipynb")):
        for cell in nbformat.read(notebook, as_version=4).cells:
            if cell.cell_type != "code" or cell.source.lstrip().startswith("%"):
                continue
            nodes = list(ast.walk(ast.parse(cell.source)))
            modules = [alias.name for node in nodes if isinstance(node, ast.Import) for alias in node.names]
            modules += [node.module or "" for node in nodes if isinstance(node, ast.ImportFrom)]
            instructor = [module for module in modules if module.split(".")[0] == "grading"]
            assert not instructor, f"{notebook.name} imports {instructor}: {cell.source[:80]}"
            assert "import_module(" not in cell.source, f"{notebook.name}: imports by name: {cell.source[:80]}"


def test_no_code_cell_of_a_solution_notebook_imports_the_same_thing_twice():
    import nbformat

    for notebook in sorted((ROOT / "solutions" / "day26").glob("*.ipynb")):
        for cell in nbformat.read(notebook, as_version=4).cells:
            if cell.cell_type != "code" or cell.source.lstrip().startswith("%"):
                continue
            imports = [
                ast.dump(node)
                for node in ast.walk(ast.parse(cell.source))
                if isinstance(node, ast.Import | ast.ImportFrom)
            ]
            repeated = sorted({line for line in imports if imports.count(line) > 1})
            assert not repeated, f"{notebook.name}: a cell repeats an import: {cell.source[:120]}"


def _unpacked_bundle(tmp_path: Path) -> Path:
    with zipfile.ZipFile(build_bundle(ROOT, tmp_path / "bundle.zip")) as bundle:
        bundle.extractall(tmp_path)
    return tmp_path / "day26"


def _run_without_the_grader(folder: Path, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` with only the bundle's helpers on the path and ``grading`` made unimportable."""
    blocked = "import sys; sys.modules['grading'] = None\n"  # any 'import grading...' now raises ImportError
    return subprocess.run(
        [sys.executable, "-c", blocked + code], cwd=folder, capture_output=True, text=True, env={"PATH": ""}
    )


def test_the_bundle_ships_the_whole_learner_package_and_it_works_alone(tmp_path):
    folder = _unpacked_bundle(tmp_path)
    shipped = {p.relative_to(folder) for p in (folder / "helpers").rglob("*") if p.is_file()}
    wanted = {
        p.relative_to(ROOT)
        for p in (ROOT / "helpers").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert shipped == wanted
    modules = sorted(f"helpers.{p.stem}" for p in (folder / "helpers").glob("*.py") if p.stem != "__init__")
    code = "import importlib, helpers\n"
    code += f"assert helpers.__file__.startswith({str(folder)!r}), helpers.__file__\n"
    code += f"for name in {modules!r}: importlib.import_module(name)\n"
    code += "from helpers.targets import threshold_for; print(threshold_for('images', 'optimized'))\n"
    code += "from helpers.cli import main; main(['--help'])\n"
    finished = _run_without_the_grader(folder, code)
    assert finished.returncode == 0, finished.stderr
    assert "Threshold(" in finished.stdout
    for command in LEARNER_COMMANDS:
        assert command in finished.stdout, command
    for command in INSTRUCTOR_COMMANDS:
        assert command not in finished.stdout.split("Day 26")[-1], command


def test_the_instructor_command_line_adds_its_commands_to_the_learners():
    finished = subprocess.run([sys.executable, "-m", "grading.cli", "--help"], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    for command in (*LEARNER_COMMANDS, *INSTRUCTOR_COMMANDS, "lane-check"):
        assert command in finished.stdout, command
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["day26"] == "grading.cli:main"


def test_the_bundle_carries_the_learners_readme_and_install_files(tmp_path):
    folder = _unpacked_bundle(tmp_path)
    readme = (folder / "README.md").read_text()
    assert readme == (ROOT / "grading" / "bundle_files" / "README.md").read_text()
    assert "autograde" not in readme and "make demo" not in readme and "make lab" in readme
    learner = tomllib.loads((folder / "pyproject.toml").read_text())
    assert learner["project"]["scripts"]["day26"] == "helpers.cli:main"
    assert learner["tool"]["setuptools"]["packages"] == ["helpers", "helpers.schemas"]
    assert "targets.toml" in learner["tool"]["setuptools"]["package-data"]["helpers"]


def test_the_learners_install_pins_what_the_workbook_pins():
    workbook = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    learner_file = ROOT / "grading" / "bundle_files" / "pyproject.toml"
    learner = set(tomllib.loads(learner_file.read_text())["project"]["dependencies"])
    instructor_packages = ("distributed", "psutil", "jupyterhub")
    instructor_only = {entry for entry in workbook if entry.split("=")[0].split(">")[0] in instructor_packages}
    assert learner == workbook - instructor_only, f"only in the learner's: {learner - workbook}"
    lines = (ROOT / "grading" / "bundle_files" / "environment.yml").read_text().splitlines()
    start = next(index for index, line in enumerate(lines) if line.strip() == "- pip:")
    listed = {line.strip()[2:] for line in lines[start + 1 :] if line.strip().startswith("- ")} - {"-e ."}
    assert listed == learner


def test_the_bundles_validate_settings_are_the_graders(tmp_path):
    from traitlets.config.loader import PyFileConfigLoader

    from grading.course import course_config
    from grading.sandbox import Limits

    folder = _unpacked_bundle(tmp_path)
    learner = PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()
    grader = course_config(ROOT, tmp_path / "course")
    assert learner.Execute.timeout == grader.Execute.timeout == Limits().notebook_seconds
    assert learner.ExecutePreprocessor.timeout == grader.ExecutePreprocessor.timeout
