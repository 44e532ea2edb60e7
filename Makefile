# Trading Simulator — common tasks. `make test` and `make run` work on a fresh machine with
# Python 3.11+: they create .venv and install the project with its dev extras first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test browser-deps lint typecheck bench run clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

test: install browser-deps
	$(BIN)/pytest

# Browser tests drive Debian's headless Chromium through chromedriver.
browser-deps:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq chromium chromium-driver; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python -m benchmarks.bench_cli --runs 3
	$(BIN)/python -m benchmarks.bench_backtest
	$(BIN)/python -m benchmarks.bench_backtest_jobs
	$(BIN)/python -m benchmarks.bench_backtest_page --runs 5
	$(BIN)/python -m benchmarks.bench_sweep
	$(BIN)/python -m benchmarks.bench_sandbox
	$(BIN)/python -m benchmarks.bench_validator
	$(BIN)/python -m benchmarks.bench_data
	$(BIN)/python -m benchmarks.bench_candles
	$(BIN)/python -m benchmarks.bench_engine_load --runners 200 --rate 100 --seconds 20
	$(BIN)/python -m benchmarks.bench_ui_callbacks
	$(BIN)/python -m benchmarks.bench_chart
	$(BIN)/python -m benchmarks.bench_soak 10
	$(BIN)/python -m benchmarks.bench_api_load --runners 100 --clients 20 --seconds 30
	$(BIN)/python -m benchmarks.bench_live_with_backtests --runners 50 --seconds 30 --compare-nice
	$(BIN)/python -m benchmarks.bench_order_fill --orders 40

# `make run PORT=8060 HOST=127.0.0.1` (both optional; a HOST beyond loopback needs
# TRADESIM_API_TOKEN in the environment).
PORT ?=
HOST ?=
run: install
	$(BIN)/tradesim up $(if $(PORT),--port $(PORT)) $(if $(HOST),--host $(HOST))

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
