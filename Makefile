# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := service/static/vendor
DATABASE_URL ?=
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test install assets db demo serve test-sqlite test-postgres bench clean chromium screenshots

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed assets

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENDOR)/.built: node_modules/.installed scripts/vendor-assets.sh $(wildcard frontend/*)
	sh scripts/vendor-assets.sh
	touch $@

assets: $(VENDOR)/.built

db: install
	$(BIN)/placements init-db
	$(BIN)/placements deploy bpmn/placement --if-changed --note "Lifecycle as shipped"

demo: db
	$(BIN)/placements demo-data

run: demo
	$(BIN)/placements serve

test: install
	sh scripts/ensure-postgres.sh
	$(BIN)/pytest -q -p no:cacheprovider

test-sqlite: install
	PLACEMENTS_TEST_DATABASES=sqlite $(BIN)/pytest -q -p no:cacheprovider

bench: install
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/timers.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) instance .pytest_cache

screenshots: install
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest -q -p no:cacheprovider tests/browser
