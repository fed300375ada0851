"""The OpSpec of planted::normalize_rows (planted_bugs.cpp) with a chosen bug,
shared by tests/test_planted_bugs.py and its ThreadSanitizer subprocess."""

from __future__ import annotations

import pathlib

import torch
from hypothesis import strategies as st

import torch_mt.cpp_extension
from torch_mt.testing import LAYOUTS, BadInput, OpSpec, with_layout

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
SOURCE = ROOT / "tests" / "planted" / "planted_bugs.cpp"

#: Compiler and linker flags of the ThreadSanitizer build, as `make sanitize`.
TSAN_FLAGS = ["-fsanitize=thread", "-fno-omit-frame-pointer"]


def build(tsan: bool = False) -> None:
    """Compiles planted_bugs.cpp (cached) and loads it; with ThreadSanitizer
    when ``tsan`` (load that one only in a process running under TSan)."""
    name = "torch_mt_planted_bugs" + ("_tsan" if tsan else "")
    torch_mt.cpp_extension.load(
        name,
        [str(SOURCE)],
        build_directory=str(ROOT / "build" / name),
        extra_cflags=TSAN_FLAGS if tsan else None,
        extra_ldflags=TSAN_FLAGS if tsan else None,
    )


def spec_with(bug: int) -> OpSpec:
    """The spec of normalize_rows called with ``bug`` (0: correct)."""

    @st.composite
    def args(draw, large: bool = False):
        # large: enough rows (grain 1) that the pool's workers surely take
        # chunks while the caller is still busy, so a race really happens.
        rows = draw(st.integers(600, 1500) if large else st.integers(1, 6))
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
                r"planted::normalize_rows: argument 'x' must be float64",
                error=TypeError,
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
            f"import sys; sys.path.insert(0, {str(SOURCE.parent)!r}); "
            "import planted_spec; planted_spec.build()"
        ),
    )
