# Two commands from a fresh clone (Python 3.11 and make are all they need):
#   make demo   set up .venv and run the main job (day26 demo)
#   make test   set up .venv and run the test suite (lint and the docs build included)
#   make docs   build the documentation site into site/ (strict: a broken link or path fails)
#   make results  measure what the docs quote into docs/results/ (about 15 minutes on 2 cores)
#   make hub    start a course hub on this machine: JupyterHub, nbgrader's exchange (ROSTER=, INSTRUCTOR=)
VENV ?= .venv
TRACK ?= images

ROSTER ?= roster.csv
INSTRUCTOR ?= instructor
HUB_PROXY = course/hub/node_modules/.bin/configurable-http-proxy

.PHONY: setup demo test lab docs results hub

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@

demo: setup
	$(VENV)/bin/day26 demo --track $(TRACK)

test: setup
	$(VENV)/bin/python -m pytest

lab: setup
	$(VENV)/bin/jupyter lab notebooks/day26

docs: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

results: setup
	$(VENV)/bin/day26 results

$(HUB_PROXY):
	npm install --prefix course/hub --no-audit --no-fund --silent configurable-http-proxy@5

hub: setup $(HUB_PROXY)
	$(VENV)/bin/day26 hub --roster $(ROSTER) --instructor $(INSTRUCTOR) $(HUB_OPTIONS)
