"""The harness catches real bugs: planted::normalize_rows (tests/planted/)
passes every check when correct, and each planted bug fails the check meant
to catch it."""

from __future__ import annotations

import pathlib

import pytest
import torch
from hypothesis import strategies as st

import torch_mt.cpp_extension
from torch_mt.testing import (
    LAYOUTS,
    BadInput,
    OpSpec,
    check_bad_inputs,
    check_matches_reference,
    check_opcheck,
    check_operator,
    check_same_result_for_any_thread_count,
    with_layout,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "planted" / "planted_bugs.cpp"
BUILD = ROOT / "build" / "planted"
torch_mt.cpp_extension.load("torch_mt_planted_bugs", [str(SOURCE)], build_directory=str(BUILD))


def spec_with(bug: int) -> OpSpec:
    @st.composite
    def args(draw, large: bool = False):
        rows = draw(st.integers(40, 120) if large else st.integers(1, 6))
        cols = draw(st.integers(1, 40))
        seed = draw(st.integers(0, 2**32 - 1))
        generator = torch.Generator().manual_seed(seed)
        # Magnitudes spread over many decades, so the order of a sum shows.
        x = torch.rand(rows, cols, generator=generator, dtype=torch.float64)
        x = x * 10.0 ** torch.randint(-8, 8, (rows, cols), generator=generator)
        return with_layout(x, draw(st.sampled_from(LAYOUTS))), bug

    def bad_inputs(valid: tuple) -> list[BadInput]:
        x, _ = valid
        return [
            BadInput(
                "float32",
                (x.float(), bug),
                r"planted::normalize_rows: argument 'x' must be "
                "float64",
            ),
        ]

    return OpSpec(
        name="normalize_rows",
        namespace="planted",
        reference=lambda x, bug: x / x.sum(),
        sample_args=args,
        bad_inputs=bad_inputs,
        exact=False,
        rtol=1e-12,
        atol=0.0,
        setup_code=(
            "import torch_mt.cpp_extension; torch_mt.cpp_extension.load("
            f"'torch_mt_planted_bugs', [{str(SOURCE)!r}], build_directory={str(BUILD)!r})"
        ),
    )


def test_the_correct_operator_passes_check_operator():
    check_operator(spec_with(0))


def test_a_sum_across_chunks_fails_the_thread_count_check():
    spec = spec_with(1)
    check_matches_reference(spec)  # within tolerance: only bitwise invariance sees it
    with pytest.raises(AssertionError):
        check_same_result_for_any_thread_count(spec)


def test_a_meta_kernel_of_the_wrong_shape_fails_opcheck():
    # Only opcheck sees it: aot_eager runs the real kernel, whose output is right.
    with pytest.raises(Exception, match="(?i)shape|size|mismatch"):
        check_opcheck(spec_with(2))


def test_a_missing_argument_check_fails_the_bad_input_check():
    with pytest.raises(AssertionError, match="Regex pattern did not match"):
        check_bad_inputs(spec_with(3))
