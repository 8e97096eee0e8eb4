# `make run`: set up this machine and run the whole service locally.
# `make test`: every check: ruff, mypy on the pure modules, pytest on SQLite and on PostgreSQL.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck test-sqlite test-postgresql bench clean vendor translations

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python scripts/run_local.py

# The two passes run at once (each has its own database and Redis database): one waits on
# PostgreSQL, workers and the browser while the other computes. Each pass's output is printed
# when it ends.
test: lint typecheck
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgresql

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test-sqlite: $(STAMP)
	$(BIN)/pytest --db=sqlite

test-postgresql: $(STAMP)
	$(BIN)/pytest --db=postgresql

# `make vendor`: refresh the portal's front-end files from package-lock.json (needs npm; `make run`
# does not).
vendor:
	$(PYTHON) scripts/vendor_assets.py

# `make translations`: gather the portal's strings, merge them into the French catalog, and
# compile it (the compiled catalog is committed, so `make run` needs no build step).
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		-o reputation/translations/messages.pot .
	$(BIN)/pybabel update -i reputation/translations/messages.pot -d reputation/translations \
		--width 100 --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d reputation/translations

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
