"""ROUGE beyond the generic operator suite (which holds mt::rouge_scores and
mt::pairwise_rouge against rouge-score on hostile text, torch_mt/text_metrics/
rouge_spec.py): the tokenizer's Unicode claim over every code point, the
stemmer word for word against NLTK, the dict wrapper and the RougeScorer
drop-in against rouge-score, and the wrappers' errors."""

from __future__ import annotations

import random
import re
import sys

import numpy
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from nltk.stem import porter
from rouge_score import rouge_scorer, scoring, tokenize

import torch_mt
from torch_mt.bench.workload import ENGLISH_WORDS
from torch_mt.text_metrics import BootstrapAggregator, ROUGEScore, RougeScorer
from torch_mt.text_metrics.rouge_spec import PIECES

#: Suffixes every Porter step looks for, and a few endings that test its conditions.
SUFFIXES = [
    "", "s", "es", "ies", "sses", "ss", "ed", "eed", "ied", "ing", "y", "ly", "ational", "tional",
    "enci", "anci", "izer", "bli", "abli", "alli", "entli", "eli", "ousli", "ization", "ation",
    "ator", "alism", "iveness", "fulness", "ousness", "aliti", "iviti", "biliti", "fulli", "logi",
    "icate", "ative", "alize", "iciti", "ical", "ful", "ness", "al", "ance", "ence", "er", "ic",
    "able", "ible", "ant", "ement", "ment", "ent", "ion", "sion", "tion", "ou", "ism", "ate",
    "iti", "ous", "ive", "ize", "e", "ll", "at", "bl", "iz", "ying",
]  # fmt: skip


def test_only_ascii_letters_digits_and_two_more_lowercase_to_token_characters():
    """The C++ tokenizer's premise (ops/text_metrics/rouge_tokens.h): no other
    code point's str.lower() holds an ASCII letter or digit."""
    keeps = {
        c
        for c in range(sys.maxunicode + 1)
        if any(ch.isascii() and ch.isalnum() for ch in chr(c).lower())
    }
    ascii_alnum = {c for c in range(128) if chr(c).isalnum()}
    assert keeps == ascii_alnum | {0x130, 0x212A}


def test_every_code_point_tokenizes_as_rouge_score_tokenizes_it():
    """Each code point between two letters: the texts' tokens equal
    rouge-score's, so the text scores 1 against its own tokens joined."""
    code_points = [c for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    predictions, references = [], []
    for start in range(0, len(code_points), 512):
        text = " ".join(f"q{chr(c)}z{chr(c)}" for c in code_points[start : start + 512])
        predictions.append(text)
        references.append(" ".join(tokenize.tokenize(text, None)))
    scores = torch_mt.rouge_scores(predictions, references, None, ["rouge2"])
    assert bool((scores[0, :, 2] == 1.0).all())


def _stems(words: list[str]) -> list[str]:
    return torch.ops.mt._porter_stem(words)


def test_the_stemmer_equals_nltk_on_every_rule_of_every_step():
    stemmer = porter.PorterStemmer()
    words = sorted(
        {base + a + b for base in ENGLISH_WORDS for a in SUFFIXES for b in SUFFIXES[:12]}
    )
    irregular = ["sky", "skies", "dying", "lying", "tying", "news", "innings", "inning", "howe"]
    words += irregular + ["proceed", "exceed", "succeed", "y", "yy", "ys", "yyyy", "sy", "by"]
    assert _stems(words) == [stemmer.stem(w) for w in words]


@given(
    st.lists(
        st.tuples(st.text("aeiouybcdlmnrstzgwx0", max_size=8), st.sampled_from(SUFFIXES)).map(
            "".join
        ),
        max_size=50,
    )
)
def test_the_stemmer_equals_nltk_on_random_words(words):
    stemmer = porter.PorterStemmer()
    assert _stems(words) == [stemmer.stem(w) for w in words]


def test_the_stemmer_refuses_what_rouge_never_hands_it():
    with pytest.raises(ValueError, match=r"mt::_porter_stem: argument 'words' item 1 is 'Cat'"):
        _stems(["cat", "Cat"])


_TEXTS = st.lists(st.sampled_from(PIECES), max_size=15).map(" ".join)
_TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]


@given(
    st.lists(st.tuples(_TEXTS, st.one_of(_TEXTS, st.lists(_TEXTS, min_size=1, max_size=3)))),
    st.booleans(),
)
def test_rouge_equals_rouge_score_with_one_or_several_references(pairs, use_stemmer):
    predictions = [prediction for prediction, _ in pairs]
    references = [refs for _, refs in pairs]
    scores = torch_mt.rouge(predictions, references, use_stemmer=use_stemmer)
    assert list(scores) == _TYPES
    scorer = rouge_scorer.RougeScorer(_TYPES, use_stemmer=use_stemmer)
    for i, (prediction, refs) in enumerate(pairs):
        expected = (
            scorer.score(refs, prediction)
            if isinstance(refs, str)
            else scorer.score_multi(refs, prediction)
        )
        for name in _TYPES:
            assert scores[name][i].tolist() == list(expected[name]), (name, prediction, refs)


@given(_TEXTS, st.lists(_TEXTS, min_size=1, max_size=3), st.booleans())
def test_the_rouge_scorer_drop_in_returns_rouge_scores_tuples(prediction, targets, use_stemmer):
    theirs = rouge_scorer.RougeScorer(_TYPES, use_stemmer=use_stemmer)
    ours = RougeScorer(_TYPES, use_stemmer=use_stemmer)
    assert ours.score(targets[0], prediction) == theirs.score(targets[0], prediction)
    assert ours.score_multi(targets, prediction) == theirs.score_multi(targets, prediction)


def test_rouge_errors_name_the_argument():
    with pytest.raises(
        TypeError,
        match=r"torch_mt.rouge_scores: argument 'predictions': item 1 must be a str, got int",
    ):
        torch_mt.rouge(["a", 3], ["a", "b"])
    with pytest.raises(TypeError, match=r"argument 'references\[1\]' item 0 must be a str"):
        torch_mt.rouge(["a", "b"], ["a", [None]])
    with pytest.raises(ValueError, match=r"argument 'references' has 1 items but 'predictions'"):
        torch_mt.rouge(["a", "b"], ["a"])
    with pytest.raises(ValueError, match=r"argument 'references' item 1 is an empty list"):
        torch_mt.rouge(["a", "b"], [["a"], []])
    with pytest.raises(ValueError, match=r"argument 'rouge_types' has 'rougeS'"):
        torch_mt.rouge(["a"], ["a"], rouge_types=["rougeS"])
    with pytest.raises(TypeError, match=r"argument 'rouge_types' must be a list of names"):
        torch_mt.rouge(["a"], ["a"], rouge_types="rouge1")
    with pytest.raises(
        TypeError, match=r"torch_mt.pairwise_rouge: argument 'b': item 0 must be a str, got bytes"
    ):
        torch_mt.pairwise_rouge(["a"], [b"a"])


@given(st.lists(st.tuples(_TEXTS, _TEXTS), min_size=1, max_size=12), st.integers(0, 2**32 - 1))
def test_the_seeded_bootstrap_aggregator_equals_rouge_scores_after_numpy_seed(pairs, seed):
    theirs = scoring.BootstrapAggregator(n_samples=50)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"])
    for prediction, target in pairs:
        theirs.add_scores(scorer.score(target, prediction))
    numpy.random.seed(seed)
    expected = theirs.aggregate()
    ours = BootstrapAggregator(n_samples=50, seed=seed)
    predictions, targets = zip(*pairs)
    ours.add_scores(
        torch_mt.rouge(list(predictions), list(targets), rouge_types=["rouge1", "rougeL"])
    )
    assert ours.aggregate() == expected
    # Unseeded, it draws from NumPy's global state, as rouge-score does.
    unseeded = BootstrapAggregator(n_samples=50)
    unseeded.add_scores(
        torch_mt.rouge(list(predictions), list(targets), rouge_types=["rouge1", "rougeL"])
    )
    numpy.random.seed(seed)
    assert unseeded.aggregate() == expected


_METRIC_TARGETS = st.one_of(_TEXTS, st.lists(_TEXTS, min_size=1, max_size=3))


@pytest.fixture(scope="module")
def simple_sentences():
    """NLTK's sentence splitter needs its punkt model (a download, not made
    here): rouge-score, torchmetrics and torch_mt all call
    nltk.sent_tokenize, replaced by a split after . ! or ? and whitespace
    (which leaves newlines inside sentences)."""
    import nltk
    import torchmetrics.functional.text.rouge as torchmetrics_rouge

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torchmetrics_rouge, "_ensure_nltk_punkt_is_downloaded", lambda: None)
        patch.setattr(nltk, "sent_tokenize", lambda text: re.split(r"(?<=[.!?]) +", text))
        yield


@given(
    batches=st.lists(
        st.lists(st.tuples(_TEXTS, _METRIC_TARGETS), min_size=1, max_size=6), min_size=1, max_size=3
    ),
    accumulate=st.sampled_from(["best", "avg"]),
    use_stemmer=st.booleans(),
)
def test_rouge_score_metric_equals_torchmetrics(simple_sentences, batches, accumulate, use_stemmer):
    from torchmetrics.text import ROUGEScore as TorchmetricsROUGEScore

    keys = ("rouge1", "rouge2", "rougeL", "rougeLsum")
    theirs = TorchmetricsROUGEScore(use_stemmer=use_stemmer, accumulate=accumulate, rouge_keys=keys)
    ours = ROUGEScore(use_stemmer=use_stemmer, accumulate=accumulate, rouge_keys=keys)
    for batch in batches:
        preds = [prediction for prediction, _ in batch]
        targets = [target if isinstance(target, list) else [target] for _, target in batch]
        batch_theirs, batch_ours = theirs(preds, targets), ours(preds, targets)
        assert list(batch_ours) == list(batch_theirs)
        for key in batch_theirs:
            assert torch.equal(batch_ours[key], batch_theirs[key]), key
    expected, actual = theirs.compute(), ours.compute()
    for key in expected:
        assert torch.equal(actual[key], expected[key]), key


# Few words, many sentence ends and newlines: summary-level LCS unions that
# depend on where each sentence ends.
_SUMMARIES = st.lists(
    st.sampled_from(["a", "b", "c", "a", "b", ". ", "! ", "\n", " "]), max_size=30
).map(" ".join)


@given(pairs=st.lists(st.tuples(_SUMMARIES, _SUMMARIES), max_size=6), use_stemmer=st.booleans())
def test_split_summaries_splits_sentences_as_rouge_score_does(simple_sentences, pairs, use_stemmer):
    scorer = rouge_scorer.RougeScorer(["rougeLsum", "rouge1"], use_stemmer, split_summaries=True)
    ours = RougeScorer(["rougeLsum", "rouge1"], use_stemmer, split_summaries=True)
    for prediction, target in pairs:
        assert ours.score(target, prediction) == scorer.score(target, prediction)


@given(pairs=st.lists(st.tuples(_SUMMARIES, _SUMMARIES), max_size=20))
# Found by a search: a backtrack that breaks ties the other way unions other
# target positions here, and scores other hits.
@example(pairs=[("b b b c\nc a", "b a b c"), ("c c a b a\na c b b c a", "a a c")])
def test_rouge_lsum_unions_the_lcs_rouge_score_backtracks(pairs):
    """Texts of few words and many lines, where which LCS enters each union
    (rouge-score's backtrack) changes the hits."""
    scorer = rouge_scorer.RougeScorer(["rougeLsum"])
    scores = torch_mt.rouge([p for p, _ in pairs], [t for _, t in pairs], rouge_types=["rougeLsum"])
    expected = [list(scorer.score(target, prediction)["rougeLsum"]) for prediction, target in pairs]
    assert scores["rougeLsum"].tolist() == expected


@pytest.mark.parametrize("use_stemmer", [False, True])
def test_very_long_texts_equal_rouge_score(use_stemmer):
    """Texts of ~1000 words over many lines: the LCS over many machine words,
    rougeLsum's tables over many lines, rare and repeated words."""
    rng = random.Random(7)
    words = [*ENGLISH_WORDS, *(w + "ing" for w in ENGLISH_WORDS), "İs", "\u212aelvin", "x86"]

    def text() -> str:
        lines = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 60))) for _ in range(25)]
        return "\n".join(lines)

    predictions, targets = [text() for _ in range(2)], [text() for _ in range(2)]
    scores = torch_mt.rouge(predictions, targets, use_stemmer=use_stemmer)
    scorer = rouge_scorer.RougeScorer(_TYPES, use_stemmer=use_stemmer)
    for i, (prediction, target) in enumerate(zip(predictions, targets)):
        expected = scorer.score(target, prediction)
        for name in _TYPES:
            assert scores[name][i].tolist() == list(expected[name]), name
