# One command to set up and start Ember (`make run`), one to run the tests (`make test`).
# The real interpreter is resolved once: a pyenv shim on PATH costs 100+ ms per start.
PYTHON ?= $(shell python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 9000
DATA_DIR ?= ./.ember

.PHONY: install install-test run test bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/install-system-packages.sh
	scripts/install-system-packages.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

install-test: $(VENV)/.installed-test

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: install
	$(BIN)/ember serve --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

test: install-test
	$(BIN)/python -m pytest -q

bench: install-test
	$(BIN)/python benchmarks/invoke_latency.py

clean:
	rm -rf $(VENV) $(DATA_DIR)
