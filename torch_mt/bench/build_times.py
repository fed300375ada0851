"""python -m torch_mt.bench.build_times: what building and loading your own
operator costs (examples/user_op/lcs.cpp with torch_mt.cpp_extension.load).

Each figure comes from a fresh interpreter, as a user's program sees it: a
cold build into an empty build directory, then the cached load (ninja finds
nothing to do) three times, each beside the same process's `import torch_mt`
so that the load is also stated as a ratio of a cost users already pay.
Needs a source checkout (the example is not installed with the package).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile

SOURCE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "examples",
    "user_op",
    "lcs.cpp",
)

#: Run in a fresh interpreter: prints "<import torch_mt s> <load s>".
_TIMED_LOAD = """
import sys, time
start = time.perf_counter()
import torch_mt, torch_mt.cpp_extension
imported = time.perf_counter()
torch_mt.cpp_extension.load("user_op_lcs", [sys.argv[1]], build_directory=sys.argv[2])
print(imported - start, time.perf_counter() - imported)
"""


def timed_load(build_directory: str) -> tuple[float, float]:
    """(seconds to import torch_mt, seconds to load the example) in a new process."""
    result = subprocess.run(
        [sys.executable, "-c", _TIMED_LOAD, SOURCE, build_directory],
        capture_output=True,
        text=True,
        check=True,
    )
    imported, loaded = result.stdout.split()[-2:]
    return float(imported), float(loaded)


def main() -> int:
    if not os.path.exists(SOURCE):
        raise SystemExit(f"needs a source checkout: {SOURCE} is missing")
    with tempfile.TemporaryDirectory() as build_directory:
        cold_import, cold = timed_load(build_directory)
        cached = [timed_load(build_directory) for _ in range(3)]
    imports = statistics.median(imported for imported, _ in cached)
    load = statistics.median(loaded for _, loaded in cached)
    print("| step (fresh process each) | seconds | vs `import torch_mt` |")
    print("| --- | ---: | ---: |")
    print(f"| cold build + load of lcs.cpp | {cold:.2f} | {cold / cold_import:.1f}x |")
    print(f"| cached load (median of 3) | {load:.3f} | {load / imports:.3f}x |")
    print(f"| `import torch_mt` (median of 3) | {imports:.3f} | 1x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
