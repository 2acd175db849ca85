# pinlock's own workflow. Quick start: `make lock` (venv + our locks), `make test` (lint + tests).
# PYTHON may be any Python the README promises (3.10 to 3.13); its own lock is installed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The lock made for this Python: requirements/dev-py312.txt for a 3.12 PYTHON.
PY_TAG := $(shell $(PYTHON) -c 'import sys; print("py%d%d" % sys.version_info[:2])' 2>/dev/null)
DEV_LOCK := requirements/dev-$(PY_TAG).txt

.PHONY: lock test lint pytest bench clean

$(STAMP): pyproject.toml $(DEV_LOCK)
	@test -f "$(DEV_LOCK)" || { echo "no lock for PYTHON=$(PYTHON) ($(PY_TAG)): pinlock supports Python 3.10 to 3.13" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(DEV_LOCK):
	@echo "no lock for PYTHON=$(PYTHON) ($(PY_TAG)): pinlock supports Python 3.10 to 3.13" >&2; exit 2

# Compile our own locks with pinlock itself, for every Python in [tool.pinlock] python-version
# (dev.in is layered on main.txt: shared packages keep main's versions, per Python), then sync
# this venv to its lock with pinlock (it keeps itself): the venv is as the lock says, and the
# stamp is newer than the locks a compile touched.
lock: $(STAMP)
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pinlock compile
	$(BIN)/pinlock sync --quiet --python $(BIN)/python $(DEV_LOCK)
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

test: lint pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
