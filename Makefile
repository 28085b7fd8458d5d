# Two entry points for a new machine: `make demo` and `make test`.
# Each creates the virtual environment .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench baselines clean

# pip byte-compiles what it installs on one core; compileall does it on every core.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -e '.[test,dashboard]'
	$(BIN)/python -m compileall -qq -j 0 $(VENV)/lib
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/scsim run scenarios/demo.toml --counterfactual none --out runs/demo --force --report

# Most of a clean clone's test time is numba compiling kernels: compile_kernels.py
# compiles the universal kernel and each preset's once, across the cores, into the
# on-disk cache; then one test process per core (pytest-xdist), each file in one process.
test: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python tests/compile_kernels.py
	$(BIN)/python -m pytest -n auto --dist loadfile --durations=15

bench: $(STAMP)
	$(BIN)/scsim bench

# Rewrite the golden baselines of tests/test_golden.py, on purpose only.
baselines: $(STAMP)
	$(BIN)/python tests/golden.py --update

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
