"""Markdown output of the benchmark."""

from __future__ import annotations


def markdown(header: list[str], rows: list[list[str]], text_columns: int = 2) -> str:
    """A Markdown table; the first `text_columns` columns left-aligned, the rest right."""
    rule = ["---"] * text_columns + ["---:"] * (len(header) - text_columns)
    return "\n".join("| " + " | ".join(cells) + " |" for cells in [header, rule, *rows])
