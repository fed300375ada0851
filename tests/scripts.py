"""Running test code in a fresh interpreter, for what must not share the test process."""

from __future__ import annotations

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
