"""Specs of the ROUGE operators: the reference is rouge-score 0.1.2 itself
(the test extra pins it), ``RougeScorer.score_multi`` per prediction.

The strategies draw text from pieces that exercise every tokenizer and
stemmer rule: capitals, digits glued to letters, punctuation, every kind of
whitespace, newlines (rougeLsum's sentences) with empty and token-less
lines, the two non-ASCII characters that lowercase to ASCII letters (U+0130,
U+212A) among other scripts, and words each Porter step rewrites.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Optional

import torch
from hypothesis import strategies as st
from rouge_score import rouge_scorer
from torch import Tensor

from ..testing import BadInput, OpSpec

#: Pieces of text, joined at random.
PIECES = [
    "the", "The", "THE", "cat", "cats", "Cat's", "sat", "on", "a", "mat", "running", "runs",
    "ran", "happiness", "happy", "generalization", "generalizations", "relational", "agreed",
    "hopping", "controlling", "skies", "dying", "news", "news.", "yyyy", "ies", "fly",
    "3", "1,000", "2.5", "42-7", "covid19", "B2B", "x86", "-", ".", ",", "!", "?", "'", '"',
    "(", ")", "/", "&amp;", " ", " ", "  ", "\t", "\n", "\n\n", "\r\n", " \n ", "\x0b", "\x85",
    "\xa0", "\u2028", "\u3000", "İstanbul", "\u212a", "KELVIN\u212a", "ÉCOLE", "Straße", "naïve",
    "ΣΑΣ", "ﬁ", "²", "٣", "Ⅷ", "猫", "日本語", "한국어", "𝄞", "é", "…", "—",
]  # fmt: skip

_TEXTS = st.lists(st.sampled_from(PIECES), max_size=12).map(" ".join)
# Up to 120 pieces: some texts pass 64 tokens (the LCS's multi-word path).
_LARGE_TEXTS = st.lists(st.sampled_from(PIECES), min_size=5, max_size=120).map(" ".join)
_TYPES = st.lists(
    st.sampled_from(["rouge1", "rouge2", "rouge3", "rouge4", "rouge9", "rougeL", "rougeLsum"]),
    min_size=1,
    max_size=4,
)


def _rouge_scores_reference(
    predictions: list[str],
    references: list[str],
    reference_counts: Optional[list[int]],
    rouge_types: list[str],
    use_stemmer: bool,
) -> Tensor:
    scorer = rouge_scorer.RougeScorer(list(rouge_types), use_stemmer=use_stemmer)
    counts = [1] * len(predictions) if reference_counts is None else reference_counts
    out = torch.zeros((len(rouge_types), len(predictions), 3), dtype=torch.float64)
    start = 0
    for i, prediction in enumerate(predictions):
        result = scorer.score_multi(references[start : start + counts[i]], prediction)
        start += counts[i]
        for t, name in enumerate(rouge_types):
            out[t, i] = torch.tensor(list(result[name]), dtype=torch.float64)
    return out


@st.composite
def _rouge_scores_args(draw: st.DrawFn, large: bool = False) -> tuple:
    count = draw(st.integers(100, 160) if large else st.integers(0, 5))
    texts = _LARGE_TEXTS if large else _TEXTS
    predictions = draw(st.lists(texts, min_size=count, max_size=count))
    several = draw(st.booleans())
    counts = draw(st.lists(st.integers(1, 3), min_size=count, max_size=count)) if several else None
    total = sum(counts) if several else count
    references = draw(st.lists(texts, min_size=total, max_size=total))
    return predictions, references, counts, draw(_TYPES), draw(st.booleans())


def _rouge_scores_bad_inputs(args: tuple) -> list[BadInput]:
    predictions, references, counts, types, stem = args
    op = "mt::rouge_scores"
    return [
        BadInput(
            "a type rouge-score refuses",
            (predictions, references, counts, [*types, "rouge0"], stem),
            rf"{op}: argument 'rouge_types' has 'rouge0', which is not one of 'rouge1' to "
            r"'rouge9', 'rougeL' or 'rougeLsum'",
        ),
        BadInput(
            "a ten-gram (rouge-score's pattern stops at 9)",
            (predictions, references, counts, ["rouge10"], stem),
            rf"{op}: argument 'rouge_types' has 'rouge10'",
        ),
        BadInput(
            "no type",
            (predictions, references, counts, [], stem),
            rf"{op}: argument 'rouge_types' is empty",
        ),
        BadInput(
            "a prediction without a reference",
            (["x", "y"], ["x", "y"], [2, 0], types, stem),
            rf"{op}: argument 'reference_counts' item 1 is 0 \(give at least one reference",
        ),
        BadInput(
            "counts for other predictions",
            (["x", "y"], ["x", "y"], [2], types, stem),
            rf"{op}: argument 'reference_counts' has 1 items but 'predictions' has 2",
        ),
        BadInput(
            "one reference short",
            (["x", "y"], ["x"], None, types, stem),
            rf"{op}: argument 'references' has 1 strings but 'predictions' has 2",
        ),
        BadInput(
            "counts summing past the references",
            (["x", "y"], ["x", "y"], [1, 2], types, stem),
            rf"{op}: argument 'references' has 2 strings but 'reference_counts' sums to 3",
        ),
    ]


def _pairwise_rouge_reference(a: list[str], b: list[str], rouge_type: str, use_stemmer: bool):
    scorer = rouge_scorer.RougeScorer([rouge_type], use_stemmer=use_stemmer)
    rows = [[scorer.score(target, text)[rouge_type].fmeasure for target in b] for text in a]
    return torch.tensor(rows, dtype=torch.float64).reshape(len(a), len(b))


@st.composite
def _pairwise_rouge_args(draw: st.DrawFn, large: bool = False) -> tuple:
    sizes = st.integers(12, 20) if large else st.integers(0, 4)
    texts = _LARGE_TEXTS if large else _TEXTS
    a = draw(st.lists(texts, min_size=draw(sizes), max_size=20))
    b = draw(st.lists(texts, min_size=draw(sizes), max_size=20))
    rouge_type = draw(st.sampled_from(["rouge1", "rouge2", "rouge4", "rougeL", "rougeLsum"]))
    return a, b, rouge_type, draw(st.booleans())


def _pairwise_rouge_bad_inputs(args: tuple) -> list[BadInput]:
    a, b, _, stem = args
    return [
        BadInput(
            "an unknown type",
            (a, b, "rougeW", stem),
            r"mt::pairwise_rouge: argument 'rouge_type' is 'rougeW', which is not one of",
        ),
    ]


ROUGE_SPECS = [
    OpSpec(
        name="rouge_scores",
        reference=_rouge_scores_reference,
        sample_args=_rouge_scores_args,
        bad_inputs=_rouge_scores_bad_inputs,
    ),
    OpSpec(
        name="pairwise_rouge",
        reference=_pairwise_rouge_reference,
        sample_args=_pairwise_rouge_args,
        bad_inputs=_pairwise_rouge_bad_inputs,
    ),
]

assert version("rouge-score") == "0.1.2", "the reference is rouge-score 0.1.2"
