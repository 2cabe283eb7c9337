# 地域力創造ポータル: `make run` serves the portal, `make test` runs every test.
# Both set everything up first on a machine that has Python 3.12+, make and git.

SHELL := /bin/sh
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ENV_FILE := .env

.PHONY: run test setup serve migrate superuser lint format messages check-deploy a11y-report bench bench-pages bench-search \
	clean help
.PHONY: backup restore

help:
	@echo "make run         set up, migrate, load content and serve at http://127.0.0.1:$(PORT)"
	@echo "make test        set up and run every test (DATABASE_URL=postgres://... for PostgreSQL)"
	@echo "make superuser   create an administrator account for the admin"
	@echo "make backup      write the database and the uploaded files to var/backups/portal-<time>.tar.gz"
	@echo "make restore BACKUP=var/backups/portal-....tar.gz   replace the database and the uploaded files"
	@echo "                 with the archive's, after asking (CONFIRM=yes: without asking)"
	@echo "make lint        ruff check, ruff format --check and djhtml --check"
	@echo "make messages    update and compile the English UI catalog"
	@echo "make a11y-report re-measure the accessibility results shown on the policy page"
	@echo "make bench       page load (bench-pages: BENCH_CASES=100000, BENCH_EXPERTS=10000) and search"
	@echo "                 (bench-search: BENCH_DOCS=100000)"
	@echo "                 benchmarks; also on PostgreSQL when DATABASE_URL=postgres://..."
	@echo "make loadtest    60 s at 64 connections on a mix of pages (LOADTEST_SECONDS, LOADTEST_CONNECTIONS);"
	@echo "                 fails on errors or growing worker memory; also on PostgreSQL when DATABASE_URL=..."

$(PY):
	@py="$$(scripts/find-python)" || exit 1; \
	echo "Creating $(VENV) with $$py"; \
	"$$py" -m venv $(VENV)

$(STAMP): $(PY) requirements.txt requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

# Local settings for this machine, made once and kept out of git: a secret key of its own,
# local host names, plain HTTP on 127.0.0.1, mail to the console. Variables set in the
# environment win over these (portal/settings.py, load_env_file).
$(ENV_FILE): | $(PY)
	@umask 077; { \
	  echo "# Written by make on $$(date +%F) for this machine only; not in git, not in the image."; \
	  echo "SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')"; \
	  echo "ALLOWED_HOSTS=127.0.0.1,localhost"; \
	  echo "PORTAL_HTTPS=0"; \
	  echo "PORTAL_SERVE_MEDIA=1"; \
	  echo "EMAIL_BACKEND=console"; \
	} > $(ENV_FILE)
	@echo "Wrote local settings with a new secret key to $(ENV_FILE) (ignored by git)."

setup: $(STAMP) $(ENV_FILE)

# Production mode (DEBUG off) with the local settings of .env.
RUN_ENV = DEBUG=0

migrate: setup
	$(RUN_ENV) $(PY) manage.py migrate --no-input
	$(RUN_ENV) $(PY) manage.py collectstatic --no-input --verbosity 0

run: migrate
	@echo "地域力創造ポータル: http://127.0.0.1:$(PORT)/  (English: http://127.0.0.1:$(PORT)/en/)"
	$(RUN_ENV) $(VENV)/bin/gunicorn portal.wsgi --bind 127.0.0.1:$(PORT) --workers 2 \
		--no-control-socket --config python:portal.gunicorn_conf

superuser: migrate
	$(RUN_ENV) $(PY) manage.py createsuperuser

test: setup
	PORTAL_TESTING=1 $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/djhtml --check templates

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(VENV)/bin/djhtml templates

messages: $(STAMP)
	PORTAL_TESTING=1 $(PY) manage.py makemessages --locale en --no-obsolete --no-location
	$(PY) scripts/compile-messages

check-deploy: $(STAMP)
	DEBUG=0 SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
		ALLOWED_HOSTS=portal.example.go.jp $(PY) manage.py check --deploy --fail-level WARNING

a11y-report: $(STAMP)
	PORTAL_TESTING=1 A11Y_REPORT=fixtures/accessibility-results.json $(VENV)/bin/pytest tests/test_site_pages.py

# Benchmarks run on databases of their own, filled with sample data once and kept for later runs:
# var/bench-sqlite.sqlite3, and <DATABASE_URL's server>/portal_bench when DATABASE_URL is PostgreSQL.
BENCH_DOCS ?= 100000
BENCH_CASES ?= 100000
BENCH_EXPERTS ?= 10000
BENCH_SECONDS ?= 8
BENCH_SQLITE_URL ?= sqlite:///$(CURDIR)/var/bench-sqlite.sqlite3

bench: bench-pages bench-search

# Each page type under gunicorn (production settings, 2 workers) loaded with wrk, against a fixed
# 20 KB view in the same run: req/s, p50, p99, share of the fixed view, queries, HTML bytes.
bench-pages: setup
	@scripts/ensure-wrk
	@mkdir -p var bench-results
	@echo "== page benchmark on SQLite ($(BENCH_CASES) case studies, $(BENCH_EXPERTS) experts)"
	DATABASE_URL=$(BENCH_SQLITE_URL) $(PY) manage.py migrate --no-input -v0
	DATABASE_URL=$(BENCH_SQLITE_URL) $(PY) manage.py bench_pages --cases $(BENCH_CASES) --experts $(BENCH_EXPERTS) \
		--duration $(BENCH_SECONDS) --json bench-results/pages-sqlite.json
	@case "$$DATABASE_URL" in postgres*) \
		pg="$${DATABASE_URL%/*}/portal_bench"; \
		echo "== page benchmark on PostgreSQL ($(BENCH_CASES) case studies, $(BENCH_EXPERTS) experts)"; \
		$(PY) scripts/ensure-database "$$pg" && \
		DATABASE_URL="$$pg" $(PY) manage.py migrate --no-input -v0 && \
		DATABASE_URL="$$pg" $(PY) manage.py bench_pages --cases $(BENCH_CASES) --experts $(BENCH_EXPERTS) \
			--duration $(BENCH_SECONDS) --json bench-results/pages-postgresql.json;; \
	*) echo "(set DATABASE_URL=postgres://... to run it on PostgreSQL too)";; esac

bench-search: setup
	@mkdir -p var
	@echo "== search benchmark on SQLite ($(BENCH_DOCS) documents)"
	DATABASE_URL=$(BENCH_SQLITE_URL) $(PY) manage.py migrate --no-input -v0
	DATABASE_URL=$(BENCH_SQLITE_URL) $(PY) manage.py bench_search --docs $(BENCH_DOCS) \
		--json bench-results/search-sqlite.json
	@case "$$DATABASE_URL" in postgres*) \
		pg="$${DATABASE_URL%/*}/portal_bench"; \
		echo "== search benchmark on PostgreSQL ($(BENCH_DOCS) documents)"; \
		$(PY) scripts/ensure-database "$$pg" && \
		DATABASE_URL="$$pg" $(PY) manage.py migrate --no-input -v0 && \
		DATABASE_URL="$$pg" $(PY) manage.py bench_search --docs $(BENCH_DOCS) \
			--json bench-results/search-postgresql.json;; \
	*) echo "(set DATABASE_URL=postgres://... to run it on PostgreSQL too)";; esac

# Sustained load (docs/operations.md, "Speed"): LOADTEST_SECONDS at LOADTEST_CONNECTIONS connections
# (wrk -t2) on a weighted mix of pages in both languages, under gunicorn with production settings and
# production's worker count (LOADTEST_WORKERS to change it). Fails on socket errors, any 5xx, any
# other non-2xx/3xx but the intended 404s, or worker memory (RssAnon, read every second) growing more
# than LOADTEST_MEMORY_GROWTH from the first 10 s to the last 10 s (after a 5 s warm-up). Writes
# var/loadtest.json. The bench data set is reused (made as bench-pages makes it, if missing); other
# sizes (LOADTEST_CASES=5000 LOADTEST_EXPERTS=1000 for a quick run) get databases of their own.
LOADTEST_SECONDS ?= 60
LOADTEST_CONNECTIONS ?= 64
LOADTEST_MEMORY_GROWTH ?= 0.10
LOADTEST_WORKERS ?= 0
LOADTEST_CASES ?= $(BENCH_CASES)
LOADTEST_EXPERTS ?= $(BENCH_EXPERTS)
ifeq ($(LOADTEST_CASES)-$(LOADTEST_EXPERTS),$(BENCH_CASES)-$(BENCH_EXPERTS))
LOADTEST_SQLITE_URL ?= $(BENCH_SQLITE_URL)
LOADTEST_PG_NAME ?= portal_bench
else
LOADTEST_SQLITE_URL ?= sqlite:///$(CURDIR)/var/loadtest-sqlite-$(LOADTEST_CASES)-$(LOADTEST_EXPERTS).sqlite3
LOADTEST_PG_NAME ?= portal_loadtest_$(LOADTEST_CASES)_$(LOADTEST_EXPERTS)
endif
LOADTEST_ARGS = --cases $(LOADTEST_CASES) --experts $(LOADTEST_EXPERTS) --duration $(LOADTEST_SECONDS) \
	--connections $(LOADTEST_CONNECTIONS) --threads 2 --workers $(LOADTEST_WORKERS) \
	--memory-growth $(LOADTEST_MEMORY_GROWTH) --json var/loadtest.json

.PHONY: loadtest
loadtest: setup
	@scripts/ensure-wrk
	@mkdir -p var
	@echo "== load test on SQLite ($(LOADTEST_CASES) case studies, $(LOADTEST_EXPERTS) experts, $(LOADTEST_SECONDS) s)"
	DATABASE_URL=$(LOADTEST_SQLITE_URL) $(PY) manage.py migrate --no-input -v0
	@# Both databases are measured even when the first fails; make fails at the end if either did.
	@status=0; \
	DATABASE_URL=$(LOADTEST_SQLITE_URL) $(PY) manage.py loadtest $(LOADTEST_ARGS) || status=1; \
	case "$$DATABASE_URL" in postgres*) \
		pg="$${DATABASE_URL%/*}/$(LOADTEST_PG_NAME)"; \
		echo "== load test on PostgreSQL ($(LOADTEST_CASES) case studies, $(LOADTEST_EXPERTS) experts, $(LOADTEST_SECONDS) s)"; \
		{ $(PY) scripts/ensure-database "$$pg" && \
		  DATABASE_URL="$$pg" $(PY) manage.py migrate --no-input -v0 && \
		  DATABASE_URL="$$pg" $(PY) manage.py loadtest $(LOADTEST_ARGS); } || status=1;; \
	*) echo "(set DATABASE_URL=postgres://... to run it on PostgreSQL too)";; esac; \
	exit $$status

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache

# Backup and restore (docs/operations.md, "Backup and restore"): one archive holds every table of the
# database (DATABASE_URL: SQLite or PostgreSQL, either way) and every file under MEDIA_ROOT.
# `make restore` asks before it replaces anything; CONFIRM=yes passes --no-input (for scripts).
BACKUP_DIR ?= var/backups

backup: setup
	$(RUN_ENV) $(PY) manage.py backup_portal --output-dir $(BACKUP_DIR)

restore: setup
	@if [ -z "$(BACKUP)" ]; then echo "使い方: make restore BACKUP=var/backups/portal-YYYYmmdd-HHMMSS.tar.gz [CONFIRM=yes]"; exit 2; fi
	$(RUN_ENV) $(PY) manage.py restore_portal "$(BACKUP)"$(if $(filter yes,$(CONFIRM)), --no-input)
