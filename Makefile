# The two commands of the README: `make demo` and `make test`.
# Each creates .venv with the Python found on PATH (3.11 or newer) and
# installs what it needs; nothing else has to be on the machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench lab clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("daskcollab needs Python 3.11 or newer, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files re-run the install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

$(VENV)/.installed-lab: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[notebook]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/daskcollab demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-test
	$(BIN)/daskcollab bench

# JupyterLab on the notebooks, from the same .venv (the Dask dashboard link is printed in each notebook).
lab: $(VENV)/.installed-lab
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) daskcollab-results .pytest_cache
