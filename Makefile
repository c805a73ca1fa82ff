# viko — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Repository folders installed as viko.<stage> (pyproject's package-dir).
STAGES := corpus indexer search workbench matching web
DATA ?= data/demo
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo demo-index test lint bench bench-quality bench-encoder bench-scale clean
.PHONY: browser-deps screenshots

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned: the CPU build of 2.13.0 (a bare `torch` would pull a CUDA build).
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo-index: install
	$(BIN)/viko --data $(DATA) import corpus/demo/demo.jsonl
	$(BIN)/viko --data $(DATA) index

demo: demo-index
	$(BIN)/viko --data $(DATA) serve --host $(HOST) --port $(PORT)

test: install browser-deps
	@# Not `python -m pytest`: that puts the working directory (the repository root) on sys.path.
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	@# The installed layout (viko.corpus -> corpus/ ...) as symlinks, for mypy (README, "Layout").
	rm -rf build/typecheck && mkdir -p build/typecheck/viko
	cp -rs $(CURDIR)/viko/. build/typecheck/viko/
	for p in $(STAGES); do ln -s $(CURDIR)/$$p build/typecheck/viko/$$p; done
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench.run all

bench-quality: install
	$(BIN)/python -m bench.run quality

bench-encoder: install
	$(BIN)/python -m bench.run encoder
# Corpora are built once into data/scale/ (sizes: VIKO_SCALE_SIZES, default 10k,100k,1M).
bench-scale: install
	$(BIN)/python -m bench.run scale

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache

# Browser tests and screenshots drive Debian's headless Chromium (never `playwright install`:
# nothing is downloaded) and need a Korean font, or Hangul renders as boxes.
BROWSER_PKGS := chromium fonts-nanum
browser-deps:
	@missing=""; for p in $(BROWSER_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "warning: browser tests will be skipped: install$$missing (as root: apt-get install$$missing)"; exit 0; fi; \
	echo "installing$$missing"; \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; }

screenshots: demo-index browser-deps
	$(BIN)/python -m viko.web.screenshots $(DATA) docs/screenshots
