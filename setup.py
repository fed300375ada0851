"""Builds torch_mt._C, one extension from every ops/**/*.cpp but ops/probes/.

ops/probes/ holds the runtime's test operators (torch.ops.mt_test); they are
not shipped: tests and the benchmark build them on demand (torch_mt/_probes.py).

All compiler flags live here. Build without isolation, against the torch
already installed (`make install` does this), or pip downloads another torch.
"""

import glob
import os

from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CppExtension, include_paths

HERE = os.path.dirname(os.path.abspath(__file__))

SOURCES = sorted(
    os.path.relpath(path, HERE)
    for path in glob.glob(os.path.join(HERE, "ops", "**", "*.cpp"), recursive=True)
    if not path.startswith(os.path.join(HERE, "ops", "probes", ""))
)

# -fopenmp: the runtime caps OpenMP at one thread on each worker
# (omp_set_num_threads); at run time that binds to the libgomp torch loaded.
# torch's headers are -isystem so -Wextra reports our code, not theirs.
CXX_FLAGS = ["-O3", "-std=c++20", "-fopenmp", "-Wall", "-Wextra"]
CXX_FLAGS += [f"-isystem{path}" for path in include_paths()]
LINK_FLAGS = ["-fopenmp"]
# The Makefile adds -Werror for dev and CI builds (a user's newer compiler
# must not fail the install over a new warning); sanitizer builds add theirs.
CXX_FLAGS += os.environ.get("TORCH_MT_EXTRA_CFLAGS", "").split()
LINK_FLAGS += os.environ.get("TORCH_MT_EXTRA_LDFLAGS", "").split()

setup(
    ext_modules=[
        CppExtension(
            name="torch_mt._C",
            sources=SOURCES,
            include_dirs=[os.path.join(HERE, "ops")],
            extra_compile_args={"cxx": CXX_FLAGS},
            extra_link_args=LINK_FLAGS,
        )
    ],
    cmdclass={"build_ext": BuildExtension.with_options(use_ninja=True)},
)
