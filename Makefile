# suratdesa: `make run` starts the service on embedded defaults; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint samples bench bench-tools tools clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/suratdesa dev

# Test tools from Debian: poppler-utils (pdftotext, pdftoppm, pdfsig), libnss3-tools (certutil, to make pdfsig
# trust our development CA), zbar-tools (zbarimg: a second QR decoder, beside zxing-cpp which also makes the codes),
# chromium (the pages' browser tests drive /usr/bin/chromium through Playwright;
# a browser downloaded by `playwright install` cannot run here) and nginx-light (tests/test_proxy.py runs the
# deployment's proxy, deploy/nginx.conf). Installed when missing and we are root.
tools:
	@command -v pdfsig >/dev/null && command -v certutil >/dev/null && command -v zbarimg >/dev/null && \
	  test -x /usr/bin/chromium && test -x /usr/sbin/nginx || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils libnss3-tools \
	      zbar-tools chromium nginx-light) >/dev/null; \
	  else echo "install poppler-utils, libnss3-tools, zbar-tools, chromium and nginx-light to run the tests" >&2; \
	  exit 1; fi; }

# Two pytest-xdist processes, one test file at a time each: the suite waits on its stacks' workers, sweepers and
# leases more than it computes, so two files in parallel on two cores take about a third less time. A file's tests stay
# together (its module-scoped stacks are started once). PYTEST_WORKERS="" runs the suite in one process.
PYTEST_WORKERS ?= -n 2 --dist loadfile

test: install tools
	$(BIN)/ruff check shared services tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check shared services tests benchmarks
	$(BIN)/mypy

samples: install
	$(BIN)/suratdesa samples samples

# make bench: the bench extra (WeasyPrint, for the peer pipeline of part 2) and, from Debian, wrk (part 4) and the
# Pango libraries WeasyPrint loads. Installed when missing and we are root. BENCH_ARGS go to benchmarks.run.
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench-tools:
	@command -v wrk >/dev/null && ldconfig -p | grep -q libpangoft2-1.0.so.0 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk libpango-1.0-0 \
	      libpangoft2-1.0-0) >/dev/null; \
	  else echo "install wrk, libpango-1.0-0 and libpangoft2-1.0-0 to run the benchmarks" >&2; exit 1; fi; }

bench: $(BENCH_STAMP) bench-tools
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var samples .pytest_cache
