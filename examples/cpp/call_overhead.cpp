// What one tiny operator call costs from C++: mt::dtw on a [2, 12, 12] cost
// (below one grain, so it runs inline), called through the dispatcher as a
// TorchScript or AOTInductor model calls it: torch_mt::ops::dtw, the typed
// function of <torch_mt/ops.h>.
//
//   call_overhead CALLS BLOCKS   -> prints the median nanoseconds per call
#include <ATen/ATen.h>
#include <torch_mt/ops.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: call_overhead CALLS BLOCKS\n";
    return 2;
  }
  const int calls = std::stoi(argv[1]), blocks = std::stoi(argv[2]);
  const at::Tensor cost = at::rand({2, 12, 12}, at::kDouble);
  for (int i = 0; i < calls; ++i) {  // warm-up: allocator, caches
    torch_mt::ops::dtw(cost);
  }
  std::vector<double> per_call;
  for (int block = 0; block < blocks; ++block) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i) {
      torch_mt::ops::dtw(cost);
    }
    const std::chrono::duration<double, std::nano> elapsed =
        std::chrono::steady_clock::now() - start;
    per_call.push_back(elapsed.count() / calls);
  }
  std::nth_element(per_call.begin(), per_call.begin() + blocks / 2, per_call.end());
  std::cout << per_call[blocks / 2] << "\n";
  return 0;
}
