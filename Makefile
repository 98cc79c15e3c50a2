# The course's commands. Everything runs inside .venv, which `make setup` creates.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
STAMP   := $(VENV)/.installed
ASSIGNMENT  ?= rnn
SUBMISSIONS ?= tests/fixtures/class_rnn
# What grading feedback says about hidden checks: full (labels, expected vs got), counts or none.
HIDDEN_FEEDBACK ?= full
SIZE        ?= gpu

.PHONY: setup system-deps book test test-fast lint lab release grade bench-grader gpu-figures student-edition \
        publish-student publish clean

$(STAMP): requirements.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .   # rnncourse, autograder, benchmarks and the rnn-grade command
	touch $(STAMP)

## The book's front-end packages, pinned in tests/browser/package-lock.json: MathJax (Sphinx copies it into
## _build/html/_static, so equations render offline) and playwright-core (drives Chromium in tests/test_browser.py).
NODE_DEPS := tests/browser/node_modules/.package-lock.json
$(NODE_DEPS): tests/browser/package.json tests/browser/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js >= 20) is needed: the book serves MathJax from tests/browser/node_modules" >&2; exit 1; }
	npm ci --prefix tests/browser --no-audit --no-fund
	touch $@

setup: $(STAMP) $(NODE_DEPS)

## Tools from the OS: bubblewrap (the grader's sandbox), Chromium (the browser test); installed when we may, else explained.
system-deps:
	@bash .ci/system-deps
	[ -d jupyterhub/node_modules ] || ! command -v npm >/dev/null || npm ci --prefix jupyterhub --no-audit --no-fund

## Build the HTML book: the chapters whose code changed run in parallel (cached by jupyter-cache), a failing
## cell fails the build, and the execution time of each chapter is printed at the end.
book: setup
	$(BIN)/python scripts/build_book.py
	@echo "Book: file://$(CURDIR)/_build/html/index.html"

## Set everything up, lint, and run the whole test suite.
test: setup system-deps lint
	$(BIN)/python -m pytest -n auto

## The unit tier alone (tests marked `unit`): under a minute, for the edit-test loop.
test-fast: setup
	$(BIN)/python -m pytest -m unit -q

## ruff, configured in pyproject.toml.
lint: setup
	$(BIN)/ruff check .

## Open JupyterLab on the student release.
lab: setup
	$(BIN)/jupyter lab exercises/

## Regenerate the student release exercises/ASSIGNMENT from solutions/ASSIGNMENT.
release: setup
	$(BIN)/nbgrader generate_assignment $(ASSIGNMENT) --force

## Grade a folder of submissions (one sub-folder per student) through the hardened grader.
grade: setup
	$(BIN)/python -m autograder grade $(ASSIGNMENT) $(SUBMISSIONS) --hidden-feedback $(HIDDEN_FEEDBACK)

## Grade a synthetic class with the hardened grader and with plain nbgrader; print the ratio and the profile.
## CLUSTER=loopback: on a Dask scheduler and 1, then 2, workers on 127.0.0.1; print the scaling and a projection.
bench-grader: setup system-deps
	$(BIN)/python benchmarks/grading.py $(if $(CLUSTER),--cluster $(CLUSTER))

## Write the public student edition (no solutions, hidden tests or grader) into _build/student-edition.
student-edition: setup
	$(BIN)/python -m autograder.edition _build/student-edition

## ... and commit it to the public repository named by `repository:` in _config.yml.
publish-student: setup
	$(BIN)/python -m autograder.edition _build/student-edition --publish

## Build the book and push the HTML to the gh-pages branch of the public repository (GitHub Pages).
publish: book
	$(BIN)/ghp-import --no-jekyll --push --force --remote "$$($(BIN)/python -m autograder.edition --repository)" \
	    _build/html

clean:
	rm -rf _build autograder/gradebook.db* autograder/submitted autograder/autograded autograder/feedback autograder/results autograder/reports autograder/grades autograder/received autograder/release
