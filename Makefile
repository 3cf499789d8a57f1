# suratdesa: `make run` starts the service on embedded defaults; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint samples bench tools clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/suratdesa dev

# Test tools from Debian: poppler-utils (pdftotext, pdftoppm, pdfsig) and libnss3-tools (certutil, to
# make pdfsig trust our development CA). Installed when missing and we are root.
tools:
	@command -v pdfsig >/dev/null && command -v certutil >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils libnss3-tools) >/dev/null; \
	  else echo "install poppler-utils and libnss3-tools to run the tests" >&2; exit 1; fi; }

test: install tools
	$(BIN)/ruff check shared services tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check shared services tests benchmarks
	$(BIN)/mypy

samples: install
	$(BIN)/suratdesa samples samples

bench: install
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) var samples .pytest_cache
