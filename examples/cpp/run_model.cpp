// Runs the TorchScript model of make_model.py from C++, with no Python in the
// process: libtorch plus libtorch_mt.so (linked through find_package(TorchMT)).
//
//   run_model MODEL_DIR OUT_FILE [PACKAGE OUT_FILE]
//
// Prints what a deployment would check, one fact a line, and writes the
// model's outputs and the soft-DTW gradient to OUT_FILE (torch.load reads it).
// With an AOTInductor package (make_model.py's model.pt2), also runs it on
// the same inputs with libtorch's package loader and writes its outputs.
#include <sys/wait.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/script.h>
#include <torch/torch.h>
#include <torch_mt/ops.h>
#include <torch_mt/parallel.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

bool libpython_is_mapped() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("libpython") != std::string::npos) {
      return true;
    }
  }
  return false;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

void save(const std::vector<torch::Tensor>& tensors, const char* path) {
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(tensors));
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 5) {
    std::cerr << "usage: run_model MODEL_DIR OUT_FILE [PACKAGE OUT_FILE]\n";
    return 2;
  }
  const std::string directory = argv[1];
  // TORCH_MT_NUM_THREADS decides the first count; the C++ API changes it.
  std::cout << "threads at start: " << mt::get_num_threads() << "\n";
  mt::set_num_threads(2);
  std::cout << "threads now: " << mt::get_num_threads() << "\n";
  // ... and so does the operator a scripted model would call.
  torch_mt::ops::set_num_threads(3);
  std::cout << "threads via the operator: " << mt::get_num_threads() << "\n";
  mt::set_num_threads(2);

  torch::jit::Module model = torch::jit::load(directory + "/model.pt");
  torch::jit::Module inputs = torch::jit::load(directory + "/inputs.pt");
  const auto input = [&](const char* name) { return inputs.attr(name).toTensor(); };
  const torch::Tensor alignment_cost = input("alignment_cost").clone().requires_grad_(true);

  auto outputs = model
                     .forward({input("boxes"), input("scores"), input("match_cost"), alignment_cost,
                               input("tokens"), input("lengths")})
                     .toTuple()
                     ->elements();
  // The gradient flows through mt::soft_dtw's C++ autograd formula.
  outputs[3].toTensor().sum().backward();
  std::vector<torch::Tensor> results;
  for (const auto& output : outputs) {
    results.push_back(output.toTensor().detach());
  }
  results.push_back(alignment_cost.grad());
  save(results, argv[2]);

  if (argc == 5) {  // the AOTInductor package: inputs in the exported order
    torch::inductor::AOTIModelPackageLoader package(argv[3]);
    save(package.run({input("boxes"), input("scores"), input("match_cost"), input("alignment_cost"),
                      input("tokens"), input("lengths")}),
         argv[4]);
    std::cout << "package: ran\n";
  }

  // A bad input found inside a worker reaches the caller as a c10::Error.
  torch::Tensor boxes = torch::rand({8, 50, 4}).cumsum(-1);
  torch::Tensor scores = torch::rand({8, 50});
  scores.index_put_({5, 3}, std::numeric_limits<float>::quiet_NaN());
  try {
    torch_mt::ops::nms_padded(boxes, scores, 0.5);
    std::cout << "error: none\n";
  } catch (const c10::Error& error) {
    std::cout << "error: " << first_line(error.what_without_backtrace()) << "\n";
  }

  // fork(): the child gets a fresh pool and runs an operator.
  const pid_t child = fork();
  if (child == 0) {
    auto again = model.forward({input("boxes"), input("scores"), input("match_cost"),
                                input("alignment_cost"), input("tokens"), input("lengths")});
    const bool same = again.toTuple()->elements()[4].toTensor().equal(results[4]);
    _exit(same ? 0 : 3);
  }
  int status = 0;
  waitpid(child, &status, 0);
  std::cout << "forked child exit: " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1) << "\n";
  std::cout << "libpython mapped: " << (libpython_is_mapped() ? "yes" : "no") << "\n";
  return 0;  // with the pool alive: exit must be clean
}
