"""The text-metrics benchmark workloads: corpus BLEU, sentence TER and
pairwise chrF on translation-like English text (ASCII: what MT and generation
outputs mostly are), against sacrebleu (the reference), torchmetrics and
fastchrf where installed; ROUGE of summary-like pairs against rouge-score
(the reference), its Rust ports rouge-score-rs and rouge-rust, and
torchmetrics."""

from __future__ import annotations

import random

import torch
from torch import Tensor

from ..bench.workload import ENGLISH_WORDS as WORDS
from ..bench.workload import Arm, Workload, peer, small_workload
from .rouge import pairwise_rouge, rouge_scores
from .rouge_dropins import ROUGEScore
from .scores import corpus_bleu, sentence_ter
from .statistics import (
    bleu_scores,
    bleu_statistics,
    chrf_scores,
    chrf_statistics,
    pairwise_bleu,
    pairwise_chrf,
    ter_statistics,
)


def _sentence(rng: random.Random, words: int) -> list[str]:
    out = [rng.choice(WORDS) for _ in range(words)]
    if rng.random() < 0.3:  # a number, as news text has
        out.insert(rng.randrange(len(out)), str(rng.randint(2, 2000)))
    if rng.random() < 0.4:
        out[rng.randrange(len(out))] += ","
    out[0] = out[0].capitalize()
    return out


def translation_pairs(count: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """``count`` (hypothesis, reference) pairs of 8-30 word English sentences
    with commas, numbers and a final period: the reference, then a system's
    output with ~20% of its words replaced, dropped or added and, in one pair
    of three, a chunk of words moved (what TER's shifts repair)."""
    hypotheses, references = [], []
    for _ in range(count):
        reference = _sentence(rng, rng.randint(8, 30))
        hypothesis = []
        for word in reference:
            roll = rng.random()
            if roll < 0.1:
                hypothesis.append(rng.choice(WORDS))
            elif roll < 0.15:
                continue
            elif roll < 0.2:
                hypothesis += [word, rng.choice(WORDS)]
            else:
                hypothesis.append(word)
        if rng.random() < 1 / 3 and len(hypothesis) > 6:
            start = rng.randrange(len(hypothesis) - 3)
            chunk = hypothesis[start : start + 3]
            del hypothesis[start : start + 3]
            hypothesis[rng.randrange(len(hypothesis)) : 0] = chunk
        references.append(" ".join(reference) + ".")
        hypotheses.append(" ".join(hypothesis) + ".")
    return hypotheses, references


#: Suffixes that give the stemmer work (news text is inflected).
_INFLECTIONS = ["s", "ed", "ing", "ly", "ation", "ness", "ers", "ment"]


def summary_pairs(count: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """``count`` (prediction, reference) pairs of news-like English sentences
    of 15-45 words (capitals, commas, numbers, a period; a word in four
    inflected), the prediction sharing about half the reference's words."""

    def words(n: int) -> list[str]:
        out = []
        for _ in range(n):
            word = rng.choice(WORDS)
            out.append(word + rng.choice(_INFLECTIONS) if rng.random() < 0.25 else word)
        return out

    predictions, references = [], []
    for _ in range(count):
        reference = words(rng.randint(15, 45))
        if rng.random() < 0.3:  # a number, as news text has
            reference.insert(rng.randrange(len(reference)), str(rng.randint(2, 2000)))
        reference[rng.randrange(len(reference))] += ","
        reference[0] = reference[0].capitalize()
        prediction = [w if rng.random() < 0.5 else rng.choice(WORDS) for w in reference]
        prediction = prediction[: rng.randint(15, max(15, len(prediction)))]
        prediction[0] = prediction[0].capitalize()
        references.append(" ".join(reference) + ".")
        predictions.append(" ".join(prediction) + ".")
    return predictions, references


#: The types every ROUGE arm computes: all that rouge-rust offers.
_ROUGE_TYPES = ["rouge1", "rouge2", "rougeL"]


def _rouge_rows(results: list[dict]) -> Tensor:
    """Score dicts (any port's) as [types, N, 3]."""
    return torch.tensor(
        [[[r[t].precision, r[t].recall, r[t].fmeasure] for r in results] for t in _ROUGE_TYPES],
        dtype=torch.float64,
    ).reshape(len(_ROUGE_TYPES), len(results), 3)


def _rouge_scorer_loop(module: str, preds: list[str], refs: list[str], stem: bool) -> Tensor:
    scorer = peer(module).RougeScorer(_ROUGE_TYPES, use_stemmer=stem)
    return _rouge_rows([scorer.score(r, p) for p, r in zip(preds, refs)])


def _fast_rouge_flat(preds: list[str], refs: list[str]) -> Tensor:
    columns = peer("fast_rouge").score_batch_flat(refs, preds)
    return torch.tensor(
        [
            [getattr(columns, f"{t}_{field}") for field in ("precision", "recall", "fmeasure")]
            for t in _ROUGE_TYPES
        ],
        dtype=torch.float64,
    ).transpose(1, 2)


def _rouge_workload(preds: list[str], refs: list[str], stem: bool) -> Workload:
    arms = [
        Arm(
            "rouge-score RougeScorer.score loop",
            lambda: _rouge_scorer_loop("rouge_score.rouge_scorer", preds, refs, stem),
            requires=("rouge_score",),
        ),
        Arm(
            "rouge-score-rs RougeScorer.score loop",
            lambda: _rouge_scorer_loop("rouge_score_rs", preds, refs, stem),
            requires=("rouge_score_rs",),
        ),
    ]
    if not stem:  # rouge-rust has no stemmer
        arms += [
            Arm(
                "rouge-rust fast_rouge.score_batch (all cores)",
                lambda: _rouge_rows(peer("fast_rouge").score_batch(refs, preds)),
                requires=("fast_rouge",),
            ),
            Arm(
                "rouge-rust fast_rouge.score_batch_flat (all cores)",
                lambda: _fast_rouge_flat(preds, refs),
                requires=("fast_rouge",),
            ),
        ]
    return Workload(
        name=f"rouge 1/2/L, {len(preds)} pairs, stemmer {'on' if stem else 'off'}",
        description="rouge-score's rouge1, rouge2 and rougeL of every pair (news-like sentences)",
        ops=("rouge_scores",),
        arms=arms,
        torch_mt=lambda: rouge_scores(preds, refs, None, _ROUGE_TYPES, use_stemmer=stem),
        normalise=lambda scores: torch.as_tensor(scores, dtype=torch.float64),
        agree=lambda a, b: a.shape == b.shape and bool(torch.equal(a, b)),
    )


def _metric_values(metric, preds: list[str], refs: list[str]) -> Tensor:
    """A ROUGEScore's (torchmetrics' or the drop-in's) update then compute, as a tensor."""
    metric.update(preds, refs)
    return torch.stack(list(metric.compute().values()))


def _rouge_metric_workload(preds: list[str], refs: list[str]) -> Workload:
    keys = tuple(_ROUGE_TYPES)
    return Workload(
        name=f"ROUGEScore (torchmetrics), {len(preds)} pairs, stemmer on",
        description="torchmetrics' ROUGEScore update + compute against torch_mt's drop-in",
        ops=("rouge_scores",),
        arms=[
            Arm(
                "torchmetrics ROUGEScore",
                lambda: _metric_values(
                    peer("torchmetrics.text").ROUGEScore(use_stemmer=True, rouge_keys=keys),
                    preds,
                    refs,
                ),
                requires=("torchmetrics",),
            ),
        ],
        torch_mt=lambda: _metric_values(ROUGEScore(use_stemmer=True, rouge_keys=keys), preds, refs),
        normalise=lambda values: torch.as_tensor(values),
        agree=lambda a, b: bool(torch.equal(a, b)),  # the drop-in is bit for bit
    )


def _close(a, b) -> bool:
    """Equal up to float32 rounding (torchmetrics computes in float32); the
    tests check that torch_mt equals sacrebleu to the last bit."""
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=1e-5, atol=1e-4))


def _sacrebleu_sentence_loop(metric, hypotheses: list[str], references: list[str]) -> list:
    return [metric.sentence_score(h, [r]).score for h, r in zip(hypotheses, references)]


def headline() -> Workload:
    """The family's row of the headline run (``make bench``): corpus BLEU of
    10 000 pairs (the full run's 100 000 keep torchmetrics' arm a minute long)."""
    return _corpus_bleu_workload(*translation_pairs(10_000, random.Random(26)))


def _corpus_bleu_workload(hyps: list[str], refs: list[str]) -> Workload:
    return Workload(
        name=f"corpus_bleu, {len(hyps)} sentence pairs",
        description="corpus BLEU (13a, exp smoothing) of a system's output against one reference",
        ops=("bleu_statistics",),
        arms=[
            Arm(
                "sacrebleu.corpus_bleu",
                lambda: peer("sacrebleu").corpus_bleu(hyps, [refs]).score,
                requires=("sacrebleu",),
            ),
            Arm(
                "torchmetrics sacre_bleu_score",
                lambda: (
                    100  # torchmetrics scores in [0, 1]
                    * peer("torchmetrics.functional.text").sacre_bleu_score(
                        hyps, [[r] for r in refs]
                    )
                ),
                requires=("torchmetrics",),
            ),
        ],
        torch_mt=lambda: corpus_bleu(hyps, [refs]).score,
        normalise=float,
        agree=_close,
    )


def workloads(quick: bool) -> list[Workload]:
    """Corpus BLEU (100 000 pairs), sentence TER (5000 pairs), pairwise chrF
    (1000 x 1000), and tiny calls of every operator."""
    rng = random.Random(26)
    count = 5_000 if quick else 100_000
    hyps, refs = translation_pairs(count, rng)
    bleu = _corpus_bleu_workload(hyps, refs)
    ter_count = 500 if quick else 5_000
    ter_hyps, ter_refs = hyps[:ter_count], refs[:ter_count]
    ter = Workload(
        name=f"sentence_ter, {ter_count} pairs",
        description="TER of every sentence (edit distance and shift search per pair)",
        ops=("ter_statistics",),
        arms=[
            Arm(
                "sacrebleu TER.sentence_score loop",
                lambda: _sacrebleu_sentence_loop(peer("sacrebleu").TER(), ter_hyps, ter_refs),
                requires=("sacrebleu",),
            ),
            # No torchmetrics arm: its translation_edit_rate differs from
            # sacrebleu on 12 of these 500 sentences (by up to 12.5 points).
        ],
        torch_mt=lambda: sentence_ter(ter_hyps, [ter_refs]),
        normalise=lambda scores: torch.as_tensor(scores, dtype=torch.float64).flatten().tolist(),
        agree=_close,
    )
    side = 100 if quick else 1_000
    candidates, others = hyps[:side], refs[side : 2 * side]
    grid = Workload(
        name=f"pairwise_chrf, {side} x {side}",
        description="sentence chrF of every candidate against every other (MBR, self-chrF)",
        ops=("pairwise_chrf",),
        arms=[
            Arm(
                "sacrebleu CHRF.sentence_score loop",
                lambda: [
                    _sacrebleu_sentence_loop(peer("sacrebleu").CHRF(), [c] * side, others)
                    for c in candidates
                ],
                requires=("sacrebleu",),
            ),
            Arm(
                "fastchrf.pairwise_chrf",
                lambda: peer("fastchrf").pairwise_chrf([candidates], [others])[0],
                requires=("fastchrf",),
            ),
        ],
        torch_mt=lambda: pairwise_chrf(candidates, others),
        normalise=lambda scores: torch.as_tensor(scores, dtype=torch.float64),
        agree=_close,
    )
    rouge_count = 2_000 if quick else 20_000
    preds, summaries = summary_pairs(rouge_count, random.Random(38))
    rouge_rows = [_rouge_workload(preds, summaries, stem) for stem in (True, False)]
    metric_count = 500 if quick else 5_000  # torchmetrics takes ~1 ms a pair
    rouge_rows.append(_rouge_metric_workload(preds[:metric_count], summaries[:metric_count]))
    rouge_side = 100 if quick else 500
    rouge_grid = Workload(
        name=f"pairwise_rouge rougeL, {rouge_side} x {rouge_side}, stemmer on",
        description="ROUGE-L of every candidate against every other (MBR decoding)",
        ops=("pairwise_rouge",),
        arms=[
            Arm(
                "rouge-score-rs RougeScorer.score loop",
                lambda: [
                    [
                        peer("rouge_score_rs")
                        .RougeScorer(["rougeL"], use_stemmer=True)
                        .score(t, c)["rougeL"]
                        .fmeasure
                        for t in summaries[:rouge_side]
                    ]
                    for c in preds[:rouge_side]
                ],
                requires=("rouge_score_rs",),
            ),
        ],
        torch_mt=lambda: pairwise_rouge(
            preds[:rouge_side], summaries[:rouge_side], use_stemmer=True
        ),
        normalise=lambda scores: torch.as_tensor(scores, dtype=torch.float64),
        agree=lambda a, b: bool(torch.equal(a, b)),
    )
    few_hyps, few_refs = hyps[:3], [refs[:3]]
    bleu_rows = bleu_statistics(few_hyps, few_refs)
    chrf_rows = chrf_statistics(few_hyps, few_refs)
    small = [
        small_workload("bleu_statistics", lambda: bleu_statistics(few_hyps, few_refs)),
        small_workload("bleu_scores", lambda: bleu_scores(bleu_rows)),
        small_workload("pairwise_bleu", lambda: pairwise_bleu(few_hyps, few_refs[0])),
        small_workload("chrf_statistics", lambda: chrf_statistics(few_hyps, few_refs)),
        small_workload("chrf_scores", lambda: chrf_scores(chrf_rows)),
        small_workload("pairwise_chrf", lambda: pairwise_chrf(few_hyps, few_refs[0])),
        small_workload("ter_statistics", lambda: ter_statistics(few_hyps, few_refs)),
        small_workload("rouge_scores", lambda: rouge_scores(few_hyps, few_refs[0])),
        small_workload("pairwise_rouge", lambda: pairwise_rouge(few_hyps, few_refs[0])),
    ]
    return [bleu, ter, grid, *rouge_rows, rouge_grid, *small]
