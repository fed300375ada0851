"""torch_mt's BLEU, chrF and TER equal sacrebleu 2.6's (score, statistics,
every field) on hypothesis text built to hit every tokenizer rule, at any
thread count; the Unicode facts of the C++ tokenizers equal Python's and
regex's for every code point; bad input gets its clear error.

The operators' own checks (thread counts, opcheck, compile, TorchScript with
str[] inputs) are the generic suite's, from torch_mt/text_metrics/spec.py.
"""

from __future__ import annotations

import logging
import math
import pathlib
import subprocess
import sys

import pytest
import regex
import sacrebleu
import sacrebleu.metrics.bleu as bleu_module
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.tokenizers.tokenizer_intl import TokenizerV14International

import torch_mt
from torch_mt.text_metrics.spec import PIECES, _bleu_scores_args

logging.getLogger("sacrebleu").setLevel(logging.ERROR)  # its sentence-BLEU advice

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEXTS = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
THREADS = st.sampled_from([1, 2, 3])


@st.composite
def corpora(draw, min_size: int = 1) -> tuple[list[str], list[list[str]]]:
    """Hypotheses and 1-3 reference streams; empty strings included."""
    count = draw(st.integers(min_size, 6))
    streams = draw(st.integers(1, 3))
    hyps = draw(st.lists(TEXTS, min_size=count, max_size=count))
    return hyps, [draw(st.lists(TEXTS, min_size=count, max_size=count)) for _ in range(streams)]


def per_sentence(refs: list[list[str]], i: int) -> list[str]:
    return [stream[i] for stream in refs]


SMOOTHING = st.sampled_from(
    [("exp", None), ("none", None), ("floor", None), ("floor", 0.05), ("add-k", None), ("add-k", 3)]
)


TOKENIZERS = st.sampled_from(["13a", "none", "char", "intl"])


@given(corpus=corpora(), smoothing=SMOOTHING, tokenize=TOKENIZERS, lowercase=st.booleans(),
       effective=st.booleans(), threads=THREADS)  # fmt: skip
def test_corpus_bleu_equals_sacrebleu_in_every_field(
    corpus, smoothing, tokenize, lowercase, effective, threads
):
    hyps, refs = corpus
    method, value = smoothing
    options = dict(smooth_method=method, smooth_value=value, tokenize=tokenize, lowercase=lowercase)
    theirs = sacrebleu.corpus_bleu(hyps, refs, use_effective_order=effective, **options)
    with torch_mt.num_threads(threads):
        ours = torch_mt.corpus_bleu(hyps, refs, use_effective_order=effective, **options)
    for field in ("score", "counts", "totals", "precisions", "bp", "sys_len", "ref_len"):
        assert getattr(ours, field) == getattr(theirs, field), field
    # Ints, or floats where sacrebleu added a float k.
    assert [type(c) for c in ours.counts + ours.totals] == [
        type(c) for c in theirs.counts + theirs.totals
    ]


@given(corpus=corpora(min_size=0), smoothing=SMOOTHING, tokenize=st.sampled_from(["13a", "intl"]),
       effective=st.booleans(), threads=THREADS)  # fmt: skip
def test_sentence_bleu_equals_sacrebleu_item_by_item(
    corpus, smoothing, tokenize, effective, threads
):
    hyps, refs = corpus
    method, value = smoothing
    options = dict(smooth_method=method, smooth_value=value, tokenize=tokenize)
    with torch_mt.num_threads(threads):
        ours = torch_mt.sentence_bleu(hyps, refs, use_effective_order=effective, **options)
    theirs = [
        sacrebleu.sentence_bleu(h, per_sentence(refs, i), use_effective_order=effective, **options)
        for i, h in enumerate(hyps)
    ]
    assert ours.dtype == torch.float64 and ours.tolist() == [s.score for s in theirs]


CHRF_OPTIONS = st.fixed_dictionaries(
    {
        "char_order": st.integers(0, 7),
        "word_order": st.integers(0, 3),
        "beta": st.integers(0, 3),
        "lowercase": st.booleans(),
        "whitespace": st.booleans(),
        "eps_smoothing": st.booleans(),
    }
).filter(lambda o: o["char_order"] + o["word_order"] > 0)


@given(corpus=corpora(), options=CHRF_OPTIONS, threads=THREADS)
def test_corpus_and_sentence_chrf_equal_sacrebleu(corpus, options, threads):
    hyps, refs = corpus
    metric = CHRF(**options)
    with torch_mt.num_threads(threads):
        corpus_score = torch_mt.corpus_chrf(hyps, refs, **options)
        sentence_scores = torch_mt.sentence_chrf(hyps, refs, **options)
    assert corpus_score.score == metric.corpus_score(hyps, refs).score
    expected = [metric.sentence_score(h, per_sentence(refs, i)).score for i, h in enumerate(hyps)]
    assert sentence_scores.tolist() == expected


TER_OPTIONS = st.fixed_dictionaries(
    {k: st.booleans() for k in ("normalized", "no_punct", "asian_support", "case_sensitive")}
)


@given(corpus=corpora(), options=TER_OPTIONS, threads=THREADS)
def test_corpus_and_sentence_ter_equal_sacrebleu(corpus, options, threads):
    hyps, refs = corpus
    metric = TER(**options)
    with torch_mt.num_threads(threads):
        ours = torch_mt.corpus_ter(hyps, refs, **options)
        sentence_scores = torch_mt.sentence_ter(hyps, refs, **options)
    theirs = metric.corpus_score(hyps, refs)
    assert (ours.score, ours.num_edits, ours.ref_length) == (
        theirs.score,
        theirs.num_edits,
        theirs.ref_length,
    )
    expected = [metric.sentence_score(h, per_sentence(refs, i)).score for i, h in enumerate(hyps)]
    assert sentence_scores.tolist() == expected


WORDS = "the a cat dog sat on mat in house big small red".split()


SENTENCES = st.lists(st.sampled_from(WORDS), min_size=1, max_size=40)


@given(words=st.lists(SENTENCES, min_size=2, max_size=4), threads=THREADS)
def test_ter_shift_search_equals_sacrebleu_on_long_reorderings(words, threads):
    # Long sentences over a few words: many shift candidates, the beam and
    # the 1000-candidate budget all come into play.
    hyp = " ".join(words[0])
    refs = [[" ".join(w)] for w in words[1:]]
    with torch_mt.num_threads(threads):
        ours = torch_mt.corpus_ter([hyp], refs)
    theirs = sacrebleu.corpus_ter([hyp], refs)
    assert (ours.score, ours.num_edits) == (theirs.score, theirs.num_edits)


def test_lowercase_equals_str_lower_for_every_code_point():
    # hypothesis chr(c), reference chr(c).lower(): all n-grams match exactly
    # when the C++ str.lower (through the char tokenizer) is Python's.
    codes = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    hyps = [chr(c) for c in codes]
    refs = [[h.lower() for h in hyps]]
    stats = torch_mt.bleu_statistics(hyps, refs, tokenize="char", lowercase=True)
    unmatched = (stats[:, 2] != stats[:, 6]).nonzero().flatten().tolist()
    assert [hex(codes[i]) for i in unmatched] == []


@pytest.mark.parametrize(
    "text", ["ΑΣ", "ΑΣΑ", "Σ", "ΑΣ.", "Α'Σ", "Α'Σ'Α", "ΑΣ\u0345", "ΣΑΣ ΣΑΣ", "aΣ", "İΣ", "ǅΣb"]
)
def test_final_sigma_follows_python(text):
    # The final form depends on the neighbours: compared through chrF
    # unigrams of the lowercased text against Python's own lower().
    ours = torch_mt.chrf_statistics([text], [[text.lower()]], char_order=1, lowercase=True)
    assert ours[0, 0] == ours[0, 2] == len("".join(text.lower().split()))


def test_whitespace_and_unicode_classes_equal_python_and_regex_for_every_code_point():
    codes = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    # str.split: "a" c "b" is two tokens exactly when c is whitespace.
    hyps = ["a" + chr(c) + "b" for c in codes]
    none = torch_mt.bleu_statistics(hyps, [hyps], tokenize="none")[:, 0]
    assert none.tolist() == [len(h.split()) for h in hyps]
    # intl: \p{P}, \p{S}, \p{N} decide how "a" c "a" and "1" c "1" split.
    intl = TokenizerV14International()
    for left in ("a", "1"):
        hyps = [left + chr(c) + left for c in codes]
        ours = torch_mt.bleu_statistics(hyps, [hyps], tokenize="intl")[:, 0].tolist()
        mismatched = [hex(c) for c, h, n in zip(codes, hyps, ours) if len(intl(h).split()) != n]
        assert mismatched == []


def test_the_unicode_tables_are_the_generators_output():
    generated = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "text_metrics_tables.py")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    header = ROOT / "ops" / "text_metrics" / "unicode_tables.h"
    assert generated == header.read_text(), (
        f"regenerate: python tests/text_metrics_tables.py > {header} (Python or regex changed "
        f"its Unicode data: regex {regex.__version__})"
    )


# ---- bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "function",
    [torch_mt.corpus_bleu, torch_mt.sentence_bleu, torch_mt.corpus_chrf, torch_mt.sentence_chrf,
     torch_mt.corpus_ter, torch_mt.sentence_ter],
    ids=lambda f: f.__name__,
)  # fmt: skip
def test_bad_corpora_are_refused_with_clear_errors(function):
    with pytest.raises(TypeError, match=r"argument 'hypotheses': item 1 must be a str, got int"):
        function(["a", 3], [["a", "b"]])
    with pytest.raises(TypeError, match=r"argument 'references': stream 0 item 0 must be a str"):
        function(["a"], [[None]])
    with pytest.raises(TypeError, match=r"got a list of str; .* pass \[references\]"):
        function(["a"], ["a"])
    with pytest.raises(
        ValueError, match=r"'references' stream 1 has 1 strings but 'hypotheses' has 2"
    ):
        function(["a", "b"], [["a", "b"], ["a"]])
    with pytest.raises(ValueError, match=r"stream 0 has 3 strings but 'hypotheses' has 2"):
        function(["a", "b"], [["a", "b", "c"]])
    with pytest.raises(ValueError, match=r"no reference stream"):
        function(["a"], [])
    # (Errors name the operator doing the work: bleu_statistics for the BLEUs.)
    with pytest.raises(TypeError, match=r"argument 'hypotheses' must be a list of strings"):
        function("a b", [["a b"]])
    # And the next call works.
    function(["a"], [["a"]])


def test_an_unknown_tokenizer_names_the_supported_ones():
    with pytest.raises(
        ValueError, match=r"'tokenize' must be one of '13a', 'none', 'char', 'intl'"
    ):
        torch_mt.corpus_bleu(["a"], [["a"]], tokenize="zh")
    with pytest.raises(ValueError, match=r"'smooth_method' must be one of"):
        torch_mt.sentence_bleu(["a"], [["a"]], smooth_method="add-one")


def test_pairwise_scores_name_a_bad_item():
    with pytest.raises(TypeError, match=r"pairwise_chrf: argument 'b': item 1 must be a str"):
        torch_mt.pairwise_chrf(["a"], ["b", b"c"])
    with pytest.raises(TypeError, match=r"pairwise_bleu: argument 'a': item 0 must be a str"):
        torch_mt.pairwise_bleu([1], ["b"])


def _python312_sum(terms, start=0):
    """CPython 3.12's built-in sum from the int 0 (3.13's is the same): a
    leading run of ints summed exactly, the first float added plainly, later
    floats with Neumaier's compensation, ints plainly, the compensation added
    at the end. This model equalled CPython 3.12.1's and 3.13.0's sum on
    200 000 random mixes of BLEU's log terms (docs/ops/text_metrics.md)."""
    terms = list(terms)
    k, total = 0, start
    while k < len(terms) and isinstance(terms[k], int):
        total, k = total + terms[k], k + 1
    if k == len(terms):
        return total
    total, k, compensation = total + terms[k], k + 1, 0.0
    for x in terms[k:]:
        if isinstance(x, int):
            total += float(x)
            continue
        t = total + x
        compensation += (total - t) + x if abs(total) >= abs(x) else (x - t) + total
        total = t
    return total + compensation if compensation and math.isfinite(compensation) else total


@given(args=_bleu_scores_args())
# Rows whose score differs in the last bit between the two sums.
@example(args=(torch.tensor([[11, 5, 2, 9, 9, 7, 11, 10, 9, 8]]), "exp", None, False))
@example(args=(torch.tensor([[13, 25, 4, 0, 5, 6, 13, 12, 11, 10]]), "exp", None, True))
def test_the_bleu_formula_sums_its_logs_as_each_python_does(args):
    """corpus_bleu's score follows the running Python's sum (sacrebleu's):
    mt::_bleu_details sums as Python <= 3.11 does, or, asked, as 3.12+ does."""
    statistics, method, value, effective = args
    rows = statistics.tolist()

    def sacrebleu_scores():
        return [
            BLEU.compute_bleu(r[2:6], r[6:10], r[0], r[1], method, value, effective).score
            for r in rows
        ]

    plain = sacrebleu_scores()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bleu_module, "sum", _python312_sum, raising=False)
        compensated = sacrebleu_scores()
    for flag, expected in ((False, plain), (True, compensated)):
        details = torch.ops.mt._bleu_details(statistics, method, value, effective, flag)
        assert details[:, 0].tolist() == expected, flag
