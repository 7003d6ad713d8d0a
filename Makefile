# ClaimFlow: the two commands a fresh machine needs are `make run` and `make test`.
# Both install uv (pinned, into .tools/) and the locked workspace first; nothing else is assumed.

UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
PYTHON ?= python3
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint typecheck pytest sync contract clean browser

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# The ops view's browser tests drive the distribution's headless Chromium (Playwright never downloads one).
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver

browser: $(CHROMIUM)  ## Install Chromium (Debian packages) when it is missing.

# Bytecode is compiled at install: this environment sets PYTHONDONTWRITEBYTECODE, so without it every process
# (ten per stack, many more in the test suite) compiled each module it imports from source, 1.5 s of CPU per start.
sync: $(UV)
	$(UV) sync --frozen --compile-bytecode
	$(UV) run --frozen --no-sync python -m compileall -q -j 0 src shared/src services/*/src

run: sync  ## The main job: embedded broker + every service and worker on SQLite (Ctrl-C stops).
	$(UV) run claimflow up

test: sync browser lint typecheck pytest  ## Lint, type-check and run every test against real broker and databases.

lint: sync
	$(UV) run ruff format --check .
	$(UV) run ruff check .

typecheck: sync
	$(UV) run mypy

pytest: sync browser
	$(UV) run pytest

contract: sync  ## Regenerate the committed event schemas and AsyncAPI document.
	$(UV) run claimflow events schemas --write

clean:
	rm -rf var .mypy_cache .ruff_cache
