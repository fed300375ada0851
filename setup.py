"""Builds torch_mt/lib/libtorch_mt.so from every ops/**/*.cpp but ops/probes/
and the families' Python bindings (ops/<family>/python_*.cpp), and the Python
extension modules of those bindings: torch_mt/_text.so
(ops/levenshtein/python_strings.cpp, ops/text_metrics/python_text_metrics.cpp)
and torch_mt/_records.so (ops/detection/python_records.cpp).

The library holds the runtime and every operator (schemas, CPU, Meta and
Autograd kernels) and needs no Python: `import torch_mt` loads it with
torch.ops.load_library, and C++ programs link it or load it the same way.
It links c10, torch and torch_cpu only, never torch_python or libpython.
ops/probes/ holds the runtime's test operators (torch.ops.mt_test); they are
not shipped: tests and the benchmark build them on demand (torch_mt/_probes.py).
The python_*.cpp files are the only C++ that uses Python's C API; each lives
with its family (the wrappers' string conversion and the edit distance of
strings read in place, levenshtein; sacrebleu's statistics of strings read in
place, text_metrics: torch_mt._text; COCO's lists of dicts to columns,
detection: torch_mt._records) and includes its family's headers as siblings.
They are separate modules so that the library stays Python-free. Both link
the library (its pool; _text its kernels too), found beside it at run time
as lib/libtorch_mt.so.

All compiler flags live here. Build without isolation, against the torch
already installed (`make install` does this), or pip downloads another torch.
"""

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile

import torch
from setuptools import Extension, setup
from torch.utils.cpp_extension import BuildExtension, include_paths, library_paths

HERE = os.path.dirname(os.path.abspath(__file__))

#: ops/<family>/python_*.cpp: a family's Python bindings, never in the library.
PYTHON_BINDING_PREFIX = "python_"

SOURCES = sorted(
    os.path.relpath(path, HERE)
    for path in glob.glob(os.path.join(HERE, "ops", "**", "*.cpp"), recursive=True)
    if not path.startswith(os.path.join(HERE, "ops", "probes", ""))
    and not os.path.basename(path).startswith(PYTHON_BINDING_PREFIX)
)

#: simdjson (Apache-2.0 or MIT, https://simdjson.org), the JSON parser of
#: coco_evaluate's file path (ops/detection/coco_json.cpp), is compiled into
#: the library from its single-file release: simdjson.h and simdjson.cpp.
#: The registry carries that release inside pysimdjson's source archive, so
#: the build takes it from there (checked against this hash) and git holds
#: none of simdjson's code. TORCH_MT_SIMDJSON_DIR names a folder that already
#: holds both files (the Makefile's cache; a packager's own copy).
SIMDJSON_SDIST = "pysimdjson==7.0.2"  # simdjson 3.12.3
SIMDJSON_SDIST_SHA256 = "44cf276e48912a3b9c7ca362c14da8420a7ac15a9f1a16ec95becff86db3904a"
SIMDJSON_FILES = ("simdjson.h", "simdjson.cpp")


def simdjson_folder() -> str:
    """The folder of simdjson.h and simdjson.cpp, fetched once if missing."""
    folder = os.environ.get("TORCH_MT_SIMDJSON_DIR") or os.path.join(
        HERE, "build", "third_party", "simdjson-3.12.3"
    )
    if all(os.path.isfile(os.path.join(folder, name)) for name in SIMDJSON_FILES):
        return folder
    with tempfile.TemporaryDirectory() as download:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", "--dest", download, SIMDJSON_SDIST],
            check=True,
        )  # fmt: skip
        (archive,) = glob.glob(os.path.join(download, "*.tar.gz"))
        with open(archive, "rb") as file:
            digest = hashlib.sha256(file.read()).hexdigest()
        if digest != SIMDJSON_SDIST_SHA256:
            sys.exit(f"{SIMDJSON_SDIST}: sha256 {digest}, expected {SIMDJSON_SDIST_SHA256}")
        os.makedirs(folder, exist_ok=True)
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if os.path.basename(member.name) in SIMDJSON_FILES:
                    with tar.extractfile(member) as source:
                        with open(os.path.join(folder, os.path.basename(member.name)), "wb") as out:
                            out.write(source.read())
    return folder


# The runtime's public API, installed as torch_mt/include/torch_mt/.
PUBLIC_HEADERS = os.path.join(HERE, "ops", "include", "torch_mt")

# -fopenmp: the runtime caps OpenMP at one thread on each worker
# (omp_set_num_threads); at run time that binds to the libgomp torch loaded.
# torch's headers are -isystem so -Wextra reports our code, not theirs.
# -ffp-contract=off: no a * b + c fused into an FMA where a kernel's
# AVX-512 entry enables FMA (simd.h): each ISA variant gives the same bits.
CXX_FLAGS = ["-O3", "-std=c++20", "-ffp-contract=off", "-fopenmp", "-Wall", "-Wextra"]
CXX_FLAGS += [f"-isystem{path}" for path in include_paths()]
# -isystem: simdjson's own warnings are not ours to fix (-Werror).
CXX_FLAGS += [f"-isystem{simdjson_folder()}"]
# $ORIGIN/../../torch/lib: torch's libraries as installed beside torch_mt
# (site-packages/torch/lib), so the library loads without LD_LIBRARY_PATH.
LINK_FLAGS = ["-fopenmp", "-Wl,-rpath,$ORIGIN/../../torch/lib", "-Wl,--no-undefined"]
LINK_FLAGS += [f"-Wl,-rpath,{path}" for path in library_paths()]
# The Makefile adds -Werror for dev and CI builds (a user's newer compiler
# must not fail the install over a new warning); sanitizer builds add theirs.
EXTRA_CXX_FLAGS = os.environ.get("TORCH_MT_EXTRA_CFLAGS", "").split()
EXTRA_LINK_FLAGS = os.environ.get("TORCH_MT_EXTRA_LDFLAGS", "").split()
CXX_FLAGS += EXTRA_CXX_FLAGS
LINK_FLAGS += EXTRA_LINK_FLAGS


class BuildLibrary(BuildExtension.with_options(use_ninja=True, no_python_abi_suffix=True)):
    """Builds the library, then puts the public headers beside it.

    The package then holds what a C++ project needs (docs/deploy.md):
    lib/libtorch_mt.so, include/torch_mt/*.h (the public runtime headers,
    ops/include/torch_mt/, which the built-in operators include by the same
    <torch_mt/...> path) and share/cmake/TorchMT/TorchMTConfig.cmake (tracked).
    """

    def finalize_options(self):
        super().finalize_options()
        # pip's editable install (`make install`) builds in a fresh temporary
        # folder, so every install would recompile every translation unit
        # (~4 min on 2 cores). Outside this tree, build where `make build`
        # does instead: ninja then reuses the objects of the last build.
        if not os.path.abspath(self.build_temp).startswith(HERE + os.sep):
            tag = f"{sysconfig.get_platform()}-{sys.implementation.cache_tag}"
            self.build_temp = os.path.join(HERE, "build", f"temp.{tag}")

    def build_extension(self, ext):
        if ext.name in ("torch_mt._text", "torch_mt._records"):  # link the library, built first
            library = self.get_ext_fullpath("torch_mt.lib.libtorch_mt")
            ext.library_dirs = [os.path.dirname(library)]
        super().build_extension(ext)

    def run(self):
        super().run()
        # Into the built package (a wheel) and the source one (editable and
        # in-place builds, where setuptools copies only the library).
        built = os.path.dirname(os.path.dirname(self.get_ext_fullpath("torch_mt.lib.libtorch_mt")))
        for package in {built, os.path.join(HERE, "torch_mt")}:
            include = os.path.join(package, "include", "torch_mt")
            os.makedirs(include, exist_ok=True)
            for header in glob.glob(os.path.join(PUBLIC_HEADERS, "*.h")):
                shutil.copy2(header, include)
            # The torch this library is compiled against: `import torch_mt`
            # compares it with the running torch before loading the library.
            # json.dumps: a double-quoted literal, as the project's formatter
            # (ruff format) wants it, so a built tree without git (an unpacked
            # sdist, where .gitignore does not hide this file) passes `make lint`.
            with open(os.path.join(package, "_build_info.py"), "w") as info:
                info.write(
                    "# Written by setup.py when the library was built: not in git.\n"
                    f"BUILT_WITH_TORCH = {json.dumps(torch.__version__)}\n"
                )


setup(
    ext_modules=[
        # A plain shared library, not a Python extension module: no PyInit,
        # no Python ABI suffix (BuildExtension's no_python_abi_suffix).
        Extension(
            name="torch_mt.lib.libtorch_mt",
            sources=SOURCES,
            # Only the public headers' root: operators reach the runtime
            # exactly as a user's code does, <torch_mt/parallel.h>.
            include_dirs=[os.path.dirname(PUBLIC_HEADERS), *include_paths()],
            library_dirs=library_paths(),
            libraries=["c10", "torch", "torch_cpu"],
            extra_compile_args={"cxx": CXX_FLAGS},
            extra_link_args=LINK_FLAGS,
            language="c++",
        ),
        # Python's C API and the library's strings.h only (no torch headers,
        # so it compiles in a second or two); linked to the library built
        # just before it (BuildLibrary.build_extension adds where it is).
        Extension(
            name="torch_mt._text",
            sources=[
                "ops/levenshtein/python_strings.cpp",
                "ops/text_metrics/python_text_metrics.cpp",
            ],
            include_dirs=[os.path.dirname(PUBLIC_HEADERS)],
            libraries=["torch_mt"],
            extra_compile_args={"cxx": ["-O3", "-std=c++20", "-Wall", "-Wextra", *EXTRA_CXX_FLAGS]},
            extra_link_args=[
                "-Wl,-rpath,$ORIGIN/lib",
                *[f"-Wl,-rpath-link,{path}" for path in library_paths()],
                *EXTRA_LINK_FLAGS,
            ],
            language="c++",
        ),
        # Python's C API and the library's pool (<torch_mt/parallel_for.h>,
        # whose one torch header is c10's FunctionRef), linked like _text.
        Extension(
            name="torch_mt._records",
            sources=["ops/detection/python_records.cpp"],
            include_dirs=[os.path.dirname(PUBLIC_HEADERS), *include_paths()],
            libraries=["torch_mt"],
            extra_compile_args={"cxx": ["-O3", "-std=c++20", "-Wall", "-Wextra", *EXTRA_CXX_FLAGS]},
            extra_link_args=[
                "-Wl,-rpath,$ORIGIN/lib",
                *[f"-Wl,-rpath-link,{path}" for path in library_paths()],
                *EXTRA_LINK_FLAGS,
            ],
            language="c++",
        ),
    ],
    cmdclass={"build_ext": BuildLibrary},
)
