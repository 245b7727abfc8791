# judgescope: `make demo`, `make test`, `make bench`. Everything installs into .venv from a bare Python 3.11+.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install demo lint test test-fast bench bench-smoke bench-bertopic clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("judgescope needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" if sys.version_info < (3, 11) else 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# CPU torch first: with it in place nothing pulls the CUDA build (see docs/install.md)
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[test]"
	@if $(BIN)/pip list 2>/dev/null | grep -Ei '^(nvidia-|triton )'; then \
		echo "error: CUDA packages were installed into $(VENV); see docs/install.md" >&2; exit 1; fi
	# the default embedder, distilled once from the installed all-MiniLM-L6-v2 (~30 s; data/models/, not in git)
	HF_HUB_OFFLINE=1 $(BIN)/python -m analysis.issues.static
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/judgescope demo

# lint (ruff) and format check on all the code, types (mypy, pyproject.toml) on analysis/ and dashboard/
lint: install
	$(BIN)/ruff check analysis dashboard benchmarks scripts tests
	$(BIN)/ruff format --check analysis dashboard
	$(BIN)/mypy

# the test suite; every benchmark's --smoke run is `make bench-smoke` (CI runs both)
test: install lint
	$(BIN)/python -m pytest -m "not bench"

bench-smoke: install
	$(BIN)/python -m pytest -m bench

# the inner loop: everything but the browser tests and the slow ones (embedding model, cross-process runs)
test-fast: install
	$(BIN)/python -m pytest -m "not browser and not slow and not bench" -q

bench: install
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/audit.py
	$(BIN)/python benchmarks/dashboard_speed.py
	$(BIN)/python benchmarks/issues.py
	$(BIN)/python benchmarks/issue_quality.py
	$(BIN)/python benchmarks/strength_names.py
	$(BIN)/python benchmarks/issues_scale.py
	$(BIN)/python benchmarks/judge.py

bench-bertopic: install
	$(BIN)/python benchmarks/bertopic_compare.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache test-output benchmarks/work
