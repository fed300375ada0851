"""Packages lcs.cpp as a user would ship it: torch_mt.cpp_extension.CppExtension.

    pip install --no-build-isolation .     # or: python setup.py build_ext --inplace

The result, user_op_lcs/_ops.so, holds only TORCH_LIBRARY registrations (no
Python module): load it with torch.ops.load_library(user_op_lcs.library_path)
— user_op_lcs/__init__.py does — and call torch.ops.user_ops.lcs_length.
Without build isolation: the build needs the torch and torch_mt installed here.
"""

from setuptools import setup
from torch.utils.cpp_extension import BuildExtension

from torch_mt.cpp_extension import CppExtension

setup(
    name="user-op-lcs",
    version="0.1.0",
    packages=["user_op_lcs"],
    ext_modules=[CppExtension("user_op_lcs._ops", ["lcs.cpp"])],
    # No Python ABI suffix: the file is loaded by path, never imported.
    cmdclass={"build_ext": BuildExtension.with_options(no_python_abi_suffix=True)},
)
