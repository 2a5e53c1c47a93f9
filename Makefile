# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-dev worker bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

## Set up, migrate, load the demo post and serve it on http://127.0.0.1:5000, with the mail worker alongside
run: install
	$(FLASK) db upgrade
	$(FLASK) demo load
	$(FLASK) mail worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host $(HOST) --port $(PORT)

## Deliver queued mail (MAIL_URL, or the log) until stopped
worker: install
	$(FLASK) mail worker

# The OpenID Connect provider the identity tests sign in through (skipped, with the reason, without npm).
tests/oidc/node_modules/.package-lock.json: tests/oidc/package-lock.json
	if command -v npm >/dev/null; then cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error; fi

## Set up and run the whole test suite (set TEST_DATABASE_URL for PostgreSQL)
test: install-dev tests/oidc/node_modules/.package-lock.json
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
