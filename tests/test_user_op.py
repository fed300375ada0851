"""examples/user_op: an operator written outside torch_mt (one C++ file, one
spec file), built with torch_mt.cpp_extension, passes the harness the
built-in operators pass."""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "examples" / "user_op"))

import spec as user_op_spec  # noqa: E402

from torch_mt.testing import operator_tests  # noqa: E402

user_op_spec.build()
globals().update(operator_tests([user_op_spec.SPEC]))
