"""MkDocs hook (``hooks:`` in ``mkdocs.yml``): each page's repository paths and ``day26`` commands are
checked against the repository (:mod:`grading.docs_check`). A problem is logged as a warning, which
``mkdocs build --strict`` (``make docs``, and the test suite) turns into a failed build."""

from __future__ import annotations

import logging

from grading.docs_check import problems_of

log = logging.getLogger("mkdocs.hooks.day26")


def on_page_markdown(markdown: str, page, config, files) -> str:
    for problem in problems_of(markdown):
        log.warning("%s: %s", page.file.src_path, problem)
    return markdown
