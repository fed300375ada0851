// mt_test::* — operators that exist only to test the runtime from Python
// (tests/test_runtime.py). Not part of the public API.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>
#include <torch/library.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <torch_mt/parallel.h>

namespace mt {
namespace {

// Busy work, so that a slow item really occupies its thread.
void spin_for(double micros) {
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::duration<double, std::micro>(micros);
  while (std::chrono::steady_clock::now() < until) {
  }
}

// For each index of [0, size): which thread ran it (0 = the caller, then
// 1, 2, ... in order of first appearance). Fails if an index runs twice.
// With nested > 0, each item is a parallel_for over `nested` slow items.
at::Tensor fan_out_owners(int64_t size, int64_t grain, double item_micros, int64_t nested) {
  TORCH_CHECK(size >= 0, "mt_test::fan_out_owners: size must be >= 0");
  at::Tensor owners = at::full({size}, -1, at::kLong);
  int64_t* owner = owners.data_ptr<int64_t>();
  std::mutex ids_mutex;
  std::vector<std::thread::id> ids{std::this_thread::get_id()};
  parallel_for(0, size, grain, [&](int64_t first, int64_t last) {
    int64_t id = 0;
    {
      std::lock_guard<std::mutex> lock(ids_mutex);
      while (id < static_cast<int64_t>(ids.size()) && ids[id] != std::this_thread::get_id()) {
        ++id;
      }
      if (id == static_cast<int64_t>(ids.size())) {
        ids.push_back(std::this_thread::get_id());
      }
    }
    for (int64_t i = first; i < last; ++i) {
      TORCH_CHECK(owner[i] == -1, "mt_test::fan_out_owners: index ", i, " ran twice");
      owner[i] = id;
      if (nested == 0) {
        spin_for(item_micros);
        continue;
      }
      parallel_for(0, nested, 1, [&](int64_t first_inner, int64_t last_inner) {
        spin_for(item_micros * static_cast<double>(last_inner - first_inner));
      });
    }
  });
  return owners;
}

// Every index writes 1; index `fail_at` throws `message` from its chunk.
at::Tensor fan_out_fail(int64_t size, int64_t grain, int64_t fail_at, c10::string_view message) {
  at::Tensor out = at::zeros({size}, at::kLong);
  int64_t* values = out.data_ptr<int64_t>();
  parallel_for(0, size, grain, [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      TORCH_CHECK(i != fail_at, message);
      values[i] = 1;
    }
  });
  return out;
}

// out[i][j] = i * inner + j, written by a parallel_for nested in another.
at::Tensor fan_out_nested(int64_t outer, int64_t inner) {
  at::Tensor out = at::full({outer, inner}, -1, at::kLong);
  int64_t* values = out.data_ptr<int64_t>();
  parallel_for(0, outer, 1, [&](int64_t first_row, int64_t last_row) {
    for (int64_t i = first_row; i < last_row; ++i) {
      parallel_for(0, inner, 1, [&](int64_t first, int64_t last) {
        for (int64_t j = first; j < last; ++j) {
          values[i * inner + j] = i * inner + j;
        }
      });
    }
  });
  return out;
}

// Per index: [grad mode, inference mode, ATen intra-op threads, on a worker]
// as seen by whichever thread ran it. Items are slow so workers join in.
at::Tensor worker_state(int64_t size) {
  at::Tensor out = at::zeros({size, 4}, at::kLong);
  int64_t* row = out.data_ptr<int64_t>();
  parallel_for(0, size, 1, [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      row[i * 4 + 0] = c10::GradMode::is_enabled();
      row[i * 4 + 1] = c10::InferenceMode::is_enabled();
      row[i * 4 + 2] = at::get_num_threads();
      row[i * 4 + 3] = ThreadPool::on_worker_thread();
    }
  });
  return out;
}

// ThreadPool::submit on a private pool: returns the sum of `count` futures
// of value i, or rethrows the exception of task `fail_at`.
int64_t pool_submit_sum(int64_t workers, int64_t count, int64_t fail_at) {
  ThreadPool pool(static_cast<int>(workers));
  std::vector<std::future<int64_t>> results;
  for (int64_t i = 0; i < count; ++i) {
    results.push_back(pool.submit([i, fail_at] {
      TORCH_CHECK(i != fail_at, "mt_test::pool_submit_sum: task ", i, " failed");
      return i;
    }));
  }
  int64_t sum = 0;
  for (auto& result : results) {
    sum += result.get();
  }
  return sum;
}

// A fresh int64 tensor of `elements`, advised to take huge pages
// (advise_huge_pages) before a parallel fill with 0, 1, 2, ...: the test
// reads its values and, in /proc/self/smaps, what backs it.
at::Tensor huge_pages_fill(int64_t elements) {
  at::Tensor out = at::empty({elements}, at::kLong);
  int64_t* values = out.data_ptr<int64_t>();
  advise_huge_pages(values, out.nbytes());
  parallel_for(0, elements, grain_for(1), [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) {
      values[i] = i;
    }
  });
  return out;
}

}  // namespace

TORCH_LIBRARY(mt_test, m) {
  m.def("fan_out_owners(int size, int grain, float item_micros=0.0, int nested=0) -> Tensor",
        &fan_out_owners);
  m.def("fan_out_fail(int size, int grain, int fail_at, str message) -> Tensor", &fan_out_fail);
  m.def("fan_out_nested(int outer, int inner) -> Tensor", &fan_out_nested);
  m.def("worker_state(int size) -> Tensor", &worker_state);
  m.def("pool_submit_sum(int workers, int count, int fail_at) -> int", &pool_submit_sum);
  m.def("huge_pages_fill(int elements) -> Tensor", &huge_pages_fill);
}

}  // namespace mt
