"""Shape functions of the text-metrics operators that take only strings
(``str[]``, ``str[][]``: no tensor input for a Meta kernel to dispatch on).
Imported by the family's ``__init__`` (registration is the import).

Each calls ``mt::_text_metrics_checks`` (the C++ checks) and adds only the
size, so compiled and eager errors are the same ones, written once.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

#: Columns of a BLEU statistics row: hyp_len, ref_len, correct[4], total[4].
BLEU_COLUMNS = 10


def _check(
    op: str,
    count: int,
    references: Optional[list[list[str]]] = None,
    tokenize: str = "13a",
    smooth_method: str = "exp",
    smooth_value: Optional[float] = None,
    char_order: int = 6,
    word_order: int = 0,
    beta: int = 2,
) -> None:
    lengths = [] if references is None else [len(stream) for stream in references]
    torch.ops.mt._text_metrics_checks(
        op, count, lengths, tokenize, smooth_method, smooth_value, char_order, word_order, beta
    )


@torch.library.register_fake("mt::bleu_statistics")
def _bleu_statistics_fake(
    hypotheses: list[str], references: list[list[str]], tokenize: str = "13a", lowercase=False
) -> Tensor:
    _check("mt::bleu_statistics", len(hypotheses), references, tokenize=tokenize)
    return torch.empty((len(hypotheses), BLEU_COLUMNS), dtype=torch.int64)


@torch.library.register_fake("mt::chrf_statistics")
def _chrf_statistics_fake(
    hypotheses: list[str],
    references: list[list[str]],
    char_order: int = 6,
    word_order: int = 0,
    beta: int = 2,
    lowercase: bool = False,
    whitespace: bool = False,
    eps_smoothing: bool = False,
) -> Tensor:
    _check(
        "mt::chrf_statistics",
        len(hypotheses),
        references,
        char_order=char_order,
        word_order=word_order,
        beta=beta,
    )
    return torch.empty((len(hypotheses), 3 * (char_order + word_order)), dtype=torch.int64)


@torch.library.register_fake("mt::ter_statistics")
def _ter_statistics_fake(
    hypotheses: list[str], references: list[list[str]], *flags: bool
) -> tuple[Tensor, Tensor]:
    _check("mt::ter_statistics", len(hypotheses), references)
    count = len(hypotheses)
    return torch.empty((count,), dtype=torch.int64), torch.empty((count,), dtype=torch.float64)


@torch.library.register_fake("mt::pairwise_bleu")
def _pairwise_bleu_fake(
    a: list[str],
    b: list[str],
    tokenize: str = "13a",
    smooth_method: str = "exp",
    smooth_value: Optional[float] = None,
    lowercase: bool = False,
    use_effective_order: bool = True,
) -> Tensor:
    _check(
        "mt::pairwise_bleu",
        -1,
        tokenize=tokenize,
        smooth_method=smooth_method,
        smooth_value=smooth_value,
    )
    return torch.empty((len(a), len(b)), dtype=torch.float64)


@torch.library.register_fake("mt::pairwise_chrf")
def _pairwise_chrf_fake(
    a: list[str],
    b: list[str],
    char_order: int = 6,
    word_order: int = 0,
    beta: int = 2,
    lowercase: bool = False,
    whitespace: bool = False,
    eps_smoothing: bool = False,
) -> Tensor:
    _check("mt::pairwise_chrf", -1, char_order=char_order, word_order=word_order, beta=beta)
    return torch.empty((len(a), len(b)), dtype=torch.float64)


@torch.library.register_fake("mt::rouge_scores")
def _rouge_scores_fake(
    predictions: list[str],
    references: list[str],
    reference_counts: Optional[list[int]],
    rouge_types: list[str],
    use_stemmer: bool = False,
) -> Tensor:
    torch.ops.mt._rouge_checks(
        "mt::rouge_scores", len(predictions), len(references), reference_counts, rouge_types
    )
    return torch.empty((len(rouge_types), len(predictions), 3), dtype=torch.float64)


@torch.library.register_fake("mt::pairwise_rouge")
def _pairwise_rouge_fake(
    a: list[str], b: list[str], rouge_type: str = "rougeL", use_stemmer: bool = False
) -> Tensor:
    torch.ops.mt._rouge_checks("mt::pairwise_rouge", -1, 0, None, [rouge_type])
    return torch.empty((len(a), len(b)), dtype=torch.float64)
