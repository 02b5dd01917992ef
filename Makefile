# Set-up and checks for ahp-toolkit. `make demo` and `make test` work on a fresh clone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
CUDA_VENV := .venv-cuda
REFERENCE := .cache/reference
DEMO_OUT ?= demo_output
NVCC := $(shell command -v nvcc)

.PHONY: all install demo test test-long test-cuda lint format bench clean

all: test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

$(REFERENCE)/ipfx/SOURCE.txt: tests/reference/fetch_reference_code.py
	$(PY) tests/reference/fetch_reference_code.py $(REFERENCE)

# the main job on the built-in default cohort: fit, map to Loihi, validate, files, report
demo: install
	$(VENV)/bin/ahp pipeline --out $(DEMO_OUT)

test: install $(REFERENCE)/ipfx/SOURCE.txt
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q -n auto --dist loadfile --durations=25 -m "not long"
ifneq ($(NVCC),)
	$(MAKE) test-cuda
else
	@echo "nvcc not found: the CUDA build test is skipped"
endif

# brian2cuda 1.0a6 pins brian2 2.7.1 on Python 3.11, so CUDA code generation is tested in its
# own environment (what a CUDA user on 3.11 gets with `pip install ahp-toolkit[cuda]`).
$(CUDA_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(CUDA_VENV)
	$(CUDA_VENV)/bin/python -m pip install --quiet -e ".[cuda,test]"
	touch $@

# the long checks: quality of fits, filter theory, 1000 random configurations against nengo-loihi
test-long: install $(REFERENCE)/ipfx/SOURCE.txt
	$(PY) -m pytest -q -n auto --dist loadfile --durations=25 -m long

test-cuda: $(CUDA_VENV)/.installed
	$(CUDA_VENV)/bin/python -m pytest -q -m cuda tests/ahp_models/test_cuda_backend.py

lint:
	$(VENV)/bin/ruff check .

format:
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

ALLEN ?= ../shared/data/allen

# every benchmark of bench/README.md's table (the Allen ones need the tables: ALLEN=DIR)
bench: install test-long
	$(PY) bench/cli_startup.py
	$(PY) bench/bench_simulation.py
	$(PY) bench/bench_fixedpoint.py
	$(PY) bench/smnist.py --variant relay
	$(PY) bench/smnist.py --variant direct
	$(PY) bench/filter_study.py
	$(PY) bench/pipeline.py --out .cache/bench_pipeline
	@if [ -f $(ALLEN)/allen_ephys_features.csv ]; then \
		$(PY) bench/pipeline.py --allen $(ALLEN) --limit 50 --workers 2 --out .cache/bench_pipeline_allen && \
		$(PY) bench/bench_fitting.py --allen $(ALLEN) --out .cache/bench_fitting && \
		$(PY) bench/osb_spike_counts.py --allen $(ALLEN) --out .cache/osb_spike_counts && \
		$(PY) bench/validate_mapping.py .cache/bench_fitting/fit_results.csv --out .cache/validate_mapping && \
		$(PY) bench/validate_mapping.py .cache/bench_fitting/fit_results.csv --target lava --out .cache/validate_lava && \
		$(PY) bench/map_network.py .cache/bench_fitting/fit_results.csv --neurons 1000; \
	else echo "no Allen tables in $(ALLEN): fitting and mapping benchmarks skipped (ALLEN=DIR to point at them)"; fi
ifneq ($(NVCC),)
	$(MAKE) test-cuda
endif

clean:
	rm -rf $(VENV) $(CUDA_VENV) .cache $(DEMO_OUT) .pytest_cache .ruff_cache
