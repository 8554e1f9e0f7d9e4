# The two commands a newcomer needs: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
STRIPE_PORT ?= 12111
ZENDESK_PORT ?= 12112
# The identity provider of OIDC_DEMO=1 make run.
OIDC_PORT ?= 12113

.PHONY: run test bench lint install clean

# pip twice quiet for the project itself: setuptools' "Editable installation" notice, a
# warning for package authors, stays out of a newcomer's first `make run`; errors show.
$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --quiet -e '.[dev]'
	@touch $@

install: $(INSTALLED)

run: $(INSTALLED)
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py demo --host $(HOST) --port $(PORT) \
		--stripe-port $(STRIPE_PORT) --zendesk-port $(ZENDESK_PORT) --oidc-port $(OIDC_PORT)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --cache-dir var/import-linter

test: lint
	DEBUG=$${DEBUG:-1} $(BIN)/pytest

bench: $(INSTALLED)
	DEBUG=$${DEBUG:-1} $(BIN)/python -m bench

clean:
	rm -rf $(VENV) var
