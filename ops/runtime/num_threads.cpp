// The process-wide pool: its size (default, environment, set_num_threads)
// and its life across fork() and interpreter exit.
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <new>
#include <string>

#include <torch_mt/parallel_for.h>

namespace mt {
namespace {

struct ProcessPoolState {
  std::mutex mutex;
  int num_threads = 0;  // 0 until first use decides it
  // Set by set_num_threads or TORCH_MT_NUM_THREADS. Otherwise the count
  // follows the allocation, which can change while the process lives: a Ray
  // worker runs one task after another, each with its own OMP_NUM_THREADS.
  bool chosen = false;
  std::shared_ptr<ThreadPool> pool;
};

// Never destroyed: at exit a daemon Python thread may still wait inside an
// operator, and joining or destroying the pool under it would abort the
// interpreter. The OS reclaims the threads.
ProcessPoolState& state() {
  static ProcessPoolState* leaked = new ProcessPoolState;
  return *leaked;
}

// cpu.max holds "max <period>" or "<quota> <period>" (cgroup v2).
int cgroup_v2_cpu_limit(const std::string& cpu_max_path) {
  std::ifstream file(cpu_max_path);
  std::string quota;
  double period = 0;
  if (!(file >> quota >> period) || quota == "max" || period <= 0) {
    return 0;
  }
  const double cpus = std::atof(quota.c_str()) / period;
  return cpus > 0 ? std::max(1, static_cast<int>(std::ceil(cpus))) : 0;
}

// The v2 cgroup of this process is the "0::<path>" line of /proc/self/cgroup.
std::string own_cgroup_v2_path() {
  std::ifstream file("/proc/self/cgroup");
  std::string line;
  while (std::getline(file, line)) {
    if (line.rfind("0::", 0) == 0) {
      return line.substr(3);
    }
  }
  return "";
}

int cgroup_cpu_limit() {
  const std::string own = own_cgroup_v2_path();
  int limit = own.empty() ? 0 : cgroup_v2_cpu_limit("/sys/fs/cgroup" + own + "/cpu.max");
  if (limit == 0) {
    limit = cgroup_v2_cpu_limit("/sys/fs/cgroup/cpu.max");
  }
  if (limit == 0) {  // cgroup v1
    std::ifstream quota_file("/sys/fs/cgroup/cpu/cpu.cfs_quota_us");
    std::ifstream period_file("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
    double quota = 0, period = 0;
    if ((quota_file >> quota) && (period_file >> period) && quota > 0 && period > 0) {
      limit = std::max(1, static_cast<int>(std::ceil(quota / period)));
    }
  }
  return limit;
}

// The one range check of a thread count; `what` names where it came from.
// ValueError in Python, like any out-of-range argument.
void check_thread_count(int64_t count, const char* what, const std::string& as_given) {
  TORCH_CHECK_VALUE(count >= 1 && count <= kMaxThreads, what, " must be an integer between 1 and ",
                    kMaxThreads, ", got ", as_given);
}

int parse_thread_count_env(const char* name, const char* text) {
  std::string value(text);
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  value.erase(value.begin(), std::find_if(value.begin(), value.end(), not_space));
  value.erase(std::find_if(value.rbegin(), value.rend(), not_space).base(), value.end());
  char* parse_end = nullptr;
  errno = 0;
  const long parsed = value.empty() ? 0 : std::strtol(value.c_str(), &parse_end, 10);
  const bool whole = !value.empty() && errno == 0 && *parse_end == '\0';
  const std::string what = std::string("torch_mt: environment variable ") + name;
  check_thread_count(whole ? parsed : 0, what.c_str(), "'" + std::string(text) + "'");
  return static_cast<int>(parsed);
}

// OMP_NUM_THREADS as the allocation it states: the first number of its list
// ("4" or "4,2" for nested levels); 0 when unset or not a positive number
// (the variable is OpenMP's to validate, not ours).
int omp_num_threads_limit() {
  const char* env = std::getenv("OMP_NUM_THREADS");
  if (env == nullptr) {
    return 0;
  }
  char* end = nullptr;
  errno = 0;
  const long parsed = std::strtol(env, &end, 10);
  const bool number = end != env && errno == 0 && (*end == '\0' || *end == ',');
  return number && parsed > 0 ? static_cast<int>(std::min<long>(parsed, kMaxThreads)) : 0;
}

// The CPUs the affinity mask allows, capped by the cgroup quota. The quota
// takes file reads and does not change under a running process: read once.
int machine_cpus() {
  static const int quota = cgroup_cpu_limit();
  int cpus = 0;
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
    cpus = CPU_COUNT(&allowed);
  }
  if (cpus <= 0) {
    cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  return quota > 0 ? std::min(cpus, quota) : cpus;
}

// Caller holds state().mutex. A chosen count stays; a default one is checked
// against the allocation again (a getenv and a syscall, ~1 us, only on calls
// that fan out), and a changed allocation moves the pool into `retired`, for
// the caller to let go of after unlocking (a running fan-out may still hold
// it; whoever lets go last joins its workers).
int decided_num_threads(ProcessPoolState& s, std::shared_ptr<ThreadPool>& retired) {
  if (s.num_threads == 0) {
    const char* env = std::getenv("TORCH_MT_NUM_THREADS");
    s.chosen = env != nullptr && *env != '\0';
    s.num_threads =
        s.chosen ? parse_thread_count_env("TORCH_MT_NUM_THREADS", env) : default_num_threads();
    // A pool kept from before a reset_num_threads() may have another size.
    if (s.pool && s.pool->num_workers() + 1 != s.num_threads) {
      retired = std::move(s.pool);
    }
    return s.num_threads;
  }
  if (!s.chosen) {
    const int allocation = default_num_threads();
    if (allocation != s.num_threads) {
      s.num_threads = allocation;
      retired = std::move(s.pool);
    }
  }
  return s.num_threads;
}

// Runs first on every worker. ATen sets each thread's OpenMP count lazily, on
// the thread's first at::get_num_threads(), and would overwrite ours then. So
// trigger that now, through the exported function (the inline
// lazy_init_num_threads has a separate thread_local flag in each library),
// then cap OpenMP at one thread: an ATen op inside a worker never starts its
// own team (2 workers x 2 OpenMP threads halved throughput on 2 cores).
void limit_intra_op_threads_on_this_worker() {
  (void)at::get_num_threads();
  omp_set_num_threads(1);
}

// fork() copies the pool's memory but none of its threads. The child leaks
// the parent's pool (destroying it would join threads that do not exist)
// and builds a fresh one on first use, as PyTorch does for its own pools.
void lock_before_fork() { state().mutex.lock(); }
void unlock_in_parent() { state().mutex.unlock(); }
void reset_in_child() {
  ProcessPoolState& s = state();
  new std::shared_ptr<ThreadPool>(std::move(s.pool));  // leaked on purpose
  new (&s.mutex) std::mutex();  // the forking thread's lock has no owner here
}

const bool fork_handlers_installed = [] {
  return pthread_atfork(lock_before_fork, unlock_in_parent, reset_in_child) == 0;
}();

}  // namespace

int default_num_threads() {
  int cpus = machine_cpus();
  const int omp = omp_num_threads_limit();
  if (omp > 0) {
    cpus = std::min(cpus, omp);
  }
  return std::clamp(cpus, 1, kMaxThreads);
}

int get_num_threads() {
  ProcessPoolState& s = state();
  std::shared_ptr<ThreadPool> retired;  // let go of after the lock (declared first)
  std::lock_guard<std::mutex> lock(s.mutex);
  return decided_num_threads(s, retired);
}

void set_num_threads(int64_t num_threads) {
  check_thread_count(num_threads, "torch_mt.set_num_threads: argument 'num_threads'",
                     std::to_string(num_threads));
  std::shared_ptr<ThreadPool> retired;
  {
    ProcessPoolState& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    s.chosen = true;  // from now on the allocation no longer moves it
    if (s.num_threads == num_threads) {
      return;
    }
    s.num_threads = static_cast<int>(num_threads);
    retired = std::move(s.pool);
  }
  // `retired` is joined here, outside the lock, unless a running fan-out
  // still holds it; then that fan-out's caller joins it when it finishes.
}

std::optional<int64_t> chosen_num_threads() {
  ProcessPoolState& s = state();
  std::shared_ptr<ThreadPool> retired;  // let go of after the lock (declared first)
  std::lock_guard<std::mutex> lock(s.mutex);
  const int threads = decided_num_threads(s, retired);
  return s.chosen ? std::optional<int64_t>(threads) : std::nullopt;
}

void reset_num_threads() {
  ProcessPoolState& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  // Decided again on the next use, as at start-up (the pool is kept if its size still fits).
  s.num_threads = 0;
  s.chosen = false;
}

std::shared_ptr<ThreadPool> process_pool() {
  TORCH_INTERNAL_ASSERT(fork_handlers_installed, "torch_mt: pthread_atfork failed");
  ProcessPoolState& s = state();
  std::shared_ptr<ThreadPool> retired;  // let go of after the lock (declared first)
  std::lock_guard<std::mutex> lock(s.mutex);
  const int threads = decided_num_threads(s, retired);
  if (!s.pool) {
    s.pool = std::make_shared<ThreadPool>(threads - 1, limit_intra_op_threads_on_this_worker);
  }
  return s.pool;
}

}  // namespace mt
