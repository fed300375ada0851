"""Specs of the text-metrics operators (ops/text_metrics/). The references
are sacrebleu 2.6 itself (the test extra pins it): its public scores where
they carry the statistics, else its metric objects' segment statistics.

The strategies draw text from pieces that exercise every tokenizer rule:
ASCII and Unicode punctuation and symbols, every whitespace kind str.split
knows, HTML entities and 13a's "<skipped>", digits next to periods, commas
and dashes, case pairs with special lowercase forms (Σ, İ), CJK and kana.
"""

from __future__ import annotations

import random
from typing import Any

import sacrebleu
import torch
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU, CHRF, TER
from torch import Tensor

from ..testing import BadInput, OpSpec
from .rouge_spec import ROUGE_SPECS

#: Pieces of text, joined at random (with separators drawn from the same list).
PIECES = [
    "the", "cat", "Cat", "sat", "a", "on", "mat", "John's", "it's", "3", "1,000", "2.5", "42-7",
    "-", ".", ",", "!", "?", ";", ":", "'", '"', "(", ")", "[", "]", "{", "}", "/", "@", "#",
    "&amp;", "&quot;", "&lt;", "&gt;", "&", "<skipped>", "-\n",
    " ", " ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0",
    "\u1680", "\u2003", "\u2028", "\u202f", "\u3000",
    "¡", "«", "»", "—", "…", "‚", "。", "、", "「", "」", "！", "（",
    "€", "©", "°", "+", "=", "<", ">", "^", "`", "|", "~", "±", "→", "☃",
    "²", "٣", "Ⅷ", "½", "ΣΑΣ", "Σ", "σ", "İstanbul", "ÉCOLE", "Straße", "ǅ", "ﬁ",
    "猫", "日本語", "ひらがな", "カタカナ", "한국어", "𝄞", "é", "naïve",
]  # fmt: skip

_TEXTS = st.lists(st.sampled_from(PIECES), max_size=10).map("".join)
_LARGE_TEXTS = st.lists(st.sampled_from(PIECES), min_size=5, max_size=25).map("".join)
_TOKENIZERS = st.sampled_from(["13a", "none", "char", "intl"])


@st.composite
def _corpus(draw: st.DrawFn, large: bool) -> tuple[list[str], list[list[str]]]:
    """Hypotheses and 1-3 reference streams (empty strings included in the
    small ones). A large corpus (150-250 segments of 5-25 pieces, the
    thread-count and fresh-process checks) is built by a random.Random from a
    seed that hypothesis draws: drawn piece by piece (or through
    st.randoms(), which draws each call), its ~25 000 choices overran
    hypothesis's buffer, hundreds of attempts an example, about a minute."""
    if large:
        rng = random.Random(draw(st.integers(0, 2**32 - 1)))
        count, streams = rng.randint(150, 250), rng.randint(1, 3)

        def text() -> str:
            return "".join(rng.choice(PIECES) for _ in range(rng.randint(5, 25)))

        hypotheses = [text() for _ in range(count)]
        return hypotheses, [[text() for _ in range(count)] for _ in range(streams)]
    count = draw(st.integers(0, 5))
    streams = draw(st.integers(1, 3))
    hypotheses = draw(st.lists(_TEXTS, min_size=count, max_size=count))
    references = [draw(st.lists(_TEXTS, min_size=count, max_size=count)) for _ in range(streams)]
    return hypotheses, references


@st.composite
def _pair_lists(draw: st.DrawFn, large: bool) -> tuple[list[str], list[str]]:
    sizes = st.integers(12, 20) if large else st.integers(0, 4)
    texts = _LARGE_TEXTS if large else _TEXTS
    a = draw(st.lists(texts, min_size=draw(sizes), max_size=20))
    return a, draw(st.lists(texts, min_size=draw(sizes), max_size=20))


def _sentences(hypotheses: list[str], references: list[list[str]]):
    return [(hyp, [stream[i] for stream in references]) for i, hyp in enumerate(hypotheses)]


# ---- BLEU ----------------------------------------------------------------------


def _bleu_statistics_reference(
    hypotheses: list[str], references: list[list[str]], tokenize: str, lowercase: bool
) -> Tensor:
    metric = BLEU(tokenize=tokenize, lowercase=lowercase, smooth_method="none")
    rows = []
    for hyp, refs in _sentences(hypotheses, references):
        score = metric.corpus_score([hyp], [[ref] for ref in refs])
        rows.append([score.sys_len, score.ref_len, *score.counts, *score.totals])
    return torch.tensor(rows, dtype=torch.int64).reshape(len(hypotheses), 10)


@st.composite
def _bleu_statistics_args(draw: st.DrawFn, large: bool = False) -> tuple:
    hypotheses, references = draw(_corpus(large))
    return hypotheses, references, draw(_TOKENIZERS), draw(st.booleans())


def _corpus_bad_inputs(op: str, options: tuple) -> list[BadInput]:
    """Stream-length errors: a short stream, and no stream at all."""
    return [
        BadInput(
            "a stream one short",
            (["x", "y"], [["x", "y"], ["x"]], *options),
            rf"{op}: argument 'references' stream 1 has 1 strings but 'hypotheses' has 2",
        ),
        BadInput(
            "no stream",
            (["x"], [], *options),
            rf"{op}: argument 'references' has no reference stream",
        ),
    ]


def _bleu_statistics_bad_inputs(args: tuple) -> list[BadInput]:
    hypotheses, references, _, lowercase = args
    return [
        *_corpus_bad_inputs("mt::bleu_statistics", ("13a", lowercase)),
        BadInput(
            "a tokenizer sacrebleu has but torch_mt does not",
            (hypotheses, references, "ja-mecab", lowercase),
            r"mt::bleu_statistics: argument 'tokenize' must be one of '13a', 'none', 'char', "
            r"'intl', got 'ja-mecab'",
        ),
    ]


_SMOOTHING = st.sampled_from(
    [
        ("exp", None),
        ("none", None),
        ("floor", None),
        ("floor", 0.3),
        ("add-k", None),
        ("add-k", 2.0),
    ]
)


def _bleu_scores_reference(
    statistics: Tensor, smooth_method: str, smooth_value: Any, use_effective_order: bool
) -> Tensor:
    scores = [
        BLEU.compute_bleu(
            row[2:6], row[6:10], row[0], row[1], smooth_method, smooth_value, use_effective_order
        ).score
        for row in statistics.tolist()
    ]
    return torch.tensor(scores, dtype=torch.float64)


@st.composite
def _bleu_scores_args(draw: st.DrawFn, large: bool = False) -> tuple:
    count = draw(st.integers(300, 600) if large else st.integers(0, 6))
    rows = []
    for _ in range(count):
        hyp_len, ref_len = draw(st.integers(0, 30)), draw(st.integers(0, 30))
        totals = [max(0, hyp_len - n) for n in range(4)]
        rows.append([hyp_len, ref_len, *[draw(st.integers(0, t)) for t in totals], *totals])
    statistics = torch.tensor(rows, dtype=torch.int64).reshape(count, 10)
    method, value = draw(_SMOOTHING)
    return statistics, method, value, draw(st.booleans())


def _bleu_scores_bad_inputs(args: tuple) -> list[BadInput]:
    statistics = args[0]
    op = "mt::bleu_scores"
    return [
        BadInput(
            "float statistics",
            (statistics.double(), "exp", None, True),
            rf"{op}: argument 'statistics' must be int64",
            TypeError,
        ),
        BadInput(
            "rows of 9",
            (statistics[:, :9], "exp", None, True),
            rf"{op}: argument 'statistics' has size 9 in dimension 1",
        ),
        BadInput(
            "an unknown smoothing method",
            (statistics, "add-one", None, True),
            rf"{op}: argument 'smooth_method' must be one of 'exp', 'floor', 'add-k', 'none', "
            r"got 'add-one'",
        ),
        BadInput(
            "a NaN smoothing value",
            (statistics, "floor", float("nan"), True),
            rf"{op}: argument 'smooth_value' must be finite, got nan",
        ),
    ]


def _pairwise_bleu_reference(
    a: list[str], b: list[str], tokenize, smooth_method, smooth_value, lowercase, effective_order
) -> Tensor:
    metric = BLEU(
        tokenize=tokenize,
        smooth_method=smooth_method,
        smooth_value=smooth_value,
        lowercase=lowercase,
        effective_order=effective_order,
    )
    grid = [[metric.sentence_score(x, [y]).score for y in b] for x in a]
    return torch.tensor(grid, dtype=torch.float64).reshape(len(a), len(b))


@st.composite
def _pairwise_bleu_args(draw: st.DrawFn, large: bool = False) -> tuple:
    a, b = draw(_pair_lists(large))
    method, value = draw(_SMOOTHING)
    return a, b, draw(_TOKENIZERS), method, value, draw(st.booleans()), draw(st.booleans())


def _pairwise_bleu_bad_inputs(args: tuple) -> list[BadInput]:
    a, b = args[:2]
    op = "mt::pairwise_bleu"
    return [
        BadInput(
            "an unknown tokenizer",
            (a, b, "13b", "exp", None, False, True),
            rf"{op}: argument 'tokenize' must be one of '13a', 'none', 'char', 'intl', got '13b'",
        ),
        BadInput(
            "an unknown smoothing method",
            (a, b, "13a", "floored", None, False, True),
            rf"{op}: argument 'smooth_method' must be one of",
        ),
    ]


# ---- chrF ----------------------------------------------------------------------

_CHRF_ORDERS = st.sampled_from([(6, 0), (6, 2), (2, 1), (1, 0), (0, 2), (4, 3)])


def _chrf_metric(char_order, word_order, beta, lowercase=False, whitespace=False, eps=False):
    return CHRF(
        char_order=char_order,
        word_order=word_order,
        beta=beta,
        lowercase=lowercase,
        whitespace=whitespace,
        eps_smoothing=eps,
    )


def _chrf_statistics_reference(hypotheses, references, char_order, word_order, beta, *flags):
    metric = _chrf_metric(char_order, word_order, beta, *flags)
    # sacrebleu keeps each sentence's statistics (of its best reference) here.
    rows = metric._extract_corpus_statistics(hypotheses, references) if hypotheses else []
    columns = 3 * (char_order + word_order)
    return torch.tensor(rows, dtype=torch.int64).reshape(len(hypotheses), columns)


@st.composite
def _chrf_statistics_args(draw: st.DrawFn, large: bool = False) -> tuple:
    hypotheses, references = draw(_corpus(large))
    char_order, word_order = draw(_CHRF_ORDERS)
    flags = [draw(st.booleans()) for _ in range(3)]
    return hypotheses, references, char_order, word_order, draw(st.integers(0, 3)), *flags


def _chrf_option_bad_inputs(op: str, make_args) -> list[BadInput]:
    return [
        BadInput(
            "a negative character order",
            make_args(-1, 0, 2),
            rf"{op}: argument 'char_order' must be >= 0, got -1",
        ),
        BadInput(
            "both orders 0",
            make_args(0, 0, 2),
            rf"{op}: arguments 'char_order' and 'word_order' are both 0",
        ),
        BadInput("a negative beta", make_args(6, 0, -2), rf"{op}: argument 'beta' must be in"),
    ]


def _chrf_statistics_bad_inputs(args: tuple) -> list[BadInput]:
    hypotheses, references, *_, lowercase, whitespace, eps = args
    op = "mt::chrf_statistics"
    flags = (lowercase, whitespace, eps)
    return [
        *_corpus_bad_inputs(op, (6, 0, 2, *flags)),
        *_chrf_option_bad_inputs(op, lambda c, w, b: (hypotheses, references, c, w, b, *flags)),
    ]


def _chrf_scores_reference(statistics, char_order, word_order, beta, eps_smoothing) -> Tensor:
    metric = _chrf_metric(char_order, word_order, beta, eps=eps_smoothing)
    scores = [metric._compute_f_score(row) for row in statistics.tolist()]
    return torch.tensor(scores, dtype=torch.float64)


@st.composite
def _chrf_scores_args(draw: st.DrawFn, large: bool = False) -> tuple:
    char_order, word_order = draw(_CHRF_ORDERS)
    count = draw(st.integers(300, 600) if large else st.integers(0, 6))
    rows = []
    for _ in range(count):
        row = []
        for _ in range(char_order + word_order):
            hyp, ref = draw(st.integers(0, 40)), draw(st.integers(0, 40))
            row += [hyp, ref, draw(st.integers(0, min(hyp, ref)))]
        rows.append(row)
    statistics = torch.tensor(rows, dtype=torch.int64).reshape(count, 3 * (char_order + word_order))
    return statistics, char_order, word_order, draw(st.integers(0, 3)), draw(st.booleans())


def _chrf_scores_bad_inputs(args: tuple) -> list[BadInput]:
    statistics, char_order, word_order, beta, eps = args
    op = "mt::chrf_scores"
    return [
        BadInput(
            "statistics of other orders",
            (statistics, char_order + 1, word_order, beta, eps),
            rf"{op}: argument 'statistics' has size {statistics.shape[1]} in dimension 1",
        ),
        BadInput(
            "float statistics",
            (statistics.float(), char_order, word_order, beta, eps),
            rf"{op}: argument 'statistics' must be int64",
            TypeError,
        ),
        *_chrf_option_bad_inputs(op, lambda c, w, b: (statistics, c, w, b, eps)),
    ]


def _pairwise_chrf_reference(a, b, char_order, word_order, beta, *flags) -> Tensor:
    metric = _chrf_metric(char_order, word_order, beta, *flags)
    grid = [[metric.sentence_score(x, [y]).score for y in b] for x in a]
    return torch.tensor(grid, dtype=torch.float64).reshape(len(a), len(b))


@st.composite
def _pairwise_chrf_args(draw: st.DrawFn, large: bool = False) -> tuple:
    a, b = draw(_pair_lists(large))
    char_order, word_order = draw(_CHRF_ORDERS)
    flags = [draw(st.booleans()) for _ in range(3)]
    return a, b, char_order, word_order, draw(st.integers(0, 3)), *flags


def _pairwise_chrf_bad_inputs(args: tuple) -> list[BadInput]:
    a, b, *_, lowercase, whitespace, eps = args
    return _chrf_option_bad_inputs(
        "mt::pairwise_chrf", lambda c, w, beta: (a, b, c, w, beta, lowercase, whitespace, eps)
    )


# ---- TER -----------------------------------------------------------------------


def _ter_statistics_reference(hypotheses, references, *flags) -> tuple[Tensor, Tensor]:
    metric = TER(*flags)
    scores = [metric.sentence_score(hyp, refs) for hyp, refs in _sentences(hypotheses, references)]
    edits = torch.tensor([s.num_edits for s in scores], dtype=torch.int64)
    return edits, torch.tensor([s.ref_length for s in scores], dtype=torch.float64)


@st.composite
def _ter_statistics_args(draw: st.DrawFn, large: bool = False) -> tuple:
    hypotheses, references = draw(_corpus(large))
    return hypotheses, references, *[draw(st.booleans()) for _ in range(4)]


def _ter_statistics_bad_inputs(args: tuple) -> list[BadInput]:
    return _corpus_bad_inputs("mt::ter_statistics", tuple(args[2:]))


SPECS = [
    OpSpec(
        name="bleu_statistics",
        reference=_bleu_statistics_reference,
        sample_args=_bleu_statistics_args,
        bad_inputs=_bleu_statistics_bad_inputs,
    ),
    OpSpec(
        name="bleu_scores",
        reference=_bleu_scores_reference,
        sample_args=_bleu_scores_args,
        bad_inputs=_bleu_scores_bad_inputs,
    ),
    OpSpec(
        name="pairwise_bleu",
        reference=_pairwise_bleu_reference,
        sample_args=_pairwise_bleu_args,
        bad_inputs=_pairwise_bleu_bad_inputs,
    ),
    OpSpec(
        name="chrf_statistics",
        reference=_chrf_statistics_reference,
        sample_args=_chrf_statistics_args,
        bad_inputs=_chrf_statistics_bad_inputs,
    ),
    OpSpec(
        name="chrf_scores",
        reference=_chrf_scores_reference,
        sample_args=_chrf_scores_args,
        bad_inputs=_chrf_scores_bad_inputs,
    ),
    OpSpec(
        name="pairwise_chrf",
        reference=_pairwise_chrf_reference,
        sample_args=_pairwise_chrf_args,
        bad_inputs=_pairwise_chrf_bad_inputs,
    ),
    OpSpec(
        name="ter_statistics",
        reference=_ter_statistics_reference,
        sample_args=_ter_statistics_args,
        bad_inputs=_ter_statistics_bad_inputs,
    ),
    *ROUGE_SPECS,
]

assert sacrebleu.__version__ == "2.6.0", "the references are sacrebleu 2.6's"
