# Kumulus: `make demo` runs the cloud on this machine, `make test` runs every check.
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup test lint unit integration demo bench crds clean guest-image

setup:
	@scripts/setup.sh

lint: setup
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check --quiet .
	@$(BIN)/mypy
	@$(BIN)/lint-imports --no-cache >/dev/null && echo "import contracts kept"

test: setup lint
	@$(BIN)/pytest -q -ra

unit: setup
	@$(BIN)/pytest -q tests/unit

integration: setup
	@$(BIN)/pytest -q tests/integration

demo: setup
	@$(BIN)/kumulus up

crds: setup
	@$(BIN)/kumulus crds

guest-image: setup
	@scripts/build-guest-image.sh

bench: setup
	@$(BIN)/python bench/apiserver_bench.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache *.egg-info
