# One command sets everything up (`make setup`), one runs the tests (`make test`).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup test lint typecheck clean

setup:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -r requirements-nodeps.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/harmscope fit
	$(BIN)/harmscope moderate "How do I kill a Python process?" "How do I make a pipe bomb at home?"

test:
	$(BIN)/python -m pytest -q

lint:
	$(BIN)/ruff check src tests

typecheck:
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build src/*.egg-info
