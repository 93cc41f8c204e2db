# One-command set-up: `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ALADIN_STAMP := widgets/_vendor/.fetched
DATA_STAMP := $(VENV)/.data
# configurable-http-proxy (JupyterHub's proxy, from the npm registry) for the hub integration test
CHP_VERSION := 5.3.0
CHP_STAMP := $(VENV)/node/.installed-$(CHP_VERSION)
PYTEST_ARGS ?=

.PHONY: setup data run test bench sysdeps clean

setup: $(STAMP) $(ALADIN_STAMP) $(DATA_STAMP)

# The folder run and test use as GAMMAPY_DATA: the one given, else the copy `make setup` downloaded.
DATA = GAMMAPY_DATA="$${GAMMAPY_DATA:-$$($(BIN)/portal data path)}"

# editable_mode=compat: the project folder goes on the import path (a .pth line), so a user's folder named
# portal/ or widgets/ beside a script or notebook cannot shadow the packages (setuptools' default editable
# hook runs after the path search, which would take such a folder for a namespace package).
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt --config-settings editable_mode=compat -e '.[test,bench]'
	@touch $@

$(ALADIN_STAMP): $(STAMP)
	$(BIN)/python -m widgets.vendor
	@touch $@

# The gammapy data (H.E.S.S. DL3 DR1, catalogs): $GAMMAPY_DATA when it has them, else downloaded as
# gammapy does into $PORTAL_DATA_DIR/gammapy-data (checksums, resume). Offline, a note and set-up goes
# on (the next set-up tries again); `make data` downloads and fails loudly.
$(DATA_STAMP): $(STAMP)
	@$(BIN)/portal data fetch --optional > /dev/null
	@test -z "$$($(BIN)/portal data path)" || touch $@

$(CHP_STAMP): $(STAMP)
	@if command -v npm >/dev/null 2>&1; then \
	  npm install --prefix $(VENV)/node --no-audit --no-fund --loglevel=error configurable-http-proxy@$(CHP_VERSION) \
	  && touch $@; \
	else echo "note: no npm, so no configurable-http-proxy: the JupyterHub test will fail (.ci/install-system-packages installs npm)"; fi

data: $(STAMP)
	$(BIN)/portal data fetch --verbose

# System packages the tests drive: chromium (browser tests) and stilts (TAP validator).
sysdeps:
	@.ci/install-system-packages

run: setup
	$(DATA) $(BIN)/portal up

# configurable-http-proxy is for the JupyterHub test only: `make test` installs it, `make run` does not
test: sysdeps setup $(CHP_STAMP)
	$(DATA) $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(DATA) $(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) widgets/_vendor build *.egg-info
