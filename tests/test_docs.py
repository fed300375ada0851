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


#: Where a repository path named in the docs starts (a top-level folder or file).
_REPO_PATH_STARTS = ("ops/", "torch_mt/", "tests/", "docs/", "examples/", ".ci/")
_REPO_FILES = ("Makefile", "setup.py", "pyproject.toml", "constraints.txt", "MANIFEST.in")
#: A placeholder or pattern, not one path: ops/<family>/, ops/**/*.cpp, ...
_PATTERN = re.compile(r"[<>*{}$]|\.\.\.|…")


def _named_paths(page: pathlib.Path) -> list[str]:
    """The repository paths a page names in code spans, and its relative links."""
    text = page.read_text()
    named = []
    for token in re.findall(r"`([^`\s]+)`", text):
        token = re.sub(r":\d+(-\d+)?$", "", token.rstrip(".,:;"))  # file.py:12-20
        if (token.startswith(_REPO_PATH_STARTS) or token in _REPO_FILES) and not _PATTERN.search(
            token
        ):
            named.append(str(ROOT / token.split("::")[0]))
    for target in re.findall(r"\]\(([^)\s#]+)", text):
        if "://" not in target:
            named.append(str(page.parent / target))
    return named


@pytest.mark.parametrize(
    "page",
    [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))],
    ids=lambda page: str(page.relative_to(ROOT)),
)
def test_every_repository_path_the_docs_name_exists(page):
    missing = [path for path in _named_paths(page) if not pathlib.Path(path).exists()]
    assert not missing, f"{page.name} names paths that do not exist: {missing}"


def test_the_path_check_sees_a_missing_path(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("See `ops/runtime/simd.h`, `ops/<family>/` and [x](gone.md).")
    assert _named_paths(page) == [str(ROOT / "ops/runtime/simd.h"), str(tmp_path / "gone.md")]
