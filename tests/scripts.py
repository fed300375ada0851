"""Running test code in a fresh interpreter, for what must not share the test process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap


def run_script(
    code: str, env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Runs code as a script file in a fresh interpreter; a hang fails the test, not CI.

    A file, not ``-c``: spawned multiprocessing children re-import ``__main__``.
    TORCH_MT_NUM_THREADS is cleared unless ``env`` sets it.
    """
    full_env = {k: v for k, v in os.environ.items() if k != "TORCH_MT_NUM_THREADS"}
    full_env.update({"PYTHONUNBUFFERED": "1", **(env or {})})
    with tempfile.TemporaryDirectory() as folder:
        script = os.path.join(folder, "script.py")
        with open(script, "w") as file:
            file.write(textwrap.dedent(code))
        return subprocess.run(
            [sys.executable, script], capture_output=True, text=True, timeout=timeout, env=full_env
        )


#: The instruction-set variants a process can be switched to (simd.h):
#: native (AVX-512 where the CPU has it), AVX2, portable.
ISA_SWITCHES = {
    "native": {},
    "avx2": {"TORCH_MT_DISABLE_AVX512": "1"},
    "portable": {"TORCH_MT_DISABLE_SIMD": "1"},
}


def json_per_isa(code: str, timeout: float = 300, variants=tuple(ISA_SWITCHES)) -> dict:
    """What ``code`` prints as JSON in a process of each ISA_SWITCHES
    variant named, by variant name."""
    outputs = {}
    for name in variants:
        switch = ISA_SWITCHES[name]
        base = {
            k: v
            for k, v in os.environ.items()
            if k not in ("TORCH_MT_DISABLE_SIMD", "TORCH_MT_DISABLE_AVX512")
        }
        result = subprocess.run(
            [sys.executable, "-c", code],
            env={**base, **switch},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stderr
        outputs[name] = json.loads(result.stdout)
    return outputs


def json_with_and_without_simd(code: str, timeout: float = 300) -> tuple:
    """What ``code`` prints as JSON, run once with torch_mt's SIMD paths and
    once in a process where TORCH_MT_DISABLE_SIMD switches them off: the
    check that each SIMD kernel's portable twin gives the same bits."""
    outputs = json_per_isa(code, timeout, variants=("native", "portable"))
    return outputs["native"], outputs["portable"]
