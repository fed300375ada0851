"""A user's own operator, built out of tree with torch_mt.cpp_extension.load,
runs on torch_mt's one pool through the public headers."""

from __future__ import annotations

import pathlib
import re

import pytest
import torch
from scripts import run_script

import torch_mt
import torch_mt.cpp_extension

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "user_ops"  # cached between runs of the suite

#: A user op in its own namespace: for each index, which thread ran it; an
#: index may fail (per-item errors: the lowest failing index must win).
SOURCE = r"""
#include <torch/library.h>
#include <ATen/ATen.h>
#include <torch_mt/parallel.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace {
at::Tensor runner_ids(int64_t size, double item_micros, int64_t fail_from) {
  at::Tensor out = at::full({size}, -1, at::kLong);
  int64_t* id = out.data_ptr<int64_t>();
  std::mutex mutex;
  std::vector<std::thread::id> seen;
  mt::ItemErrors errors;
  const int64_t grain = mt::grain_for(static_cast<int64_t>(item_micros * 1000));  // ns per item
  mt::parallel_for(0, size, grain, [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      errors.run(i, [&] {
        const auto until = std::chrono::steady_clock::now() +
                           std::chrono::duration<double, std::micro>(item_micros);
        while (std::chrono::steady_clock::now() < until) {
        }
        TORCH_CHECK(fail_from < 0 || i < fail_from, "mine::runner_ids: item ", i, " failed");
        std::lock_guard<std::mutex> lock(mutex);
        int64_t k = 0;
        while (k < (int64_t)seen.size() && seen[k] != std::this_thread::get_id()) ++k;
        if (k == (int64_t)seen.size()) seen.push_back(std::this_thread::get_id());
        id[i] = k;
      });
    }
  });
  errors.rethrow();
  return out;
}
}  // namespace

TORCH_LIBRARY(mine, m) {
  m.def("runner_ids(int size, float item_micros, int fail_from) -> Tensor", &runner_ids);
}
"""


@pytest.fixture(scope="module")
def user_op(tmp_path_factory) -> None:
    source = BUILD / "mine.cpp"
    BUILD.mkdir(parents=True, exist_ok=True)
    if not source.exists() or source.read_text() != SOURCE:  # keep the cache valid
        source.write_text(SOURCE)
    torch_mt.cpp_extension.load("torch_mt_user_op_test", [str(source)], build_directory=str(BUILD))


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_a_user_op_runs_on_the_torch_mt_pool_and_follows_set_num_threads(user_op, threads):
    torch_mt.set_num_threads(threads)
    ids = torch.ops.mine.runner_ids(300, 50.0, -1)
    assert ids.min() == 0
    assert int(ids.max()) + 1 == threads  # every thread of the pool took part, and no more


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_a_user_op_reports_its_lowest_failing_item_at_any_thread_count(user_op, threads):
    torch_mt.set_num_threads(threads)
    with pytest.raises(RuntimeError, match=r"mine::runner_ids: item 100 failed"):
        torch.ops.mine.runner_ids(300, 5.0, 100)
    assert torch.ops.mine.runner_ids(10, 0.0, -1).shape == (10,)  # the pool still works


def test_the_cached_build_loads_in_a_new_process(user_op):
    result = run_script(f"""
        import torch, torch_mt, torch_mt.cpp_extension
        torch_mt.cpp_extension.load("torch_mt_user_op_test", [{str(BUILD / "mine.cpp")!r}],
                                    build_directory={str(BUILD)!r})
        torch_mt.set_num_threads(2)
        print(int(torch.ops.mine.runner_ids(200, 50.0, -1).max()) + 1)
        """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2"]


OPS = pathlib.Path(__file__).resolve().parent.parent / "ops"


def test_the_installed_headers_are_the_ones_the_library_was_built_with():
    installed = pathlib.Path(torch_mt.cpp_extension.include_paths()[0]) / "torch_mt"
    sources = OPS / "include" / "torch_mt"
    assert sorted(p.name for p in installed.glob("*.h")) == sorted(
        p.name for p in sources.glob("*.h")
    )
    for header in sources.glob("*.h"):
        assert (installed / header.name).read_text() == header.read_text(), header.name


def test_the_built_in_operators_reach_the_runtime_only_through_the_public_header():
    # No back door: an operator of ours sees exactly what a user's sees.
    families = [OPS / family.__name__.split(".")[-1] for family in torch_mt.FAMILIES]
    operator_files = [path for folder in families for path in sorted(folder.glob("*.[ch]*"))]
    assert len(operator_files) >= 15
    for path in operator_files:
        includes = re.findall(r'#include [<"]([^>"]+)[>"]', path.read_text())
        # A family's own private headers are included by bare name; nothing
        # reaches into another folder (no "../", no runtime/ source header).
        assert not [name for name in includes if name.startswith(("../", "runtime/"))], path
        ours = [name for name in includes if name.startswith("torch_mt/")]
        # <torch_mt/strings.h> is the one standard-only part of it: a family
        # header the Python bindings also compile (no torch headers there);
        # a binding that fans out on the pool takes <torch_mt/parallel_for.h>
        # alone (c10's FunctionRef its one torch header), not ATen's.
        allowed = {"torch_mt/parallel.h", "torch_mt/strings.h"}
        if path.name.startswith("python_"):
            allowed.add("torch_mt/parallel_for.h")
        assert set(ours) <= allowed, (path.name, ours)
    assert not list((OPS / "runtime").glob("*.h")), "runtime headers are public, in ops/include"
