"""The front door and the documentation site: the README stays short and points into the docs, every
page names only files, commands and flags that exist, the site builds in strict mode, and the
measured results are rendered from their JSON files, never typed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grading.docs_check import problems_of
from grading.results import RESULTS_FOLDER, read_runs, rendered_pages, run_name

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))


def _mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config)]
    command += ["--site-dir", str(site)]
    return subprocess.run(command, cwd=config.parent, capture_output=True, text=True, timeout=300)


def test_the_readme_is_a_front_door_of_at_most_150_lines():
    lines = README.read_text().splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines: move the detail into docs/"
    text = README.read_text()
    assert "make demo" in text and "make test" in text
    # no lab diary: no dates and no run history in the front door
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b|\b\d{1,2} (January|February|March|April|May|June|July|August|"
                         r"September|October|November|December)\b", text)  # fmt: skip


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda path: str(path.relative_to(ROOT)))
def test_every_path_command_and_flag_a_page_names_exists(page):
    assert problems_of(page.read_text()) == []


def test_the_check_fails_on_a_missing_file_an_unknown_command_and_a_renamed_flag():
    text = "`helpers/gone.py`\n```bash\nday26 frobnicate\nday26 verify SUB --no-such-flag\nmake deploy\n```\n"
    problems = problems_of(text)
    assert "`helpers/gone.py` does not exist" in problems
    assert "`day26 frobnicate`: no such subcommand" in problems
    assert "`day26 verify --no-such-flag`: no such option" in problems
    assert "`make deploy`: no such target" in problems


def _slug(heading: str) -> str:
    """The anchor MkDocs (Python-Markdown's toc) gives a heading."""
    return re.sub(r"[\s-]+", "-", re.sub(r"[^\w\s-]", "", heading.strip().lower()))


def test_the_readmes_links_into_the_docs_reach_a_page_and_its_heading():
    links = re.findall(r"\]\(([^)#\s]+\.md)(?:#([\w-]+))?\)", README.read_text())
    assert links, "the README links into the docs"
    for target, anchor in links:
        page = ROOT / target
        assert page.is_file(), f"README links to {target}, which does not exist"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", page.read_text(), re.MULTILINE)
            assert anchor in {_slug(heading) for heading in headings}, f"{target} has no heading #{anchor}"


def test_the_site_builds_in_strict_mode(tmp_path):
    built = _mkdocs_build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert built.returncode == 0, built.stderr[-3000:]
    assert (tmp_path / "site" / "results" / "index.html").is_file()
    assert (tmp_path / "site" / "instructor" / "grading.html").is_file()  # offline: pages as files


def test_the_strict_build_fails_on_a_page_naming_a_missing_file(tmp_path):
    """The hook is live: a page that names a file the repository lacks fails the build."""
    copy = tmp_path / "repo"
    shutil.copytree(DOCS, copy / "docs")
    shutil.copy(ROOT / "mkdocs.yml", copy / "mkdocs.yml")
    (copy / "grading").mkdir()
    shutil.copy(ROOT / "grading" / "docs_hook.py", copy / "grading" / "docs_hook.py")
    design = copy / "docs" / "design.md"
    design.write_text(design.read_text() + "\nThe tables live in `helpers/no_such_module.py`.\n")
    built = _mkdocs_build(copy / "mkdocs.yml", tmp_path / "site")
    assert built.returncode != 0
    assert "helpers/no_such_module.py` does not exist" in built.stderr


def test_the_results_pages_are_rendered_from_their_json_files():
    folder = ROOT / RESULTS_FOLDER
    runs = read_runs(folder)
    assert runs, "no measured run in docs/results: run `make results`"
    for name, run in runs:
        assert name == run_name(run), f"{name}.json holds a run named {run_name(run)}"
        assert run["tracks"], f"{name}.json measured no track"
    for page, text in rendered_pages(folder).items():
        assert (folder / page).is_file(), f"docs/results/{page} is missing: run `day26 results --render-only`"
        assert (folder / page).read_text() == text, f"docs/results/{page} differs from its JSON: it was edited by hand"
    stray = {path.name for path in folder.glob("*.md")} - set(rendered_pages(folder))
    assert not stray, f"pages without a JSON file in docs/results: {stray}"


def test_the_zoo_pages_are_rendered_from_their_rows():
    """docs/results/zoo/DATE.md is `tests/own_models/zoo.py --render DATE.json --page` of its rows, never typed."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("zoo_page", ROOT / "tests" / "own_models" / "zoo.py")
    zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zoo)
    folder = ROOT / "docs" / "results" / "zoo"
    for rows_file in sorted(folder.glob("*.json")):
        page = rows_file.with_suffix(".md")
        assert page.is_file(), f"{page} is missing: run tests/own_models/zoo.py --render {rows_file} --page {page}"
        assert page.read_text() == zoo.page(json.loads(rows_file.read_text()), [str(rows_file)]), (
            f"{page} differs from what its rows render: it was edited by hand"
        )
    stray = {path.stem for path in folder.glob("*.md")} - {path.stem for path in folder.glob("*.json")}
    assert not stray, f"zoo pages without their rows in {folder}: {stray}"
