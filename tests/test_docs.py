"""The examples in README.md and in every docstring run and say what they print."""

import doctest
import pathlib
import re
import subprocess
import sys

import pytest
import torch

import torch_mt
import torch_mt._runtime

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "module", [torch_mt._runtime, *torch_mt.FAMILIES], ids=lambda m: m.__name__
)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    "page", sorted(path.name for path in (ROOT / "docs" / "ops").glob("*.md")), ids=str
)
def test_operator_reference_examples(page):
    """Each family's reference page has examples, and they run as written."""
    result = doctest.testfile(
        str(ROOT / "docs" / "ops" / page),
        module_relative=False,
        globs={"torch": torch, "torch_mt": torch_mt},
        optionflags=doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 0 and result.failed == 0


def test_readme_example_runs(tmp_path):
    readme = (ROOT / "README.md").read_text()
    example = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    script = tmp_path / "readme_example.py"  # a file: TorchScript reads the source
    script.write_text(example)
    subprocess.run([sys.executable, str(script)], check=True, timeout=300)
