PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pip byte-compiles what it installs, so that `import nnlite` (and every `nnlite` command)
# starts fast even where Python is told not to write bytecode (PYTHONDONTWRITEBYTECODE).
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# Two stamps: the demo needs only the run-time dependencies (a fresh clone runs it in well
# under a minute); the tests add the dev extra (pytest, hypothesis, dask, notebook runner).
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test bench lint clean

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $(RUN_STAMP)

$(DEV_STAMP): $(RUN_STAMP)
	$(PIP) -e ".[dev]"
	touch $(DEV_STAMP)

demo: $(RUN_STAMP)
	$(BIN)/python -m nnlite.demo

test: $(DEV_STAMP)
	$(BIN)/python -m pytest --doctest-modules nnlite tests

bench: $(DEV_STAMP)
	$(BIN)/python -m benchmarks

lint: $(DEV_STAMP)
	$(BIN)/ruff check nnlite tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
