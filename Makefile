# The one place that says how torch_mt is installed, built, tested and measured.
# README's two commands are `make bench` and `make test`; .ci/run calls `make test`.

PYTHON ?= python3
PIP := $(PYTHON) -m pip
# torch is pinned here (dev/CI) to the local CPU wheel; the package metadata
# keeps a range. No build isolation: it would download another, CUDA, torch.
TORCH_PIN := torch==2.13.0
# Every package the project's installs pull in, pinned (.ci/lock.py writes it):
# a new release of a dependency cannot change what the suite runs against.
# `make test-latest` empties it to try the newest versions on purpose.
CONSTRAINTS ?= -c constraints.txt

.PHONY: install build lint test test-fast test-latest lock bench bench-full sanitize dist

# Our own code builds warning-free; -Werror keeps it so in dev and CI.
export TORCH_MT_EXTRA_CFLAGS ?= -Werror
# simdjson's release, fetched once by setup.py into the tree's build/: the
# builds from an unpacked sdist (make dist, tests/test_install.py) reuse it.
export TORCH_MT_SIMDJSON_DIR ?= $(CURDIR)/build/third_party/simdjson-3.12.3

install:
	$(PIP) install --quiet $(CONSTRAINTS) $(TORCH_PIN) "setuptools>=64" wheel ninja
	# lapx replaces lap 0.5.13: both install the module `lap`, so an old lap goes first.
	$(PIP) uninstall --yes --quiet lap 2>/dev/null || true
	$(PIP) install --quiet $(CONSTRAINTS) --no-build-isolation --editable ".[test,bench]"
	# pyctcdecode, the beam-search peer of the bench, caps numpy < 2 in its
	# metadata (pip would downgrade numpy) but runs on numpy 2: installed without its pins.
	$(PIP) install --quiet $(CONSTRAINTS) --no-deps pyctcdecode pygtrie

# Re-resolve constraints.txt after changing a dependency in pyproject.toml, or
# when `make test-latest` passes on newer versions (then commit both).
lock:
	$(PYTHON) .ci/lock.py

# The suite against the newest release of every dependency, in a fresh venv
# (build/latest-venv), without the lock: finds the next upstream change before
# a landing does. For maintainers; CI runs `make test`, with the lock.
LATEST_VENV := $(CURDIR)/build/latest-venv
test-latest:
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	$(MAKE) test PYTHON=$(LATEST_VENV)/bin/python CONSTRAINTS=

# Incremental rebuild of torch_mt/lib/libtorch_mt.so after editing ops/ (ninja, in place).
build:
	$(PYTHON) setup.py build_ext --inplace

# The release: dist/torch_mt-<version>.tar.gz and the wheel built from it
# (so the sdist is proven to build), against the installed torch, without
# build isolation. tests/test_install.py installs both as users do.
dist: install
	rm -rf dist
	$(PYTHON) -m build --no-isolation --sdist --outdir dist .
	$(PIP) wheel --no-build-isolation --no-deps --wheel-dir dist dist/torch_mt-*.tar.gz

# Style gates (config: pyproject.toml [tool.ruff], .clang-format); part of `make test`.
# Without git (an unpacked sdist) every such file under ops/, examples/ and tests/.
CXX_SOURCES = $(shell git ls-files 'ops/*.cpp' 'ops/*.h' 'examples/*.cpp' 'tests/*.cpp' 2>/dev/null \
	|| find ops examples tests -name '*.cpp' -o -name '*.h')
# The pinned clang-format wheel (test extra) installs its binary beside the
# interpreter's scripts, which need not be on PATH.
CLANG_FORMAT = $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_path('scripts'))")/clang-format
lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(CLANG_FORMAT) --dry-run -Werror $(CXX_SOURCES)

test: install lint
	HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(PYTHON) -m pytest

# The suite without the slow inductor compiles and the release install, on the quick profile.
test-fast: build
	HYPOTHESIS_PROFILE=dev $(PYTHON) -m pytest -m "not inductor and not install"

# The headline run: a row per family and the summary, within 3 minutes on 2 cores.
bench: install
	$(PYTHON) -m torch_mt.bench $(BENCH_ARGS)

# The whole suite (~30 minutes on 2 cores), with the same summary at its end.
bench-full: install
	$(PYTHON) -m torch_mt.bench --full $(BENCH_ARGS)

# Sanitizer runs (docs/reliability.md). Each builds an instrumented library in
# place, runs tests under the preloaded runtime, and the last step restores
# the normal build. ASan+UBSan: the whole suite but the inductor compiles.
# TSan: the concurrency tests (TSan does not follow fork(), so those are left
# to the ASan run); the real interpreter, not a shell shim, must be preloaded.
# -Wno-tsan: torch's autograd headers (c10 PyObjectSlot, inlined into our C++
# autograd nodes) use atomic_thread_fence, which GCC warns TSan cannot model.
SANITIZER_LIB = $(shell gcc -print-file-name=lib$(1).so)
REAL_PYTHON := $(shell $(PYTHON) -c "import sys; print(sys.executable)")
# ASan's quarantine holds freed memory back on purpose: RSS figures mean nothing there.
ASAN_DESELECT := -k "not keep_memory_flat and not leak_nothing"
TSAN_TESTS := -k "(concurrent or resizing or exactly_once or exception or nested or submit or workers or sixteen or errors_leak) and not dataloader"

sanitize:
	TORCH_MT_EXTRA_CFLAGS="-Werror -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	TORCH_MT_EXTRA_LDFLAGS="-fsanitize=address,undefined" \
	$(PYTHON) setup.py build_ext --inplace --build-temp build/asan
	LD_PRELOAD="$(call SANITIZER_LIB,asan) $(call SANITIZER_LIB,ubsan)" ASAN_OPTIONS=detect_leaks=0 \
	HYPOTHESIS_PROFILE=dev $(REAL_PYTHON) -m pytest -m "not inductor and not ray and not install" $(ASAN_DESELECT)
	TORCH_MT_EXTRA_CFLAGS="-Werror -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan" \
	TORCH_MT_EXTRA_LDFLAGS="-fsanitize=thread" \
	$(PYTHON) setup.py build_ext --inplace --build-temp build/tsan
	LD_PRELOAD="$(call SANITIZER_LIB,tsan)" \
	TSAN_OPTIONS="halt_on_error=1 report_signal_unsafe=0 suppressions=$(CURDIR)/tests/tsan.supp" \
	HYPOTHESIS_PROFILE=dev $(REAL_PYTHON) -m pytest tests/test_runtime.py tests/test_reliability.py $(TSAN_TESTS)
	$(MAKE) build
