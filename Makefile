# The one place that says how torch_mt is installed, built, tested and measured.
# README's two commands are `make bench` and `make test`; .ci/run calls `make test`.

PYTHON ?= python3
PIP := $(PYTHON) -m pip
# torch is pinned here (dev/CI) to the local CPU wheel; the package metadata
# keeps a range. No build isolation: it would download another, CUDA, torch.
TORCH_PIN := torch==2.13.0

.PHONY: install build test test-fast bench

# Our own code builds warning-free; -Werror keeps it so in dev and CI.
export TORCH_MT_EXTRA_CFLAGS ?= -Werror

install:
	$(PIP) install --quiet $(TORCH_PIN) "setuptools>=64" wheel ninja
	$(PIP) install --quiet --no-build-isolation --editable ".[test,bench]"

# Incremental rebuild of torch_mt/_C after editing ops/ (ninja, in place).
build:
	$(PYTHON) setup.py build_ext --inplace

test: install
	HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(PYTHON) -m pytest

# The suite without the slow inductor compiles, on the quick profile.
test-fast: build
	HYPOTHESIS_PROFILE=dev $(PYTHON) -m pytest -m "not inductor"

bench: install
	$(PYTHON) -m torch_mt.bench $(BENCH_ARGS)
