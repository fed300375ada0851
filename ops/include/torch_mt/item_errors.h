// Per-item failures of a fan-out, reported the same way whatever the thread count.
//
//   mt::ItemErrors errors;
//   mt::parallel_for(0, batch, grain, [&](int64_t first, int64_t last) {
//     for (int64_t b = first; b < last; ++b) {
//       errors.run(b, [&] { out[b] = solve_item(b); });  // may TORCH_CHECK(..., "cost[", b, "]")
//     }
//   });
//   errors.rethrow();  // the lowest failing item's own exception, if any
//
// parallel_for alone rethrows whichever chunk failed first in time, which
// depends on the thread count; a kernel whose items check their own data
// uses this instead, so the message always names the lowest bad item.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <limits>
#include <mutex>
#include <utility>

namespace mt {

class ItemErrors {
 public:
  // Runs work() for `item` and keeps what it throws if no lower item has
  // failed. Items above a recorded failure are skipped: their result is
  // discarded anyway, and the failure that wins cannot come from them.
  template <class Work>
  void run(int64_t item, Work&& work) noexcept {
    if (item > lowest_failed_.load(std::memory_order_relaxed)) {
      return;
    }
    try {
      std::forward<Work>(work)();
    } catch (...) {
      record(item, std::current_exception());
    }
  }

  bool failed() const { return lowest_failed_.load(std::memory_order_relaxed) != kNone; }

  // Rethrows the lowest failing item's exception; call it after the fan-out.
  void rethrow() const {
    if (error_) {
      std::rethrow_exception(error_);
    }
  }

 private:
  static constexpr int64_t kNone = std::numeric_limits<int64_t>::max();

  void record(int64_t item, std::exception_ptr error) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    if (item < lowest_failed_.load(std::memory_order_relaxed)) {
      error_ = std::move(error);
      lowest_failed_.store(item, std::memory_order_relaxed);
    }
  }

  std::mutex mutex_;
  // Written under mutex_; read without it only as a hint to skip work.
  std::atomic<int64_t> lowest_failed_{kNone};
  std::exception_ptr error_;  // guarded by mutex_; read after the fan-out
};

}  // namespace mt
