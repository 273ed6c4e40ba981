# Every target bootstraps what it needs: a fresh machine needs only Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install lint test demo bench bench-scale clean catalogs

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
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

demo: install
	$(BIN)/syndication init
	$(BIN)/syndication articles import examples/news.jsonl
	$(BIN)/syndication feeds build
	$(BIN)/syndication status
	@echo "feeds are in $(CURDIR)/feeds (open feeds/index.opml for the list)"
	$(BIN)/syndication digest preview weekly-city --period 2026-11-18 --out preview
	@echo "digest preview: open preview/digest.html, preview/digest.txt or preview/message.eml"
	$(BIN)/syndication subscribers import examples/subscribers.csv --confirmed
	$(BIN)/syndication digest compile --period 2026-11-18
	$(BIN)/syndication send
	@echo "delivered digests are in $(CURDIR)/outbox/<list>/<period>/*.eml"
	@echo "the scheduler, once (what cron runs): it rebuilds changed feeds, compiles each list's"
	@echo "latest complete week if that week ended less than scheduler.max_digest_delay (24h) ago,"
	@echo "has articles and is not compiled yet, then sends what is queued. Whether that happens"
	@echo "depends on today's date: its log lines and the status below say what it did."
	$(BIN)/python scheduler.py --once
	$(BIN)/syndication status
	@echo
	@echo "Open the site: $(BIN)/syndication serve"
	@echo "then visit http://127.0.0.1:8000/ (feeds under /feeds/, digests under /digests/)"

# Message catalogs (README, Languages): extract every string of the public pages and the
# e-mails into syndication/locale/messages.pot, merge it into each language's .po (a new
# language: make catalogs ADD_LANGUAGE=ja starts syndication/locale/ja;
# zh_Hant for zh-Hant), then compile and check
# them. The .po files are the source and are committed; the .mo files are not (the service
# compiles a .po in memory when its .mo is missing or older).
LOCALES := syndication/locale
catalogs: install
	$(BIN)/pybabel extract -F babel.cfg -k translate:2 -k t:2 -c Translators: --no-location \
		--sort-output -o $(LOCALES)/messages.pot .
	$(if $(ADD_LANGUAGE),$(BIN)/pybabel init -D messages -i $(LOCALES)/messages.pot -d $(LOCALES) -l $(ADD_LANGUAGE))
	$(BIN)/pybabel update -D messages -i $(LOCALES)/messages.pot -d $(LOCALES) --no-fuzzy-matching \
		--ignore-obsolete
	$(BIN)/pybabel compile -D messages -d $(LOCALES) --statistics

bench: install
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_feeds.py
	$(BIN)/python bench/bench_digest.py
	$(BIN)/python bench/bench_send.py
	$(BIN)/python bench/bench_web.py
	$(BIN)/python bench/bench_startup.py
	$(BIN)/python bench/bench_languages.py

# Feed builds at 5,000 / 30,000 / 100,000 articles next to a plain lxml writer, and with
# SYNDICATION_BENCH_PG_URL set the PostgreSQL import next to a plain COPY (issue 16).
bench-scale: install
	$(BIN)/python bench/bench_scale.py

clean:
	rm -rf $(VENV) feeds/*/ feeds/index.opml feeds/.fragments.sqlite* feeds/.build-* outbox preview syndication.db syndication.db-* syndication.db.scheduler.lock .mypy_cache .ruff_cache .pytest_cache test-artifacts
