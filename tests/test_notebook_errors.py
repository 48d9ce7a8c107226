"""A Day26Error raised in a notebook shows one clear line, not a traceback; other errors keep theirs."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient


def _run(cells: list[str], folder) -> list[dict]:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    client = NotebookClient(notebook, timeout=120, allow_errors=True, resources={"metadata": {"path": str(folder)}})
    client.execute()
    return [output for cell in notebook.cells for output in cell.outputs if output.output_type == "error"]


def test_a_day26_error_in_a_notebook_is_one_line(tmp_path, monkeypatch, day26_home):
    monkeypatch.delenv("DAY26_TRACK", raising=False)
    errors = _run(
        [
            "from helpers.workbook import setup_notebook\nsetup_notebook()",  # no track chosen yet
            "raise ValueError('an ordinary bug')",
        ],
        tmp_path,
    )
    day26, ordinary = errors
    assert day26.ename == "Day26Error" and "no track chosen yet" in day26.evalue
    assert len(day26.traceback) == 1 and "Run the notebook 00_start first" in day26.traceback[0]
    assert ordinary.ename == "ValueError" and len(ordinary.traceback) > 1  # a real bug keeps its traceback
