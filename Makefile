# Every target bootstraps what it needs: a fresh machine needs only Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install lint test demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

demo: install
	$(BIN)/syndication init
	$(BIN)/syndication articles import examples/news.jsonl
	$(BIN)/syndication status
	@test -s .secret_key || $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))' > .secret_key
	@echo
	@echo "Open the site: SYNDICATION_SECRET_KEY=\$$(cat .secret_key) $(BIN)/syndication serve"
	@echo "then visit http://127.0.0.1:8000/ (feeds under /feeds/, digests under /digests/)"

bench: install
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_web.py

clean:
	rm -rf $(VENV) feeds outbox syndication.db syndication.db-* .mypy_cache .ruff_cache .pytest_cache test-artifacts
