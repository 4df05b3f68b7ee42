# Two commands: `make demo` (set up and run the main job) and `make test` (set up and run every check).
# The virtual environment lives in .venv; each install step reruns only when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch and torchvision are pinned here (not in pyproject) to the pair whose wheels import together
# on the project's machines; users elsewhere get torch from PyPI through pyproject's ranges.
TORCH := torch==2.14.1 torchvision==0.29.1

.PHONY: demo test clean

demo: $(VENV)/.installed-base
	$(BIN)/advcat demo

# Every check runs even after one fails, so a single run shows all problems; any failure fails.
test: $(VENV)/.installed-dev
	@status=0; \
	echo "== ruff"; $(BIN)/ruff check advcat tests benchmarks examples || status=1; \
	echo "== mypy"; $(BIN)/mypy || status=1; \
	echo "== mkdocs"; $(BIN)/mkdocs build --strict --quiet --site-dir $(VENV)/site || status=1; \
	echo "== pytest"; $(BIN)/pytest -m "not gpu" -q || status=1; \
	exit $$status

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-torch: | $(BIN)/python
	$(BIN)/pip install $(TORCH)
	touch $@

$(VENV)/.installed-base: pyproject.toml $(VENV)/.installed-torch
	$(BIN)/pip install -e '.[demo]'
	touch $@

# torchattacks pins requests~=2.25.1 (and with it old idna/urllib3); --no-deps keeps modern ones.
$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed-torch
	$(BIN)/pip install -e '.[demo,dev,bench]'
	$(BIN)/pip install --no-deps 'torchattacks>=3.5'
	touch $@ $(VENV)/.installed-base

clean:
	rm -rf $(VENV) site .pytest_cache .mypy_cache .ruff_cache
