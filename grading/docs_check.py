"""What the README and the documentation say about the repository, checked against it.

Prose goes stale when a file moves or a command changes; these checks make that a failure, in the
docs build (``grading/docs_hook.py``, run by ``mkdocs build --strict``) and in the tests:

* every repository path written in code (``helpers/targets.toml``, ``tests/own_models/grade_family.py``)
  exists, apart from the files learners and commands create (:data:`MADE_AT_RUN_TIME`);
* every ``day26 SUBCOMMAND --flag`` written in code is a subcommand of the instructor's ``day26``
  (:func:`grading.cli.build_instructor_parser`) and every flag is one of its options;
* every ``make TARGET`` written in code is a target of the repository's ``Makefile``;
* every ``python -m grading.MODULE`` names a module that exists.

Only code (inline code and fenced blocks) is read: prose may say "day26 card" loosely.
"""

from __future__ import annotations

import argparse
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Paths under the repository's folders that learners or commands create; the docs may name them.
MADE_AT_RUN_TIME = (
    "notebooks/day26/artifacts",
    "notebooks/day26/week5_model.toml",
    "notebooks/day26/week5",
    "notebooks/day26/course_data.toml",
    "notebooks/day26/experiments",
    "docs/results/",  # a run's JSON file and page: made by `day26 results`
    "course/",  # the grading workspace: gradebook, records, feedback, the learner bundle
    "day26-demo/",  # what `make demo` writes
    "site/",  # the built documentation site
    "helpers/reference_models/",  # the trained reference models, put into the learner bundle by day26 release
)

_FENCED = re.compile(r"^(```|~~~)[^\n]*\n(.*?)^\1", re.MULTILINE | re.DOTALL)
_INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_PATH = re.compile(r"(?<![\w./-])([A-Za-z_.][\w.-]*(?:/[\w.-]+)*/?)")
_DAY26 = re.compile(r"(?:^|(?<=[\s(`])|(?<=bin/)|(?<=Scripts\\))day26 ([a-z][a-z-]*)([^\n`#|;&]*)")
_MAKE = re.compile(r"(?:^|(?<=[\s(`]))make ([a-z][\w-]*)")
_MODULE = re.compile(r"python3? -m (grading(?:\.\w+)+)")


def code_in(markdown: str) -> list[str]:
    """The code of a Markdown text: each fenced block's lines, then each inline code span."""
    blocks = [match.group(2) for match in _FENCED.finditer(markdown)]
    prose = _FENCED.sub("", markdown)
    lines = [line for block in blocks for line in block.splitlines()] + _INLINE.findall(prose)
    return [re.split(r"(?:^|\s)#\s", line)[0] for line in lines]  # a shell comment is prose


@cache
def _top_level() -> frozenset[str]:
    """The names at the repository's top (what a fresh clone has, and the run-time folders)."""
    tracked = {path.name for path in ROOT.iterdir() if not path.name.startswith(".")}
    return frozenset(tracked | {prefix.split("/")[0] for prefix in MADE_AT_RUN_TIME})


def repository_paths(code: str) -> list[str]:
    """The repository paths a piece of code names: words that start with a top-level name and go into it."""
    found = []
    for candidate in _PATH.findall(code):
        candidate = candidate.rstrip(".,:")
        first = candidate.split("/", 1)[0]
        if first in _top_level() and ("/" in candidate or "." in candidate) and candidate != first + "/":
            found.append(candidate)
    return found


def missing_paths(markdown: str) -> list[str]:
    """Repository paths named in the text's code that do not exist."""
    missing = []
    for code in code_in(markdown):
        for path in repository_paths(code):
            made = any(path.startswith(prefix) for prefix in MADE_AT_RUN_TIME)
            if not made and not (ROOT / path).exists() and path not in missing:
                missing.append(path)
    return missing


@cache
def _subcommands() -> dict[str, frozenset[str]]:
    """The instructor's ``day26`` subcommands, each with its option strings."""
    from grading.cli import build_instructor_parser

    parser = build_instructor_parser()
    [commands] = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return {
        name: frozenset(option for action in sub._actions for option in action.option_strings)
        for name, sub in commands.choices.items()
    }


@cache
def _make_targets() -> frozenset[str]:
    return frozenset(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def command_problems(markdown: str) -> list[str]:
    """``day26`` subcommands and flags, ``make`` targets and ``python -m`` modules named in the text's
    code that do not exist, one line each."""
    problems = []
    for code in code_in(markdown):
        for name, rest in _DAY26.findall(code):
            if name not in _subcommands():
                problems.append(f"`day26 {name}`: no such subcommand")
                continue
            for flag in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", rest):
                if flag not in _subcommands()[name]:
                    problems.append(f"`day26 {name} {flag}`: no such option")
        unknown = [target for target in _MAKE.findall(code) if target not in _make_targets()]
        problems += [f"`make {target}`: no such target" for target in unknown]
        for module in _MODULE.findall(code):
            as_path = ROOT / Path(*module.split("."))
            if not as_path.with_suffix(".py").is_file() and not (as_path / "__init__.py").is_file():
                problems.append(f"`python -m {module}`: no such module")
    return list(dict.fromkeys(problems))


def problems_of(markdown: str) -> list[str]:
    """Every problem of one Markdown text: missing paths, then unknown commands."""
    return [f"`{path}` does not exist" for path in missing_paths(markdown)] + command_problems(markdown)
