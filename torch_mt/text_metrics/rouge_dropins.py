"""Drop-ins for the ROUGE classes users already call, on torch_mt's ROUGE
(``rouge.py``): rouge-score's ``RougeScorer`` and ``BootstrapAggregator``,
and torchmetrics' ``ROUGEScore``. Each gives the numbers of the class it
replaces, to the last bit (tests/test_rouge.py holds each against it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, Optional, Union

import numpy as np
import torch
from torch import Tensor

from .rouge import _strings, _types, rouge


class Score(NamedTuple):
    """rouge-score's ``Score``."""

    precision: float
    recall: float
    fmeasure: float


class RougeScorer:
    """A drop-in for ``rouge_score.rouge_scorer.RougeScorer``: the same
    constructor, ``score(target, prediction)`` and
    ``score_multi(targets, prediction)``, the same numbers. Score many pairs
    with :func:`torch_mt.rouge` instead: one call, pairs in parallel.

    Example:
        >>> RougeScorer(["rouge1"]).score("the cat sat down", "the cat sat")
        {'rouge1': Score(precision=1.0, recall=0.75, fmeasure=0.8571428571428571)}
    """

    def __init__(
        self,
        rouge_types: Sequence[str],
        use_stemmer: bool = False,
        split_summaries: bool = False,
        tokenizer: None = None,
    ) -> None:
        if tokenizer is not None:
            raise ValueError(
                "torch_mt.RougeScorer: argument 'tokenizer' must be None: the tokenizer is "
                "rouge-score's default one, in C++"
            )
        self.rouge_types = _types("RougeScorer", rouge_types)
        self.use_stemmer = use_stemmer
        self.split_summaries = split_summaries

    def score_multi(self, targets: Sequence[str], prediction: str) -> dict[str, Score]:
        """The Score of each type against the target with the highest fmeasure."""
        targets = _strings("RougeScorer.score_multi", "targets", targets)
        prediction = _strings("RougeScorer.score_multi", "prediction", [prediction])[0]
        scores = rouge(
            [prediction],
            [targets],
            rouge_types=self.rouge_types,
            use_stemmer=self.use_stemmer,
            split_summaries=self.split_summaries,
        )
        return {name: Score(*scores[name][0].tolist()) for name in self.rouge_types}

    def score(self, target: str, prediction: str) -> dict[str, Score]:
        """The Score of each type of ``prediction`` against ``target``."""
        return self.score_multi([target], prediction)


class AggregateScore(NamedTuple):
    """rouge-score's ``AggregateScore``: the bounds of a confidence interval."""

    low: Score
    mid: Score
    high: Score


class BootstrapAggregator:
    """rouge-score's ``BootstrapAggregator``: confidence intervals of the mean
    Score of each type, by bootstrap resampling (``n_samples`` resamples of
    the pairs; ``mid`` is the median of the resampled means).

    ``seed=None`` draws from NumPy's global random state, as rouge-score does
    (so after ``np.random.seed(s)`` both give the same intervals); an integer
    ``seed`` draws from a generator of its own seeded with it, which leaves
    the global state alone and gives the same intervals on every run (equal
    to rouge-score's after ``np.random.seed(seed)``).

    ``add_scores`` takes rouge-score's ``{type: Score}`` for one pair, or
    torch_mt's ``{type: float64 [N, 3]}`` (what :func:`torch_mt.rouge`
    returns) for ``N`` pairs at once.

    Example:
        >>> aggregator = BootstrapAggregator(seed=0)
        >>> aggregator.add_scores(rouge(["a b", "c d"], ["a b", "c e"], rouge_types=["rouge1"]))
        >>> aggregator.aggregate()["rouge1"].mid.fmeasure
        0.75
    """

    def __init__(
        self,
        confidence_interval: float = 0.95,
        n_samples: int = 1000,
        *,
        seed: Optional[int] = None,
    ) -> None:
        if confidence_interval < 0 or confidence_interval > 1:
            raise ValueError("confidence_interval must be in range [0, 1]")
        if n_samples <= 0:
            raise ValueError("n_samples must be positive")
        self._n_samples = n_samples
        self._confidence_interval = confidence_interval
        self._random = np.random if seed is None else np.random.RandomState(seed)
        self._rows: dict[str, list[np.ndarray]] = {}

    def add_scores(self, scores: Mapping[str, Union[Score, Sequence[float], Tensor]]) -> None:
        """Adds one pair's Scores, or the ``[N, 3]`` tensors of ``N`` pairs."""
        for score_type, score in scores.items():
            rows = torch.as_tensor(score, dtype=torch.float64).reshape(-1, 3).numpy()
            self._rows.setdefault(score_type, []).append(rows)

    def aggregate(self) -> dict[str, AggregateScore]:
        """``{type: AggregateScore(low, mid, high)}``."""
        result = {}
        for score_type, rows in self._rows.items():
            percentiles = self._bootstrap_resample(np.vstack(rows))
            low, mid, high = (Score(*percentiles[j, :].tolist()) for j in range(3))
            result[score_type] = AggregateScore(low, mid, high)
        return result

    def _bootstrap_resample(self, matrix: np.ndarray) -> np.ndarray:
        # rouge-score's resampling, draw for draw: one choice() of N indices
        # a resample, the means by np.mean, then np.percentile.
        sample_mean = np.zeros((self._n_samples, matrix.shape[1]))
        for i in range(self._n_samples):
            sample_idx = self._random.choice(np.arange(matrix.shape[0]), size=matrix.shape[0])
            sample_mean[i, :] = np.mean(matrix[sample_idx, :], axis=0)
        delta = (1 - self._confidence_interval) / 2
        return np.percentile(sample_mean, 100 * np.array([delta, 0.5, 1 - delta]), axis=0)


#: torchmetrics' rouge keys and the names of its result keys (``rouge{key}_{field}``).
_TORCHMETRICS_KEYS = {
    **{f"rouge{n}": str(n) for n in range(1, 10)},
    "rougeL": "L",
    "rougeLsum": "Lsum",
}
_FIELDS = ("fmeasure", "precision", "recall")  # torchmetrics' order
_SCORE_COLUMN = {"precision": 0, "recall": 1, "fmeasure": 2}


class ROUGEScore:
    """A drop-in for ``torchmetrics.text.ROUGEScore`` (1.9): the same
    constructor, ``update``/``compute``/``reset``, calling it on a batch, its
    result keys (``rouge1_fmeasure``, ...), ``accumulate="best"`` or
    ``"avg"`` over several targets, and its float32 numbers to the last bit.

    rougeLsum splits sentences with NLTK's ``sent_tokenize``, as torchmetrics
    does: it needs NLTK and its punkt model, like torchmetrics. Custom
    ``normalizer``/``tokenizer`` callables are refused (the tokenizer is
    C++). Not a ``torchmetrics.Metric``: no distributed sync.

    Example:
        >>> metric = ROUGEScore(rouge_keys=("rouge1", "rougeL"))
        >>> metric.update(["the cat sat"], ["the cat sat down"])
        >>> {key: round(value.item(), 4) for key, value in metric.compute().items()}
        {'rouge1_fmeasure': 0.8571, 'rouge1_precision': 1.0, 'rouge1_recall': 0.75, \
'rougeL_fmeasure': 0.8571, 'rougeL_precision': 1.0, 'rougeL_recall': 0.75}
    """

    def __init__(
        self,
        use_stemmer: bool = False,
        normalizer: None = None,
        tokenizer: None = None,
        accumulate: str = "best",
        rouge_keys: Union[str, tuple[str, ...]] = ("rouge1", "rouge2", "rougeL", "rougeLsum"),
    ) -> None:
        if normalizer is not None or tokenizer is not None:
            raise ValueError(
                "torch_mt.ROUGEScore: arguments 'normalizer' and 'tokenizer' must be None: the "
                "tokenizer is torchmetrics' default one, in C++"
            )
        rouge_keys = rouge_keys if isinstance(rouge_keys, tuple) else (rouge_keys,)
        for key in rouge_keys:
            if key not in _TORCHMETRICS_KEYS:
                raise ValueError(
                    f"torch_mt.ROUGEScore: argument 'rouge_keys' has unknown rouge key {key}; "
                    f"expected one of {list(_TORCHMETRICS_KEYS)}"
                )
        if accumulate not in ("avg", "best"):
            raise ValueError(
                f"torch_mt.ROUGEScore: argument 'accumulate' must be 'avg' or 'best', "
                f"got {accumulate!r}"
            )
        self.use_stemmer = use_stemmer
        self.accumulate = accumulate
        self.rouge_keys = rouge_keys
        self.reset()

    def reset(self) -> None:
        self._values: dict[str, list[Tensor]] = {
            f"rouge{_TORCHMETRICS_KEYS[key]}_{field}": []
            for key in self.rouge_keys
            for field in _FIELDS
        }

    def update(
        self,
        preds: Union[str, Sequence[str]],
        target: Union[str, Sequence[str], Sequence[Sequence[str]]],
    ) -> None:
        """Adds a batch: each prediction against its target(s)."""
        # torchmetrics' reading of the arguments.
        if isinstance(target, list) and all(isinstance(tgt, str) for tgt in target):
            target = [target] if isinstance(preds, str) else [[tgt] for tgt in target]
        if isinstance(preds, str):
            preds = [preds]
        if isinstance(target, str):
            target = [[target]]
        counts = [len(targets) for targets in target]
        flat_preds = [pred for pred, count in zip(preds, counts) for _ in range(count)]
        flat_targets = [text for targets in target for text in targets]
        # Each (prediction, target) pair on its own: the best or the mean
        # is taken below, on float32, as torchmetrics keeps each Score (a
        # tensor of a Python float). Its rougeLsum splits sentences with
        # NLTK, as rouge's split_summaries does.
        scores = rouge(
            flat_preds,
            flat_targets,
            rouge_types=list(self.rouge_keys),
            use_stemmer=self.use_stemmer,
            split_summaries=True,
        )
        scores = {key: rows.float() for key, rows in scores.items()}
        one_each = all(count == 1 for count in counts)
        for key in self.rouge_keys:
            name = _TORCHMETRICS_KEYS[key]
            per_target = list(torch.split(scores[key], counts))
            for field in _FIELDS:
                column = _SCORE_COLUMN[field]
                if one_each:  # the best and the mean of one Score are that Score
                    values = scores[key][:, column].contiguous()
                elif self.accumulate == "best":  # the first of equal float32 fmeasures
                    values = torch.stack(
                        [r[int(torch.argmax(r[:, 2])), column] for r in per_target]
                    )
                else:
                    values = torch.stack([r[:, column].contiguous().mean() for r in per_target])
                self._values[f"rouge{name}_{field}"].append(values)

    def compute(self) -> dict[str, Tensor]:
        """The mean of each key over every prediction added (float32)."""
        return {
            key: (torch.cat(values) if values else torch.tensor([])).mean()
            for key, values in self._values.items()
        }

    def __call__(self, preds, target) -> dict[str, Tensor]:
        """torchmetrics' forward: the batch's scores, which are also added."""
        batch = ROUGEScore(self.use_stemmer, accumulate=self.accumulate, rouge_keys=self.rouge_keys)
        batch.update(preds, target)
        for key, values in batch._values.items():
            self._values[key] += values
        return batch.compute()
