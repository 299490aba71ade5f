# One entry point for humans and CI alike.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Every install goes through the pinned set; `make lock` re-pins on purpose.
PINS   := requirements/constraints.txt
PIP    := $(BIN)/python -m pip install --quiet -c $(PINS)
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml $(PINS) | cksum | cut -d' ' -f1)

.PHONY: demo serve test test-latest lock lint types unit bench eval docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c $(PINS) pip

$(STAMP): $(BIN)/python pyproject.toml $(PINS)
	$(PIP) -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

## demo: set up and run the narrated walk-through
demo: $(BIN)/python
	$(PIP) -e '.[cli]'
	$(BIN)/convguard demo

## serve: set up and run the reference chat service (examples/chat_service) at http://127.0.0.1:8000
serve: $(BIN)/python
	$(PIP) -e '.[examples]'
	mkdir -p build
	CONVGUARD_SQLITE=$${CONVGUARD_SQLITE:-build/chat-service.db} \
	  $(BIN)/uvicorn --app-dir examples --factory chat_service.app:create_app

## test: set up, then lint, type-check and run the tests with coverage
test: $(STAMP) lint types unit

## test-latest: the same checks in .venv-latest with the newest releases pyproject.toml allows
test-latest:
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade pip
	.venv-latest/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[dev]'
	$(MAKE) lint types unit VENV=.venv-latest STAMP=.venv-latest/bin/python

## lock: re-pin requirements/constraints.txt to the newest releases pyproject.toml allows
lock:
	PYTHON=$(PYTHON) scripts/lock.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples docs eval scripts
	$(BIN)/ruff format --check src tests benchmarks examples docs eval scripts
	$(BIN)/python scripts/unasync.py --check

types: $(STAMP)
	$(BIN)/mypy

# coverage starts before pytest, so modules imported by the pytest11 plugin count.
unit: $(STAMP)
	$(BIN)/coverage run -m pytest -p no:cacheprovider
	$(BIN)/coverage report

## bench: print the benchmark ratios
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_core.py

## eval: score the built-in detectors on the dev set (when beside the repo) and the halves of both held-out sets
eval: $(STAMP)
	@if [ -f ../shared/eval/dev.jsonl ]; then $(BIN)/convguard eval ../shared/eval/dev.jsonl --obfuscate; fi
	$(BIN)/python eval/split_heldout.py build/heldout
	$(BIN)/convguard eval build/heldout/val.jsonl --obfuscate
	$(BIN)/convguard eval build/heldout/test.jsonl --obfuscate --summary
	$(BIN)/convguard eval build/heldout/conversations-test.jsonl --summary
	$(BIN)/convguard eval build/heldout/heldout2-val.jsonl --obfuscate
	$(BIN)/convguard eval build/heldout/heldout2-test.jsonl --obfuscate --summary
	$(BIN)/convguard eval build/heldout/heldout3-val.jsonl --obfuscate
	$(BIN)/convguard eval build/heldout/heldout3-test.jsonl --obfuscate --summary

## docs: build the documentation site, failing on any warning
docs: $(STAMP)
	$(PIP) -e '.[docs]'
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) .venv-latest build .coverage .mypy_cache .ruff_cache .pytest_cache htmlcov
