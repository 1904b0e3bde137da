# Bangkom: `make run` serves the API with demo data; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export BANGKOM_DEMO_DATA ?= true

.PHONY: run test test-pg lint openapi bench bench-scale bench-load migrate clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# The webhook worker runs beside the server; Ctrl-C (or the server stopping) stops both: the
# worker finishes its attempts in flight first (SIGTERM is its graceful stop).
run: $(VENV)/.installed  ## migrate the SQLite file, load demo data once, serve on 127.0.0.1:8000 with a webhook worker
	@./scripts/fonts.sh || echo "could not install the DejaVu fonts; certificate PDFs will answer 503"
	$(BIN)/bangkom migrate
	@if [ "$(BANGKOM_DEMO_DATA)" = "true" ]; then $(BIN)/bangkom seed-demo; fi
	@$(BIN)/bangkom worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	$(BIN)/bangkom serve

migrate: $(VENV)/.installed
	$(BIN)/bangkom migrate

# The suite runs in a random order every time (pytest-randomly; the header prints the
# seed) over TEST_WORKERS processes (pytest-xdist; one PostgreSQL database a worker).
# Two workers on the 2-core machine: 75-86 s against 87-106 s in one process (SQLite,
# load average ~9; equal or slower only when the machine is already saturated).
# Replay an order in one process: make test TEST_WORKERS=0 PYTEST_ARGS="-p randomly --randomly-seed=N"
TEST_WORKERS ?= 2
test: $(VENV)/.installed-dev  ## the whole suite on SQLite (installs Chromium for the docs test)
	@./scripts/chromium.sh || echo "could not install chromium; the browser test will say so"
	@./scripts/fonts.sh || echo "could not install the DejaVu fonts; the certificate PDF tests will fail"
	@./scripts/redis.sh >/dev/null || echo "could not install Redis; the Redis rate-limit test will skip"
	@$(BIN)/python -c "from bench.wrk import ensure_wrk; ensure_wrk()" >/dev/null || echo "could not install wrk; the load smoke test will skip"
	BANGKOM_DEMO_DATA=false $(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

test-pg: $(VENV)/.installed-dev  ## the same suite on a real PostgreSQL server (installed if missing)
	@./scripts/fonts.sh || echo "could not install the DejaVu fonts; the certificate PDF tests will fail"
	@./scripts/redis.sh >/dev/null || echo "could not install Redis; the Redis rate-limit test will skip"
	url=$$(./scripts/postgres.sh bangkom_test) && test -n "$$url" && \
	  BANGKOM_DEMO_DATA=false BANGKOM_TEST_DATABASE_URL=$$url $(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev  ## ruff, mypy and hadolint
	$(BIN)/ruff check app tests bench examples migrations
	$(BIN)/ruff format --check app tests bench examples
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

openapi: $(VENV)/.installed  ## rewrite the committed contract from the app
	$(BIN)/bangkom export-openapi --output openapi/openapi.json

bench: $(VENV)/.installed-dev  ## benchmarks: prints a table (see bench/README.md)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# At 10k, 50k (the compliance report's agency of 50,000) and 100k learners, each with an
# enrolment, 2 progress records and ~7.5 JP records: first vs deep page of the learner and
# enrolment lists, one learner's yearly JP, the compliance summary, a 10,000-row bulk
# enrolment and a 10,000-record progress batch against the same on an empty database
# (SQLite; SCALE_ARGS="--engine postgresql ..." for PostgreSQL via scripts/postgres.sh).
SCALE_ARGS ?= --learners 10000,50000,100000
bench-scale: $(VENV)/.installed-dev  ## scale: fill N learners fast, time pages, JP reads, bulk writes
	$(BIN)/python bench/scale.py $(SCALE_ARGS)

# 60 s of catalogue reads, enrolments, progress batches and change-feed reads at once
# (64 connections, 2 uvicorn workers) on SQLite and PostgreSQL (database bangkom_load via
# scripts/postgres.sh); fails on any 5xx or lost write. LOAD_ARGS="--engines sqlite" for one.
LOAD_ARGS ?=
bench-load: $(VENV)/.installed-dev  ## load: mixed traffic 60 s per engine, then the invariants
	$(BIN)/python bench/load.py $(LOAD_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
