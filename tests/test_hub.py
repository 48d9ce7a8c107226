"""The class on a course hub, in headless Chromium: `day26 hub` starts JupyterHub with nbgrader's exchange on
localhost; the instructor releases the day in the formgrader; two learners fetch it in the Assignments tab,
one works (the solution notebooks of the tabular track stand in for her work), the other hands the day in
untouched, and both submit; the instructor
collects and grades with `day26 collect` and `day26 autograde` (the sandboxed pipeline, in a terminal),
generates and releases feedback in the formgrader; each learner fetches their own feedback in JupyterLab.

Every step is checked on the page; screenshots go to test-artifacts/browser/ (hub-*.png). Without
Chromium or npm (for JupyterHub's proxy) the test skips with one line saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from hub_ports import free_hub_port
from jupyter_browser import (
    ENABLE_HINT,
    Screenshots,
    click_menu,
    find_chromium,
    launch_chromium,
    screenshots_folder,
    wait_for_lab,
)
from playwright.sync_api import expect

from grading.course import ASSIGNMENT
from grading.samples import choose, notebooks_of

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = find_chromium()
ROSTER = (
    "learner,first_name,last_name,email,canvas_id,sis_user_id,sis_login_id,section,moodle_idnumber\n"
    "ann,Ann,Lee,,,,,,\nbob,Bob,Ng,,,,,,\n"
)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=ENABLE_HINT)


@pytest.fixture(scope="module")
def course_root(tmp_path_factory) -> Path:
    """A course folder as an instructor has it (solutions, the release, the nbgrader settings), with
    JupyterHub's proxy installed the way `make hub` installs it."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: JupyterHub's proxy (configurable-http-proxy) comes from npm")
    root = tmp_path_factory.mktemp("course-root")
    for folder in ("solutions", "notebooks"):
        shutil.copytree(ROOT / folder, root / folder)
    shutil.copyfile(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    (root / "roster.csv").write_text(ROSTER)
    proxy = ["npm", "install", "--prefix", str(root / "course" / "hub"), "--no-audit", "--no-fund", "--silent"]
    subprocess.run([*proxy, "configurable-http-proxy@5"], check=True, timeout=600, capture_output=True)
    return root


@pytest.fixture(scope="module")
def hub(course_root, day26_home):
    """`day26 hub` running on a free port: its address and the two passwords."""
    port = free_hub_port()
    command = [sys.executable, "-m", "grading.cli", "hub", "--roster", str(course_root / "roster.csv"),
               "--instructor", "teacher", "--root", str(course_root), "--port", str(port)]  # fmt: skip
    log = course_root / "hub.log"
    with log.open("wb") as out:
        environment = os.environ | {"DAY26_HOME": str(day26_home)}
        process = subprocess.Popen(command, cwd=course_root, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True, env=environment)  # fmt: skip
    address = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{address}/hub/api", timeout=5)
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the hub did not start: {log.read_text()[-3000:]}")
            time.sleep(1)
    secret = json.loads((course_root / "course" / "hub" / "passwords.json").read_text())
    yield address, secret
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def _log_in(browser, address: str, user: str, password: str):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{address}/hub/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("[type=submit]")
    wait_for_lab(page, seconds=180)
    return context, page


def _formgrader_row(page):
    click_menu(page, "Nbgrader", "Formgrader")
    formgrader = page.frame_locator(".jp-MainAreaWidget iframe").first
    row = formgrader.locator("table tbody tr", has_text=ASSIGNMENT).first
    row.wait_for(timeout=60_000)
    return formgrader, row


def _confirm(formgrader, kind: str) -> None:
    """Close the formgrader's result dialog, after checking it reports success."""
    dialog = formgrader.locator(f"#{kind}-modal")
    expect(dialog).to_be_visible(timeout=120_000)
    dialog.locator("button.close").first.click()
    expect(dialog).to_be_hidden(timeout=30_000)


def _fetch_work_and_submit(learner, name: str, home: Path, shots: Screenshots) -> None:
    """A learner's round in the Assignments tab: fetch the day, work (ann: the day's answers, on the tabular
    track; bob: nothing), submit."""
    with shots.on_failure(learner):
        click_menu(learner, "Nbgrader", "Assignment List")
        learner.locator("#released_assignments_list").get_by_role("button", name="Fetch").click()
        fetched = learner.locator("#fetched_assignments_list")
        expect(fetched).to_contain_text(ASSIGNMENT, timeout=60_000)
        shots.take(learner, f"{name}-fetched")
        assert (home / "05_combined.ipynb").is_file()  # fetched into the learner's home
        if name == "ann":
            solved = notebooks_of(ROOT / "solutions" / ASSIGNMENT, {"00-solution-3": choose("tabular")})
            for notebook_name, notebook in solved.items():
                nbformat.write(notebook, home / notebook_name)
        fetched.get_by_role("button", name="Submit").click()
        expect(learner.locator("#submitted_assignments_list")).to_contain_text(ASSIGNMENT, timeout=60_000)
        shots.take(learner, f"{name}-submitted")


def _fetch_feedback(learner, name: str, home: Path, shots: Screenshots) -> dict[str, Path]:
    """The learner's Fetch Feedback; the feedback pages it brought into their home, by file name."""
    with shots.on_failure(learner):
        learner.reload()
        wait_for_lab(learner)
        click_menu(learner, "Nbgrader", "Assignment List")
        submitted = learner.locator("#submitted_assignments_list")
        submitted.get_by_role("button", name="Fetch Feedback").click()
        expect(submitted).to_contain_text("feedback", timeout=60_000)
        shots.take(learner, f"{name}-feedback-fetched")
    return {path.name: path for path in (home / "feedback").rglob("*.html")}


def test_the_class_loop_runs_on_the_hub_from_release_to_fetched_feedback(hub, course_root):
    from playwright.sync_api import sync_playwright

    address, secret = hub
    shots = Screenshots(screenshots_folder(), "hub")
    homes = {name: course_root / "course" / "hub" / "homes" / name / ASSIGNMENT for name in ("ann", "bob")}
    seconds = {}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, CHROMIUM)
        started = time.monotonic()
        teacher, page = _log_in(browser, address, "teacher", secret["instructor"])
        with shots.on_failure(page):
            formgrader, row = _formgrader_row(page)
            row.locator("td.release a").click()  # the formgrader's Release: into nbgrader's exchange
            expect(row.locator("td.status")).to_contain_text("released", timeout=60_000)
            shots.take(page, "released")
            _confirm(formgrader, "success")
        seconds["release"] = round(time.monotonic() - started, 1)

        started = time.monotonic()
        learners = {name: _log_in(browser, address, name, secret["learners"]) for name in homes}
        for name, (_, learner) in learners.items():
            _fetch_work_and_submit(learner, name, homes[name], shots)
        seconds["fetch and submit, two learners"] = round(time.monotonic() - started, 1)

        started = time.monotonic()  # the formgrader's Collect, then the sandboxed grader in a terminal
        with shots.on_failure(page):
            row.locator("td.collect a").click()
            _confirm(formgrader, "success")
        assert (course_root / "course" / "collected" / "ann" / ASSIGNMENT / "05_combined.ipynb").is_file()
        day26 = [sys.executable, "-m", "grading.cli"]
        graded = subprocess.run([*day26, "autograde", str(course_root / "course" / "collected"), "--root",
                                 str(course_root), "--workers", "1", "--json"],
                                check=True, capture_output=True, text=True, timeout=1500)  # fmt: skip
        outcomes = {outcome["learner"]: outcome for outcome in json.loads(graded.stdout)}
        assert (outcomes["ann"]["points"], outcomes["ann"]["max_points"]) == (25.0, 25.0), outcomes["ann"]
        assert outcomes["bob"]["points"] < 5, outcomes["bob"]  # the day handed in untouched earns next to nothing
        seconds["collect and grade"] = round(time.monotonic() - started, 1)

        started = time.monotonic()
        with shots.on_failure(page):
            page.reload()
            wait_for_lab(page)
            formgrader, row = _formgrader_row(page)
            row.locator("td.generate-feedback a").click()
            _confirm(formgrader, "success")
            row.locator("td.release-feedback a").click()
            _confirm(formgrader, "success")
            shots.take(page, "feedback-released")
        seconds["feedback"] = round(time.monotonic() - started, 1)

        started = time.monotonic()
        pages = {name: _fetch_feedback(learner, name, homes[name], shots) for name, (_, learner) in learners.items()}
        assert "grader, for test 05-test-9: verified" in pages["ann"]["05_combined.html"].read_text()
        bob_page = pages["bob"]["05_combined.html"].read_text()  # his own page, with his own reasons
        assert "grader, for test 05-test-9" in bob_page and "05-test-9: verified" not in bob_page
        seconds["fetch feedback, two learners"] = round(time.monotonic() - started, 1)
        teacher.close()
        for context, _ in learners.values():
            context.close()
        browser.close()
    (screenshots_folder() / "hub-seconds.json").write_text(json.dumps(seconds, indent=1))
