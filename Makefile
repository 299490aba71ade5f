# One entry point for humans and CI alike.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint types unit bench eval docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

## demo: set up and run the narrated walk-through
demo: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[cli]'
	$(BIN)/convguard demo

## test: set up, then lint, type-check and run the tests with coverage
test: $(STAMP) lint types unit

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples docs eval
	$(BIN)/ruff format --check src tests benchmarks examples docs eval

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

## docs: build the documentation site, failing on any warning
docs: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) build .coverage .mypy_cache .ruff_cache .pytest_cache htmlcov
