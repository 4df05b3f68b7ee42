# Two commands: `make demo` (set up and run the main job) and `make test` (set up and run every check).
# The virtual environment lives in .venv; each install step reruns only when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch and torchvision are pinned here (not in pyproject) to the pair whose wheels import together
# on the project's machines; users elsewhere get torch from PyPI through pyproject's ranges.
TORCH := torch==2.14.1 torchvision==0.29.1
# The lock: both targets install from it, so a fresh machine gets the versions CI was green with.
LOCK := constraints.txt
# Fashion-MNIST for the transfer-learning example's test: Debian's package (root or sudo installs it).
FASHION := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
# Debian's Chromium, which the demo page test drives headless through Playwright (no browser download).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lock clean

demo: $(VENV)/.installed-base
	$(BIN)/advcat demo

# Every check runs even after one fails, so a single run shows all problems; any failure fails.
test: $(VENV)/.installed-dev $(FASHION) $(CHROMIUM)
	@status=0; \
	echo "== ruff"; $(BIN)/ruff check advcat tests benchmarks examples || status=1; \
	echo "== mypy"; $(BIN)/mypy || status=1; \
	echo "== mkdocs"; $(BIN)/mkdocs build --strict --quiet --site-dir $(VENV)/site || status=1; \
	echo "== pytest"; $(BIN)/pytest -m "not gpu" -q || status=1; \
	exit $$status

$(FASHION):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq dataset-fashion-mnist

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-torch: | $(BIN)/python
	$(BIN)/pip install $(TORCH)
	touch $@

$(VENV)/.installed-base: pyproject.toml $(LOCK) $(VENV)/.installed-torch
	$(BIN)/pip install -c $(LOCK) -e '.[demo]'
	touch $@

# torchattacks pins requests~=2.25.1 (and with it old idna/urllib3); --no-deps keeps modern ones.
$(VENV)/.installed-dev: pyproject.toml $(LOCK) $(VENV)/.installed-torch
	$(BIN)/pip install -c $(LOCK) -e '.[demo,dev,bench]'
	$(BIN)/pip install -c $(LOCK) --no-deps 'torchattacks>=3.5'
	touch $@ $(VENV)/.installed-base

# Rewrite the lock from a fresh resolution of pyproject's ranges (then run make test before committing it).
lock:
	rm -rf /tmp/advcat-lock && $(PYTHON) -m venv /tmp/advcat-lock
	/tmp/advcat-lock/bin/pip install $(TORCH)
	/tmp/advcat-lock/bin/pip install -e '.[demo,dev,bench]'
	/tmp/advcat-lock/bin/pip install --no-deps 'torchattacks>=3.5'
	{ sed -n '1,3p' $(LOCK); /tmp/advcat-lock/bin/pip freeze --exclude-editable | grep -v '^-e'; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)

clean:
	rm -rf $(VENV) site .pytest_cache .mypy_cache .ruff_cache
