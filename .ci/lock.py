"""Writes constraints.txt: the exact version of every package that `make install`
(and so `make test`, `make bench` and CI) puts beside torch_mt.

Run by `make lock`. pip resolves what the `test` and `bench` extras need today,
from scratch (--dry-run --ignore-installed: nothing is installed or changed), and
the resolution is written as `name==version` lines that the Makefile passes to
every pip call with `-c`. The package metadata in pyproject.toml keeps ranges:
users are not pinned, only the project's own installs are.

Why a lock: the suite compares against third-party packages bit for bit (regex's
Unicode data, sacrebleu, pycocotools, SciPy), so an unpinned release can turn
main red overnight with no change here. `make test-latest` installs the newest
versions instead, to find such a change on purpose.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "constraints.txt"

# What `make install` asks for; the Makefile's TORCH_PIN is the torch line.
REQUIREMENTS = ["torch==2.13.0", "setuptools>=64", "wheel", "ninja", ".[test,bench]"]
# Installed with --no-deps by the Makefile (pyctcdecode caps numpy < 2 in its
# metadata but runs on numpy 2), so they are resolved alone.
NO_DEPS = ["pyctcdecode", "pygtrie"]


def resolve(requirements: list[str], *extra_args: str) -> dict[str, str]:
    """name -> version of everything pip would install for `requirements`."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run"]
            + ["--ignore-installed", "--no-build-isolation", "--report", str(report)]
            + list(extra_args)
            + requirements,
            cwd=ROOT,
            check=True,
        )
        items = json.loads(report.read_text())["install"]
    return {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in items}


def main() -> None:
    pins = resolve(REQUIREMENTS)
    pins.update(resolve(NO_DEPS, "--no-deps"))
    pins.pop("torch_mt", None)  # the project itself
    # The local label (+cpu) names where this machine's wheel came from; the pin
    # is the Makefile's, which the installed +cpu wheel satisfies.
    pins["torch"] = pins["torch"].split("+")[0]
    lines = [f"{name}=={version}" for name, version in sorted(pins.items())]
    header = [
        "# Written by `make lock` (.ci/lock.py): every package `make install` installs,",
        "# pinned. Edit pyproject.toml, then run `make lock`; do not edit by hand.",
    ]
    LOCK.write_text("\n".join(header + lines) + "\n")
    print(f"{LOCK.name}: {len(lines)} packages pinned")


if __name__ == "__main__":
    main()
