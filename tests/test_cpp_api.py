"""<torch_mt/ops.h>, the typed C++ API, is generated from the operator schemas.

Each ``mt::`` operator gets one inline function ``torch_mt::ops::<name>`` with
the schema's arguments, C++ types and defaults, calling the operator through
the dispatcher (so a C++ caller gets the same checks, kernels and autograd as
Python). The test renders the header from the registered schemas and compares
it with the committed one: a new or changed operator fails it until the header
is regenerated with ``python tests/test_cpp_api.py > ops/include/torch_mt/ops.h``.
The C++ examples (tests/test_deploy.py) compile against it.
"""

from __future__ import annotations

import pathlib

import torch

import torch_mt  # noqa: F401  (registers the operators)

HEADER = pathlib.Path(__file__).parent.parent / "ops" / "include" / "torch_mt" / "ops.h"

# Schema types (as TorchScript spells them) in C++, as the kernels take them.
_ARGUMENT_TYPES = {
    "Tensor": "const at::Tensor&",
    "Optional[Tensor]": "const std::optional<at::Tensor>&",
    "int": "int64_t",
    "Optional[int]": "std::optional<int64_t>",
    "float": "double",
    "bool": "bool",
    "List[str]": "const std::vector<std::string>&",
    "List[int]": "at::IntArrayRef",
    "Optional[List[int]]": "at::OptionalIntArrayRef",
    "str": "const std::string&",
    "Optional[float]": "std::optional<double>",
    "List[List[str]]": "const std::vector<std::vector<std::string>>&",
}
_RETURN_TYPES = {
    "Tensor": "at::Tensor",
    "int": "int64_t",
    "Optional[int]": "std::optional<int64_t>",
    "str": "std::string",
}


def _default(value: object) -> str:
    if value is None:
        return "std::nullopt"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def _function(schema: torch._C.FunctionSchema) -> str:
    name = schema.name.split("::", 1)[1]
    types = [_ARGUMENT_TYPES[str(argument.type)] for argument in schema.arguments]
    # C++ takes defaults only on a trailing run of arguments.
    defaulted = len(schema.arguments)
    while defaulted > 0 and schema.arguments[defaulted - 1].has_default_value():
        defaulted -= 1
    parameters = [
        f"{kind} {argument.name}"
        + (f" = {_default(argument.default_value)}" if i >= defaulted else "")
        for i, (kind, argument) in enumerate(zip(types, schema.arguments))
    ]
    returns = [_RETURN_TYPES[str(result.type)] for result in schema.returns]
    result = (
        "void"
        if not returns
        else returns[0]
        if len(returns) == 1
        else f"std::tuple<{', '.join(returns)}>"
    )
    names = ", ".join(argument.name for argument in schema.arguments)
    signature = f"{result}({', '.join(types)})"
    body = f'  static const auto op = detail::typed<{signature}>("{schema.name}");\n'
    body += f"  {'' if result == 'void' else 'return '}op.call({names});\n"
    parameter_lines = ",\n    ".join(parameters)
    return (
        f"// {schema}\ninline {result} {name}(\n    {parameter_lines}) {{\n{body}}}\n"
        if parameters
        else f"// {schema}\ninline {result} {name}() {{\n{body}}}\n"
    )


def render_header() -> str:
    schemas = sorted(
        # Check ops (mt::_nms_checks, ...) serve the Python fakes: not API.
        (
            s
            for s in torch._C._jit_get_all_schemas()
            if s.name.startswith("mt::") and not s.name.startswith("mt::_")
        ),
        key=lambda s: s.name,
    )
    functions = "\n".join(_function(schema) for schema in schemas)
    return f"""\
// <torch_mt/ops.h>: one typed C++ function per torch_mt operator,
// torch_mt::ops::<name>(...), with the schema's arguments and defaults.
// Each calls the operator through the dispatcher (checks, kernels and
// autograd as from Python); link libtorch_mt.so, which registers them.
//
// Generated from the operator schemas by tests/test_cpp_api.py, which fails
// when this file is out of date: do not edit by hand.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace torch_mt::ops {{
namespace detail {{

// The operator's handle, typed; each function looks it up once.
template <typename Signature>
c10::TypedOperatorHandle<Signature> typed(const char* name) {{
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "").typed<Signature>();
}}

}}  // namespace detail

{functions}
}}  // namespace torch_mt::ops
"""


def _clang_formatted(source: str) -> str:
    """As `make lint` wants every header (the pinned clang-format of the test extra)."""
    import subprocess
    import sysconfig

    binary = pathlib.Path(sysconfig.get_path("scripts")) / "clang-format"
    style = f"--assume-filename={HEADER}"
    return subprocess.run(
        [str(binary), style], input=source, capture_output=True, text=True, check=True
    ).stdout


def test_the_typed_cpp_api_matches_the_operator_schemas():
    assert HEADER.read_text() == _clang_formatted(render_header()), (
        "ops/include/torch_mt/ops.h is out of date: "
        "python tests/test_cpp_api.py > ops/include/torch_mt/ops.h"
    )


if __name__ == "__main__":
    print(_clang_formatted(render_header()), end="")
