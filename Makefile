# Trading Simulator — common tasks. `make test` and `make run` work on a fresh machine with
# Python 3.11+: they create .venv and install the project with its dev extras first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint typecheck bench run clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python -m benchmarks.bench_backtest
	$(BIN)/python -m benchmarks.bench_sandbox
	$(BIN)/python -m benchmarks.bench_validator
	$(BIN)/python -m benchmarks.bench_data

run: install
	$(BIN)/tradesim backtest lua-strategies/examples/ema_crossover.lua --symbol BTCUSDT --timeframe 1h --bars 5000

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
