// mt::edit_distance_text where it belongs: inside a TorchScript model run
// from C++, the strings already IValues (no Python list for the dispatcher
// to convert, which is what makes the str[] op slow from eager Python).
//
//   text_in_torchscript MODEL PAIRS THREADS BLOCKS -> the median ms per call
//
// MODEL: a scripted module, forward(a: List[str], b: List[str]) -> Tensor.
// PAIRS: a text file of pairs, one string a line: a[0], b[0], a[1], b[1], ...
#include <torch/script.h>
#include <torch_mt/parallel.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: text_in_torchscript MODEL PAIRS THREADS BLOCKS\n";
    return 2;
  }
  torch::jit::Module model = torch::jit::load(argv[1]);
  c10::List<std::string> a, b;
  std::ifstream pairs(argv[2]);
  for (std::string left, right; std::getline(pairs, left) && std::getline(pairs, right);) {
    a.push_back(left);
    b.push_back(right);
  }
  mt::set_num_threads(std::stoi(argv[3]));
  const int blocks = std::stoi(argv[4]);
  const std::vector<c10::IValue> inputs{a, b};
  const int64_t checksum = model.forward(inputs).toTensor().sum().item<int64_t>();  // warm-up
  std::vector<double> per_call;
  for (int block = 0; block < blocks; ++block) {
    const auto start = std::chrono::steady_clock::now();
    const at::Tensor out = model.forward(inputs).toTensor();
    const std::chrono::duration<double, std::milli> elapsed =
        std::chrono::steady_clock::now() - start;
    per_call.push_back(elapsed.count());
    if (out.sum().item<int64_t>() != checksum) {
      std::cerr << "the distances changed between calls\n";
      return 1;
    }
  }
  std::nth_element(per_call.begin(), per_call.begin() + blocks / 2, per_call.end());
  std::cout << per_call[blocks / 2] << " " << checksum << "\n";
  return 0;
}
