# The commands in the README. Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app eventapp
STAMP := $(VENV)/.installed-stamp
CATALOGS := $(patsubst %.po,%.mo,$(wildcard eventapp/translations/*/LC_MESSAGES/messages.po))

.PHONY: run test test-sqlite test-fast lint bench install translations e2e-tools extract-messages clean

run: install translations instance/config.py  ## set up everything, then serve the demo
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	$(FLASK) users demo-login
	$(FLASK) dev

test: install translations e2e-tools  ## the whole suite, on SQLite and on a throwaway PostgreSQL server
	$(BIN)/pytest -n auto

test-sqlite: install translations e2e-tools  ## the suite on SQLite only (quicker while working)
	$(BIN)/pytest -n auto -m "not postgres"

test-fast: install translations  ## the inner loop: SQLite only, no browser, no live servers
	$(BIN)/pytest -n auto -m "not postgres and not e2e and not slow"

lint: install  ## ruff: the rules and the formatting, over the whole tree
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install translations  ## every benchmark in bench/, each printing its RESULT line
	@for script in bench/*.py; do \
		case $$script in bench/_*|bench/bare_*) continue;; esac; \
		$(BIN)/python $$script || exit 1; \
	done

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

translations: $(CATALOGS)

# axe-core for the accessibility checks of tests/e2e, from the npm registry. Without npm the
# browser tests skip locally; under CI=true a missing npm fails the run.
E2E_TOOLS := tests/e2e/node_modules/.package-lock.json
e2e-tools: $(E2E_TOOLS)

$(E2E_TOOLS): tests/e2e/package.json tests/e2e/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error; \
	elif [ "$$CI" = "true" ]; then \
		echo "npm is missing: the accessibility tests need Node.js and npm" >&2; exit 1; \
	fi

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@ 2>/dev/null

extract-messages: install  ## refresh the English catalogue after changing strings
	$(BIN)/pybabel extract -F eventapp/translations/babel.cfg -k _l -o eventapp/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i eventapp/translations/messages.pot -d eventapp/translations --no-fuzzy-matching --ignore-obsolete --width 100

# A local installation gets its own random secret; the file is never committed.
instance/config.py:
	mkdir -p instance
	sed "s/^SECRET_KEY = .*/SECRET_KEY = \"$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(32))')\"/" instance/config.example.py > $@

clean:
	rm -rf $(VENV) .pytest_cache
