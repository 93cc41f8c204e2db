# One-command set-up: `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ALADIN_STAMP := widgets/_vendor/.fetched
PYTEST_ARGS ?=

.PHONY: setup run test bench sysdeps clean

setup: $(STAMP) $(ALADIN_STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,bench]'
	@touch $@

$(ALADIN_STAMP): $(STAMP)
	$(BIN)/python -m widgets.vendor
	@touch $@

# System packages the tests drive: chromium (browser tests) and stilts (TAP validator).
sysdeps:
	@.ci/install-system-packages

run: setup
	$(BIN)/portal up

test: setup sysdeps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) widgets/_vendor build *.egg-info
