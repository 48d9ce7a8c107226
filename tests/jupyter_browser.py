"""Drive JupyterLab and nbgrader's formgrader in headless Chromium, the way a person does.

Used by tests/test_browser.py. Chromium comes from the operating system (Debian's package
``chromium``); Playwright for Python drives it through ``executable_path``, so nothing is
downloaded. Every helper here works from what the page shows: prompts, outputs, dialogs.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

ROOT = Path(__file__).resolve().parent.parent
ENABLE_HINT = (
    "browser tests need Chromium: install Debian's package (`apt-get install chromium`) "
    "or set DAY26_CHROMIUM to a Chromium binary"
)
# As root on a machine with no outside network: no sandbox, no GPU, no calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# JupyterLab settings for a test run: every cell in the page (no virtual scrolling), no news pop-ups.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"checkForUpdates": False, "fetchNews": "false"},
}
# Pixels the open notebook's content needs, however JupyterLab scrolls it.
NOTEBOOK_HEIGHT = """() => Math.max(0, ...[...document.querySelectorAll(
    '.jp-NotebookPanel .jp-Notebook, .jp-NotebookPanel .jp-WindowedPanel-outer')].map(e => e.scrollHeight))"""
NOTEBOOK_TO_TOP = """() => document.querySelectorAll(
    '.jp-NotebookPanel .jp-Notebook, .jp-NotebookPanel .jp-WindowedPanel-outer').forEach(e => { e.scrollTop = 0; })"""
STDERR = "application/vnd.jupyter.stderr"
ERROR = "application/vnd.jupyter.error"


def find_chromium() -> str | None:
    """The Chromium binary to drive: $DAY26_CHROMIUM, else `chromium` on PATH; None if neither.

    A DAY26_CHROMIUM that names no file is a mistake to report, not a reason to skip.
    """
    chosen = os.environ.get("DAY26_CHROMIUM")
    if chosen and not Path(chosen).is_file():
        raise FileNotFoundError(f"DAY26_CHROMIUM={chosen} is not a file: point it at a Chromium binary")
    return chosen or shutil.which("chromium") or shutil.which("chromium-browser")


def screenshots_folder() -> Path:
    """Where screenshots go: $DAY26_TEST_ARTIFACTS/browser, else test-artifacts/browser in the checkout."""
    base = Path(os.environ.get("DAY26_TEST_ARTIFACTS") or ROOT / "test-artifacts")
    folder = base / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class JupyterServer:
    """A running `jupyter lab` on localhost, reached with its token."""

    url: str
    token: str
    log: Path

    def address(self, path: str) -> str:
        """The browser address of ``path`` (e.g. "lab/tree/00_start.ipynb"), token included."""
        separator = "&" if "?" in path else "?"
        return f"{self.url}{path}{separator}token={self.token}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextmanager
def jupyter_lab(cwd: Path, arguments: list[str], scratch: Path, environment: dict[str, str]) -> Iterator[JupyterServer]:
    """Start `jupyter lab ARGUMENTS` in ``cwd`` on a free localhost port with a token; stop it after.

    ``scratch`` holds the server's own settings and runtime files, so the test never touches the
    user's; ``environment`` is added to the server's (and so to its kernels').
    """
    settings = scratch / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    port, token = _free_port(), secrets.token_hex(16)
    env = (
        os.environ
        | environment
        | {
            "JUPYTER_CONFIG_DIR": str(scratch / "jupyter-config"),
            "JUPYTER_RUNTIME_DIR": str(scratch / "jupyter-runtime"),
        }
    )
    log = scratch / "jupyter-lab.log"
    command = [
        str(Path(sys.executable).parent / "jupyter"), "lab", *arguments,
        "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={scratch / 'lab-workspaces'}",
    ]  # fmt: skip
    if os.geteuid() == 0:  # CI machines run as root; Jupyter refuses that unless told
        command.append("--allow-root")
    with open(log, "wb") as log_file:
        server = subprocess.Popen(command, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    running = JupyterServer(f"http://127.0.0.1:{port}/", token, log)
    try:
        _wait_until_answering(running, server)
        yield running
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_answering(server: JupyterServer, process: subprocess.Popen, seconds: float = 90) -> None:
    request = urllib.request.Request(server.url + "api/status", headers={"Authorization": f"token {server.token}"})
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab stopped at start (exit {process.returncode}):\n{server.log_text()}")
        try:
            with urllib.request.urlopen(request, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    raise RuntimeError(f"jupyter lab did not answer in {seconds:.0f} s:\n{server.log_text()}")


def launch_chromium(playwright, chromium: str):
    """Headless Chromium from the operating system, driven by Playwright."""
    return playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)


class Screenshots:
    """Numbered full-page screenshots of one test, in the order taken."""

    def __init__(self, folder: Path, prefix: str) -> None:
        self.folder, self.prefix, self.taken = folder, prefix, []

    def take(self, page, step: str, element=None, whole_notebook: bool = False) -> Path:
        """Screenshot the page, or only ``element`` (a Playwright locator) scrolled into view.

        ``whole_notebook`` makes the window as tall as the open notebook for the shot (JupyterLab
        scrolls inside its own panels, so a "full page" shot would show only what fits).
        """
        path = self.folder / f"{self.prefix}-{len(self.taken) + 1:02d}-{step}.png"
        if element is not None:
            element.scroll_into_view_if_needed()
            element.screenshot(path=str(path))
        elif whole_notebook:
            window = page.viewport_size
            tall = min(max(window["height"], page.evaluate(NOTEBOOK_HEIGHT) + 200), 20000)
            page.set_viewport_size({"width": window["width"], "height": tall})
            page.wait_for_timeout(500)  # let JupyterLab lay the panels out again
            page.evaluate(NOTEBOOK_TO_TOP)
            page.screenshot(path=str(path))
            page.set_viewport_size(window)
        else:
            page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path

    @contextmanager
    def on_failure(self, page) -> Iterator[None]:
        """Keep a screenshot of the page as it was when a step failed."""
        try:
            yield
        except Exception:
            self.take(page, "FAILED")
            raise


# --- JupyterLab, as a learner uses it ------------------------------------------------------------


def wait_for_lab(page, seconds: float = 90) -> None:
    """Wait until JupyterLab has drawn its file browser."""
    page.locator(".jp-DirListing-content").wait_for(timeout=seconds * 1000)


def open_from_file_browser(page, name: str, seconds: float = 60) -> None:
    """Double-click ``name`` in the file browser and wait for its notebook's kernel to be idle."""
    page.locator(".jp-DirListing-item", has_text=name).first.dblclick()
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=seconds * 1000)
    wait_for_idle_kernel(page, seconds)


def wait_for_idle_kernel(page, seconds: float = 60) -> None:
    """Wait until the notebook toolbar says the kernel is idle."""
    page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
        timeout=seconds * 1000
    )


def click_menu(page, menu: str, item: str) -> None:
    """Choose ``item`` in the menu bar's ``menu`` (e.g. "Run", "Run All Cells")."""
    page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def type_into_cell(page, index: int, text: str, markdown: bool = False) -> None:
    """Replace the content of cell ``index`` (0-based) with ``text``, typed as a person would.

    A markdown cell is opened for editing with a double click first, and rendered after with
    Ctrl+Enter (which, unlike Shift+Enter, adds no new cell at the end of the notebook).
    """
    cell = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").nth(index)
    if markdown:
        cell.locator(".jp-MarkdownOutput").dblclick()
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.type(text)
    if markdown:
        page.keyboard.press("Control+Enter")


def code_prompts(page) -> list[str]:
    """The prompt of every code cell, e.g. "[3]:", "[*]:" (queued or running) or "[ ]:" (not run)."""
    return page.locator(".jp-NotebookPanel .jp-Notebook .jp-CodeCell .jp-InputArea-prompt").all_inner_texts()


def run_all_cells(page, seconds: float) -> float:
    """Run > Run All Cells, wait until no cell is queued or running; return the seconds it took."""
    started = time.monotonic()
    deadline = started + seconds
    # The run has begun once a cell is queued or running, or (a very quick notebook) all have run.
    begun = (
        "() => { const prompts = [...document.querySelectorAll("
        "'.jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt')].map(p => p.innerText);"
        " return prompts.some(p => p.includes('*')) || prompts.every(p => /\\[\\d+\\]/.test(p)); }"
    )
    # A person whose click did not take (a menu that closed as it opened, on a loaded machine)
    # clicks again: up to three tries, each given 20 s to show a queued cell.
    for attempt in range(3):
        # Run All Cells acts on the current notebook: click into it first, as a person would.
        page.keyboard.press("Escape")
        page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell .jp-InputPrompt").first.click()
        click_menu(page, "Run", "Run All Cells")
        try:
            page.wait_for_function(begun, timeout=20_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    while time.monotonic() < deadline:
        prompts = code_prompts(page)
        if not any("*" in prompt for prompt in prompts):
            wait_for_idle_kernel(page)
            return time.monotonic() - started
        time.sleep(0.5)
    raise TimeoutError(f"cells still running after {seconds:.0f} s: {code_prompts(page)}")


def save_notebook(page) -> None:
    """File > Save Notebook, and wait until the tab no longer shows unsaved changes."""
    click_menu(page, "File", "Save Notebook")
    page.wait_for_function("() => !document.querySelector('.jp-mod-current.jp-mod-dirty')", timeout=30_000)


def close_and_shut_down(page) -> None:
    """File > Close and Shut Down Notebook, confirming the dialog."""
    click_menu(page, "File", "Close and Shut Down Notebook")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.locator(".jp-NotebookPanel").wait_for(state="detached", timeout=30_000)


@dataclass
class CellView:
    """What one code cell shows in the page."""

    index: int
    prompt: str
    source: str
    text: str
    stderr: list[str]
    errors: list[str]
    images: int
    broken_images: int


def code_cells(page) -> list[CellView]:
    """Every code cell of the open notebook as the page shows it."""
    found = page.evaluate(
        """([STDERR, ERROR]) => [...document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-CodeCell')]
        .map((cell, index) => {
          const outputs = [...cell.querySelectorAll('.jp-OutputArea-output')];
          const ofType = (type) => outputs.filter(o => o.getAttribute('data-mime-type') === type).map(o => o.innerText);
          const images = [...cell.querySelectorAll('.jp-OutputArea-output img')];
          return {
            index,
            prompt: cell.querySelector('.jp-InputArea-prompt')?.innerText ?? '',
            source: cell.querySelector('.cm-content')?.innerText ?? '',
            text: outputs.map(o => o.innerText).join('\\n'),
            stderr: ofType(STDERR),
            errors: ofType(ERROR),
            images: images.length,
            broken_images: images.filter(i => !(i.complete && i.naturalWidth > 0)).length,
          };
        })""",
        [STDERR, ERROR],
    )
    return [CellView(**cell) for cell in found]


def broken_images(page) -> list[str]:
    """The source of every image in the open notebook (outputs and markdown) that did not render."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.jp-NotebookPanel img')]
        .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src') ?? '')"""
    )


def press_validate(page, seconds: float) -> tuple[str, str]:
    """Press nbgrader's Validate button; return the dialog's outcome ("success" or "failed") and text."""
    page.locator(".jp-NotebookPanel .validate-button").click()
    body = page.locator(".jp-Dialog .validation-success, .jp-Dialog .validation-failed")
    body.first.wait_for(timeout=seconds * 1000)
    outcome = "success" if page.locator(".jp-Dialog .validation-success").count() else "failed"
    return outcome, page.locator(".jp-Dialog").first.inner_text()


def dismiss_dialog(page) -> None:
    page.locator(".jp-Dialog .jp-mod-accept").first.click()
    page.locator(".jp-Dialog").wait_for(state="detached", timeout=10_000)
