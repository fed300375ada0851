"""Text metrics: sacrebleu's BLEU, chrF (chrF++) and TER, per corpus, per
sentence and pairwise, with sacrebleu's tokenizers in C++ on the pool; and
rouge-score's ROUGE, per pair and pairwise, with its tokenizer and NLTK's
Porter stemmer in C++.

Scores equal sacrebleu 2.6's and rouge-score 0.1.2's to the last bit
(docs/ops/text_metrics.md). The
word and character error rates (jiwer's) are edit distances, in the
edit-distance family (``torch_mt.word_error_rate``).
"""

from . import fakes  # noqa: F401  (registers the shape functions)
from .rouge import pairwise_rouge, rouge, rouge_scores
from .rouge_dropins import BootstrapAggregator, ROUGEScore, RougeScorer
from .scores import (
    BLEUScore,
    CHRFScore,
    TERScore,
    corpus_bleu,
    corpus_chrf,
    corpus_ter,
    sentence_bleu,
    sentence_chrf,
    sentence_ter,
)
from .statistics import (
    bleu_scores,
    bleu_statistics,
    chrf_scores,
    chrf_statistics,
    pairwise_bleu,
    pairwise_chrf,
    ter_statistics,
)

__all__ = [
    "bleu_scores",
    "bleu_statistics",
    "chrf_scores",
    "chrf_statistics",
    "corpus_bleu",
    "corpus_chrf",
    "corpus_ter",
    "pairwise_bleu",
    "pairwise_chrf",
    "pairwise_rouge",
    "rouge",
    "rouge_scores",
    "sentence_bleu",
    "sentence_chrf",
    "sentence_ter",
    "ter_statistics",
]

# The score types are reachable as torch_mt.text_metrics.BLEUScore etc.
# The drop-ins likewise: torch_mt.text_metrics.RougeScorer etc.
_SCORE_TYPES = (BLEUScore, CHRFScore, TERScore)
_DROP_INS = (RougeScorer, BootstrapAggregator, ROUGEScore)

# The wrappers live in submodules: doctest.testmod of this package
# (tests/test_docs.py) runs their examples through __test__.
__test__ = {name: globals()[name] for name in __all__}
__test__.update({cls.__name__: cls for cls in _DROP_INS})
