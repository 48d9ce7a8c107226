"""The workbook as people use it: JupyterLab and the formgrader, driven in headless Chromium.

The learner path follows the README: unpack the learner bundle, start `jupyter lab
notebooks/day26` (localhost, with a token), open 00_start, type the track, run every notebook
through the Run menu, look at what the page shows, and press nbgrader's Validate button. The
instructor path autogrades the sample class with `day26 autograde`, then opens the formgrader.

Every assertion reads the page, not the files. Screenshots of each step are kept in
test-artifacts/browser/ (or $DAY26_TEST_ARTIFACTS/browser/). Without Chromium the tests skip
with one line saying how to enable them. DAY26_BROWSER_TRACK picks the learner's track
(tabular by default, the quickest); the seconds of each step go to learner-path-<track>.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from jupyter_browser import (
    ENABLE_HINT,
    Screenshots,
    broken_images,
    click_menu,
    close_and_shut_down,
    code_cells,
    dismiss_dialog,
    find_chromium,
    jupyter_lab,
    launch_chromium,
    open_from_file_browser,
    press_validate,
    run_all_cells,
    save_notebook,
    screenshots_folder,
    type_into_cell,
    wait_for_lab,
)
from playwright.sync_api import expect

from grading.bundle import build_bundle
from grading.samples import SAMPLE_CLASS_POINTS, sample_class

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions" / "day26"
TRACK = os.environ.get("DAY26_BROWSER_TRACK", "tabular")
EXERCISES = ["01_baseline", "02_quantization", "03_pruning", "04_onnx", "05_combined"]
NOTEBOOK_SECONDS = 600
REFLECTION = "Latency matters most here: the model answers one request at a time, so I measured batch 1."
TYPED_REFLECTION = "01-answer-11"  # the reflection the test types in the browser before validating

CHROMIUM = find_chromium()
if CHROMIUM is None:  # one line in the test summary, then every other test runs as usual
    pytest.skip(ENABLE_HINT, allow_module_level=True)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright, CHROMIUM)
        yield chromium
        chromium.close()


def _solution_code(cell_source: str) -> str:
    """A learner's answer: the solution's code without nbgrader's solution markers."""
    markers = ("### BEGIN SOLUTION", "### END SOLUTION")
    kept = [line for line in cell_source.splitlines() if not any(marker in line for marker in markers)]
    return "\n".join(kept)


def _answer_like_a_learner(release: Path, name: str, typed_in_browser: tuple[str, ...] = ()) -> None:
    """Fill in the solution cells of the released notebook ``name``: the solution's code, and a
    written reflection; the cells named in ``typed_in_browser`` are left for the test to type."""
    solution = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    answers = {}
    for cell in solution.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta["grade_id"] not in typed_in_browser:
            answers[meta["grade_id"]] = _solution_code(cell.source) if cell.cell_type == "code" else REFLECTION
    path = release / f"{name}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    nbformat.write(notebook, path)


def _cell_index(notebook: Path, grade_id: str) -> int:
    cells = nbformat.read(notebook, as_version=4).cells
    return next(i for i, cell in enumerate(cells) if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _assert_nothing_broken(name: str, cells) -> None:
    """No error output, no stderr, every image rendered, every code cell run."""
    for cell in cells:
        where = f"{name}, code cell {cell.index + 1} ({cell.source[:60]!r})"
        assert cell.prompt.strip() not in ("", "[ ]:"), f"{where} did not run"
        assert not cell.errors, f"{where} shows an error: {cell.errors[0][:600]}"
        assert not cell.stderr, f"{where} writes to stderr: {cell.stderr[0][:600]}"
        assert cell.broken_images == 0, f"{where} shows a broken image"


@pytest.fixture(scope="module")
def learner_folder(tmp_path_factory, day26_home) -> Path:
    """The learner bundle, unpacked as a learner would, solutions filled in for notebooks 01-05."""
    place = tmp_path_factory.mktemp("learner")
    with zipfile.ZipFile(build_bundle(ROOT, place / "day26-learner.zip")) as bundle:
        bundle.extractall(place)
    workbook = place / "day26"
    release = workbook / "notebooks" / "day26"
    shutil.copy(release / "03_pruning.ipynb", release / "unanswered_03_pruning.ipynb")
    for name in EXERCISES:
        _answer_like_a_learner(release, name, typed_in_browser=(TYPED_REFLECTION,))
    return workbook


def _walk_through_the_day(page, server, shots: Screenshots, release: Path, seconds: dict[str, float]) -> None:
    """The learner's day in JupyterLab, step by step, checked from the page."""
    page.goto(server.address("lab"))
    wait_for_lab(page)
    shots.take(page, "lab-opened")

    open_from_file_browser(page, "00_start.ipynb")
    type_into_cell(page, _cell_index(release / "00_start.ipynb", "00-solution-3"), f'TRACK = "{TRACK}"')
    shots.take(page, "00_start-track-typed")
    seconds["00_start"] = run_all_cells(page, NOTEBOOK_SECONDS)
    save_notebook(page)
    cells = code_cells(page)
    shots.take(page, "00_start-run", whole_notebook=True)
    _assert_nothing_broken("00_start", cells)
    assert any(f"Track: {TRACK}" in cell.text for cell in cells), "00_start does not show the chosen track"
    assert any("[ ]" in cell.text and "artifacts/" in cell.text for cell in cells), "no checklist in 00_start"
    close_and_shut_down(page)

    # Before doing notebook 03, the learner validates it: nbgrader lists the failing tests.
    open_from_file_browser(page, "unanswered_03_pruning.ipynb")
    validating = time.monotonic()
    outcome, text = press_validate(page, NOTEBOOK_SECONDS)
    seconds["validate unanswered 03_pruning"] = time.monotonic() - validating
    shots.take(page, "unanswered-03_pruning-validate")
    assert outcome == "failed", text
    assert text.count("The following cell failed") >= 2, text
    assert "save the pruned state_dict to artifacts/pruned.pth" in text, text
    assert "You did not provide a response" in text, text
    dismiss_dialog(page)
    close_and_shut_down(page)

    for name in EXERCISES:
        open_from_file_browser(page, f"{name}.ipynb")
        if name == "01_baseline":
            type_into_cell(page, _cell_index(release / f"{name}.ipynb", TYPED_REFLECTION), REFLECTION, markdown=True)
        seconds[name] = run_all_cells(page, NOTEBOOK_SECONDS)
        save_notebook(page)
        cells = code_cells(page)
        shots.take(page, f"{name}-run", whole_notebook=True)
        _assert_nothing_broken(name, cells)
        assert not broken_images(page), f"{name}: images that did not render: {broken_images(page)}"
        if name in ("01_baseline", "04_onnx", "05_combined"):
            assert any("variant" in cell.text and "size MB" in cell.text for cell in cells), f"{name}: no table"
        if name == "05_combined":
            assert sum(cell.images for cell in cells) >= 1, "05_combined shows no comparison plot"
            shots.take(page, "05_combined-plot", element=page.locator(".jp-OutputArea-output img").last)
            checklists = [cell.text for cell in cells if "artifacts/optimized.onnx" in cell.text]
            assert checklists and "[ ]" not in checklists[-1], f"checklist not all ticked: {checklists[-1:]}"
            assert checklists[-1].count("[x]") >= 6
        # Validate every notebook, as the learner would before handing in: with the bundle's
        # nbgrader_config.py, Validate has the grader's time limit per cell.
        validating = time.monotonic()
        outcome, text = press_validate(page, NOTEBOOK_SECONDS)
        seconds[f"validate {name}"] = time.monotonic() - validating
        shots.take(page, f"{name}-validate")
        assert outcome == "success", f"{name}: {text}"
        assert "passes all the tests" in text
        dismiss_dialog(page)
        close_and_shut_down(page)


def test_a_learner_works_through_the_day_in_jupyterlab(browser, learner_folder, tmp_path, day26_home):
    shots = Screenshots(screenshots_folder(), f"learner-{TRACK}")
    release = learner_folder / "notebooks" / "day26"
    seconds: dict[str, float] = {}
    started = time.monotonic()
    # The README's learner command, run from the unpacked bundle; its helpers come first on the path.
    environment = {"PYTHONPATH": str(learner_folder), "DAY26_HOME": str(day26_home)}
    with jupyter_lab(learner_folder, ["notebooks/day26"], tmp_path, environment) as server:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        with shots.on_failure(page):
            _walk_through_the_day(page, server, shots, release, seconds)
        page.close()
    seconds["whole path"] = time.monotonic() - started
    report = {"track": TRACK, "seconds": {step: round(value, 1) for step, value in seconds.items()}}
    (screenshots_folder() / f"learner-path-{TRACK}.json").write_text(json.dumps(report, indent=1))
    print(f"\nlearner path in the browser, {TRACK} track: {report['seconds']}")


def _course_copy(place: Path) -> Path:
    """A course root like the checkout's (source notebooks, release, nbgrader config), kept apart
    so grading here never touches the checkout's own course/ folder."""
    for folder in ("solutions", "notebooks"):
        shutil.copytree(ROOT / folder, place / folder, ignore=shutil.ignore_patterns("artifacts", ".ipynb_checkpoints"))
    shutil.copy(ROOT / "nbgrader_config.py", place / "nbgrader_config.py")
    return place


def _day26(root: Path, *arguments: str) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "day26"), *arguments]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="module")
def graded_sample_class(tmp_path_factory, day26_home) -> Path:
    """The README's instructor commands on the sample class: autograde, then feedback pages."""
    root = _course_copy(tmp_path_factory.mktemp("course-root"))
    submissions = sample_class(ROOT, tmp_path_factory.mktemp("class") / "submissions", "tabular")
    graded = _day26(root, "autograde", str(submissions), "--workers", "2")
    assert graded.returncode == 0, graded.stdout + graded.stderr
    feedback = _day26(root, "feedback")
    assert feedback.returncode == 0, feedback.stdout + feedback.stderr
    return root


def test_an_instructor_reviews_the_graded_class_in_the_formgrader(browser, graded_sample_class, tmp_path, day26_home):
    shots = Screenshots(screenshots_folder(), "instructor")
    # The README's instructor command: `jupyter lab` in the course folder, then Nbgrader > Formgrader.
    with jupyter_lab(graded_sample_class, [], tmp_path, {"DAY26_HOME": str(day26_home)}) as server:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        with shots.on_failure(page):
            _review_the_class(page, server, shots)
        page.close()


def _review_the_class(page, server, shots: Screenshots) -> None:
    """The instructor's round in the formgrader, checked from the page."""
    page.goto(server.address("lab"))
    wait_for_lab(page)
    click_menu(page, "Nbgrader", "Formgrader")
    formgrader = page.frame_locator(".jp-MainAreaWidget iframe").first
    assignments = formgrader.locator("table tbody tr", has_text="day26")
    assignments.first.wait_for(timeout=60_000)
    shots.take(page, "formgrader-assignments")
    assert formgrader.locator(".alert-warning").count() == 0, formgrader.locator(".alert-warning").first.inner_text()
    cells = assignments.first.locator("td").all_inner_texts()
    assert "5" in [cell.strip() for cell in cells], f"day26 should list 5 submissions (one zip was refused): {cells}"

    assignments.first.locator("a", has_text="5").click()
    rows = formgrader.locator("table tbody tr", has_text="graded")
    rows.first.wait_for(timeout=60_000)
    shots.take(page, "formgrader-submissions")
    scores = {}
    for row in rows.all():
        texts = [text.strip() for text in row.locator("td").all_inner_texts()]
        learner = next(text for text in texts if text in SAMPLE_CLASS_POINTS)
        scores[learner] = next(text for text in texts if " / " in text)
    # Autograded points as `day26 autograde` gave them; the written reflections are still to grade by hand.
    expected = {learner: points for learner, points in SAMPLE_CLASS_POINTS.items() if points is not None}
    assert {learner: int(score.split(" / ")[0]) for learner, score in scores.items()} == expected

    # nbgrader's own Autograde button would run the learner's code outside the sandbox: it says so, and runs nothing.
    reference_row = formgrader.locator("table tbody tr", has_text="reference-solution")
    reference_row.locator("td.autograde a").first.click()
    refusal = formgrader.locator("#error-modal")
    expect(refusal).to_contain_text("turned off in this course", timeout=30_000)
    shots.take(page, "formgrader-autograde-turned-off")
    refusal.locator("button.close").first.click()
    expect(refusal).to_be_hidden(timeout=30_000)
    expect(reference_row.first).to_contain_text(f"{int(expected['reference-solution'])} / ", timeout=30_000)

    formgrader.locator("table tbody tr", has_text="reference-solution").locator("a").first.click()
    notebooks = formgrader.locator("table tbody tr", has_text="05_combined")
    notebooks.first.wait_for(timeout=60_000)
    shots.take(page, "formgrader-reference-solution")
    notebooks.first.locator("a", has_text="05_combined").click()
    comment = formgrader.locator("textarea[id='05-solution-7-comment']")
    comment.wait_for(timeout=60_000)
    comment.scroll_into_view_if_needed()
    shots.take(page, "formgrader-05_combined-grading")
    # The formgrader fills its fields from its API after the page is drawn: wait for the values, not the boxes.
    expect(comment).to_have_value(re.compile(r"^grader, for test 05-test-9: verified"), timeout=30_000)
    expect(formgrader.locator("input[id='05-test-9']")).to_have_value("5", timeout=30_000)

    # The learner's feedback page, opened from JupyterLab's file browser.
    page.locator(".lm-TabBar-tab.jp-mod-current .lm-TabBar-tabCloseIcon").click()
    for folder in ("course", "feedback-html"):
        page.locator(".jp-DirListing-item", has_text=folder).first.dblclick()
        page.locator(".jp-BreadCrumbs", has_text=folder).wait_for(timeout=30_000)
    page.locator(".jp-DirListing-item", has_text="skips-pruning.html").first.dblclick()
    feedback = page.frame_locator(".jp-HTMLViewer iframe").first.locator("body")
    feedback.get_by_text("Autograded points").wait_for(timeout=30_000)
    shots.take(page, "feedback-skips-pruning")
    text = feedback.inner_text()
    assert "Day 26 feedback: skips-pruning" in text and "Autograded points: 20 / 25" in text, text[:500]
    assert "structure" in text
