"""The levenshtein family's benchmark workloads (``python -m torch_mt.bench``)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from ..bench.workload import (
    Arm,
    Workload,
    all_threads,
    as_int_lists,
    as_text,
    peer,
    python_loop,
    random_sequences,
    small_workload,
    with_typos,
    word_text,
)
from . import (
    edit_distance,
    edit_distance_pairwise,
    pad_sequences,
    similarity_join,
    word_error_rate,
)

#: rapidfuzz's Levenshtein functions (a module of rapidfuzz.distance).
_LEVENSHTEIN = "rapidfuzz.distance.Levenshtein"

#: The benchmark's token sequences spelled as text: ids below 26 are ASCII
#: letters, the rest CJK, where rapidfuzz takes its slower hash-map path; kept
#: as a row of its own, labelled, beside the ASCII and Latin-1 rows.
_VOCABULARY_TEXT = "vocabulary-1000 tokens as text (CJK above id 26)"


def workloads(quick: bool) -> list[Workload]:
    """Batched pairs and all-pairs grids of 20-60- and 500-1000-token sequences
    (vocabulary 1000), against editdistance and rapidfuzz; and tiny calls."""
    rng = random.Random(0)
    num_pairs = 2_000 if quick else 20_000
    grid_side = 200 if quick else 1_000
    # Token ids 0..999: no hash collisions in editdistance (hash(-1) == hash(-2)).
    lefts = random_sequences(num_pairs, 20, 60, 1000, rng)
    rights = random_sequences(num_pairs, 20, 60, 1000, rng)
    left_tokens, left_lengths = pad_sequences(lefts)
    right_tokens, right_lengths = pad_sequences(rights)
    rows, cols = lefts[:grid_side], rights[:grid_side]
    row_tokens, row_lengths = pad_sequences(rows)
    col_tokens, col_lengths = pad_sequences(cols)

    def levenshtein():
        return peer("rapidfuzz.distance").Levenshtein

    def cdist(rows: list, cols: list):
        return peer("rapidfuzz.process").cdist(
            rows, cols, scorer=levenshtein().distance, workers=-1
        )

    batch = Workload(
        name=f"edit_distance, {num_pairs} pairs",
        description=f"{num_pairs} pairs of 20-60-token sequences",
        ops=("edit_distance",),
        arms=[
            Arm(
                "python loop: editdistance.eval",
                lambda: python_loop("editdistance", "eval", lefts, rights),
                requires=("editdistance",),
            ),
            Arm(
                "python loop: rapidfuzz Levenshtein.distance",
                lambda: python_loop(_LEVENSHTEIN, "distance", lefts, rights),
                requires=("rapidfuzz",),
            ),
        ],
        torch_mt=lambda: torch.ops.mt.edit_distance(
            left_tokens, right_tokens, left_lengths, right_lengths
        ),
        normalise=as_int_lists,
    )
    grid = Workload(
        name=f"edit_distance_pairwise, {grid_side}x{grid_side}",
        description=f"all pairs of {grid_side} x {grid_side} sequences of 20-60 tokens",
        ops=("edit_distance_pairwise",),
        arms=[
            Arm(
                "python loop: editdistance.eval",
                lambda: [python_loop("editdistance", "eval", [x] * len(cols), cols) for x in rows],
                requires=("editdistance",),
            ),
            Arm(
                "rapidfuzz.process.cdist(workers=-1)",
                lambda: cdist(rows, cols),
                requires=("rapidfuzz",),
            ),
        ],
        torch_mt=lambda: torch.ops.mt.edit_distance_pairwise(
            row_tokens, col_tokens, row_lengths, col_lengths
        ),
        normalise=as_int_lists,
    )
    long_side = 50 if quick else 200
    long_rows = random_sequences(long_side, 500, 1000, 1000, rng)
    long_cols = random_sequences(long_side, 500, 1000, 1000, rng)
    long_row_tokens, long_row_lengths = pad_sequences(long_rows)
    long_col_tokens, long_col_lengths = pad_sequences(long_cols)
    long_grid = Workload(
        name=f"edit_distance_pairwise, {long_side}x{long_side} long",
        description=f"all pairs of {long_side} x {long_side} sequences of 500-1000 tokens",
        ops=("edit_distance_pairwise",),
        # No Python-loop arm: editdistance needs ~0.4 ms a pair here (16 s a run).
        arms=[
            Arm(
                "rapidfuzz.process.cdist(workers=-1)",
                lambda: cdist(long_rows, long_cols),
                requires=("rapidfuzz",),
            )
        ],
        torch_mt=lambda: torch.ops.mt.edit_distance_pairwise(
            long_row_tokens, long_col_tokens, long_row_lengths, long_col_lengths
        ),
        normalise=as_int_lists,
    )
    return [
        *join_workloads(quick),
        batch,
        # The string grids at twice the token grid's side (2000 x 2000 in
        # the full run): the size rapidfuzz's cdist users run.
        *_text_rows(num_pairs, 2 * grid_side, rng),
        _from_strings(
            as_text(lefts), as_text(rights), "vocabulary-1000 tokens as text (CJK above id 26)"
        ),
        grid,
        _grid_from_strings(
            as_text(rows), as_text(cols), "vocabulary-1000 tokens as text (CJK above id 26)"
        ),
        long_grid,
        _padding(quick, rng),
        _word_error_rate(quick, rng),
        *_small_workloads(),
    ]


def _word_error_rate(quick: bool, rng: random.Random) -> Workload:
    """Corpus WER of 20 000 (quick: 2 000) utterance pairs of 5-20 words
    from a 1000-word vocabulary, hypotheses with ~20% of words changed."""
    count = 2_000 if quick else 20_000
    vocabulary = [f"w{i}" for i in range(1000)]
    references = [[rng.choice(vocabulary) for _ in range(rng.randint(5, 20))] for _ in range(count)]
    hypotheses = [
        [word if rng.random() > 0.2 else rng.choice(vocabulary) for word in sentence]
        for sentence in references
    ]
    references = [" ".join(words) for words in references]
    hypotheses = [" ".join(words) for words in hypotheses]

    def torchmetrics_wer() -> float:
        metric = peer("torchmetrics.text").WordErrorRate()
        return float(metric(hypotheses, references))

    return Workload(
        name=f"word_error_rate, {count} utterance pairs",
        description=f"corpus WER of {count} pairs of 5-20-word utterances",
        ops=("edit_distance",),
        arms=[
            Arm(
                "jiwer.wer", lambda: peer("jiwer").wer(references, hypotheses), requires=("jiwer",)
            ),
            Arm("torchmetrics WordErrorRate", torchmetrics_wer, requires=("torchmetrics",)),
        ],
        torch_mt=lambda: word_error_rate(hypotheses, references),
        normalise=float,
        # torchmetrics divides in float32: equal to about 1e-7 (the WER's
        # counts themselves are checked exactly by the tests).
        agree=lambda actual, expected: abs(actual - expected) <= 1e-6,
    )


def headline() -> Workload:
    """The family's row of the headline run (``make bench``): 20 000 pairs of
    ASCII near-duplicate strings, row-wise, against a rapidfuzz loop."""
    rng = random.Random(0)
    lefts = word_text(20_000, 20, 60, rng)
    return _from_strings(lefts, with_typos(lefts, 0.15, rng), "ASCII words")


def _text_rows(num_pairs: int, grid_side: int, rng: random.Random) -> list[Workload]:
    """The headline string rows, on the text users have: English words in
    ASCII, and the same with Latin-1 accents; each pair a near-duplicate
    (about 15% of characters changed), row-wise and as a grid."""
    rows = []
    for latin1, what in ((False, "ASCII words"), (True, "Latin-1 words")):
        lefts = word_text(num_pairs, 20, 60, rng, latin1=latin1)
        rights = with_typos(lefts, 0.15, rng)
        rows.append(_from_strings(lefts, rights, what))
        rows.append(_grid_from_strings(lefts[:grid_side], rights[:grid_side], what))
    return rows


def _from_strings(left_strings: list[str], right_strings: list[str], what: str) -> Workload:
    """Pairs of Python strings, the wrapper's conversion included."""
    (a, a_lengths), (b, b_lengths) = pad_sequences(left_strings), pad_sequences(right_strings)
    return Workload(
        name=f"edit_distance from Python strings, {what}, {len(left_strings)} pairs",
        description=(
            f"{len(left_strings)} pairs of 20-60-character strings ({what}), conversion included"
        ),
        ops=("edit_distance", "edit_distance_text"),
        arms=[
            Arm(
                "python loop: rapidfuzz Levenshtein.distance",
                lambda: python_loop(_LEVENSHTEIN, "distance", left_strings, right_strings),
                requires=("rapidfuzz",),
            ),
            Arm(
                f"the op on prepared tensors, {all_threads()} threads",
                lambda: torch.ops.mt.edit_distance(a, b, a_lengths, b_lengths),
                threads=all_threads(),
            ),
            Arm(
                f"mt::edit_distance_text on the str lists, {all_threads()} threads",
                lambda: torch.ops.mt.edit_distance_text(left_strings, right_strings),
                threads=all_threads(),
            ),
        ],
        torch_mt=lambda: edit_distance(left_strings, right_strings),
        normalise=as_int_lists,
    )


def _grid_from_strings(row_strings: list[str], col_strings: list[str], what: str) -> Workload:
    """The all-pairs grid on Python strings, conversion included, against
    rapidfuzz's own parallel grid."""
    shape = f"{len(row_strings)}x{len(col_strings)}"
    return Workload(
        name=f"edit_distance_pairwise from Python strings, {what}, {shape}",
        description=f"all pairs of {shape} strings of 20-60 characters ({what})",
        ops=("edit_distance_pairwise", "edit_distance_pairwise_text"),
        # cdist at 1 worker and at all: torch_mt's 1- and all-thread arms
        # compare with it at equal workers.
        arms=[
            Arm(
                f"rapidfuzz.process.cdist(workers={workers})",
                lambda workers=workers: peer("rapidfuzz.process").cdist(
                    row_strings,
                    col_strings,
                    scorer=peer("rapidfuzz.distance").Levenshtein.distance,
                    workers=workers,
                ),
                requires=("rapidfuzz",),
            )
            for workers in (1, -1)
        ],
        torch_mt=lambda: edit_distance_pairwise(row_strings, col_strings),
        normalise=as_int_lists,
    )


def _padding(quick: bool, rng: random.Random) -> Workload:
    """pad_sequences on Python int lists against torch's pad_sequence on the
    same data already held as tensors (what it would cost to build them is
    left out: the comparison favours torch)."""
    count = 10_000 if quick else 100_000
    lists = random_sequences(count, 20, 60, 1000, rng)
    tensors = [torch.tensor(seq) for seq in lists]
    return Workload(
        name=f"pad_sequences, {count} int lists",
        description=f"{count} lists of 20-60 ints into a padded [B, L] tensor",
        ops=(),
        arms=[
            Arm(
                "torch.nn.utils.rnn.pad_sequence on tensors",
                lambda: torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True),
            ),
            Arm("torch_mt.pad_sequences on int lists", lambda: pad_sequences(lists)[0]),
        ],
        normalise=lambda padded: padded,
        agree=torch.equal,
    )


def _small_workloads() -> list[Workload]:
    generator = torch.Generator().manual_seed(3)
    tokens = torch.randint(0, 5, (4, 6), generator=generator)
    lengths = torch.full((4,), 6)
    return [
        small_workload(
            "edit_distance",
            lambda: torch.ops.mt.edit_distance(tokens, tokens.flip(0), lengths, lengths),
        ),
        small_workload(
            "edit_distance_pairwise",
            lambda: torch.ops.mt.edit_distance_pairwise(tokens, tokens, lengths, lengths),
        ),
        small_workload(
            "edit_distance_text",
            lambda: torch.ops.mt.edit_distance_text(["kitten", "flaw"], ["sitting", "lawn"]),
        ),
        small_workload(
            "edit_distance_pairwise_text",
            lambda: torch.ops.mt.edit_distance_pairwise_text(["kitten", "flaw"], ["sitting"]),
        ),
    ]


# ---- the cutoff and the similarity join ----------------------------------------------


def join_workloads(quick: bool) -> list[Workload]:
    """The cutoff and join rows (docs/scale_out.md runs them alone): a string
    grid with a cutoff (k = 2 and 10) against rapidfuzz's, and a
    near-duplicate self-join local, on a local Ray, and as a dense grid plus
    filtering."""
    rng = random.Random(0)
    grid_strings = as_text(random_sequences(300 if quick else 2_000, 20, 60, 1000, rng))
    corpus = _near_duplicates(2_000 if quick else 20_000, rng)
    tiny, tiny_lengths = pad_sequences([[1, 2, 3], [1, 2], [3]])
    return [
        _cutoff_grid(grid_strings, 2),
        _cutoff_grid(grid_strings, 10),
        _join(corpus, 2),
        small_workload(
            "edit_distance_join",
            lambda: torch.ops.mt.edit_distance_join(tiny, tiny, 1, tiny_lengths, tiny_lengths),
        ),
    ]


def _cutoff_grid(strings: list[str], k: int) -> Workload:
    n = len(strings)

    def rapidfuzz_grid() -> np.ndarray:
        levenshtein = peer("rapidfuzz.distance").Levenshtein
        return peer("rapidfuzz.process").cdist(
            strings, strings, scorer=levenshtein.distance, score_cutoff=k, workers=-1
        )

    return Workload(
        name=f"edit_distance_pairwise max_distance={k}, {n}x{n} strings",
        description=f"all pairs of {n} strings of 20-60 characters, distances cut at {k}",
        ops=("edit_distance_pairwise",),
        arms=[
            Arm(
                f"rapidfuzz.process.cdist(score_cutoff={k}, workers=-1)",
                rapidfuzz_grid,
                requires=("rapidfuzz",),
            ),
            Arm(
                f"torch_mt without the cutoff, {all_threads()} threads",
                lambda: edit_distance_pairwise(strings, strings),
                threads=all_threads(),
            ),
        ],
        torch_mt=lambda: edit_distance_pairwise(strings, strings, max_distance=k),
        # rapidfuzz reports a distance past the cutoff as k + 1, as we do.
        normalise=lambda grid: np.minimum(np.asarray(grid, dtype=np.int64), k + 1).tolist(),
    )


def _join(corpus: list[str], k: int) -> Workload:
    n = len(corpus)

    def pairs_of_grid(grid: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        grid = torch.as_tensor(np.asarray(grid, dtype=np.int64))  # rapidfuzz's: uint32
        close = torch.triu(grid <= k, diagonal=1)
        i, j = close.nonzero(as_tuple=True)
        return i, j, grid[i, j].long()

    def dense_grid() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return pairs_of_grid(edit_distance_pairwise(corpus, corpus, max_distance=k))

    def rapidfuzz_grid() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        levenshtein = peer("rapidfuzz.distance").Levenshtein
        grid = peer("rapidfuzz.process").cdist(
            corpus, corpus, scorer=levenshtein.distance, score_cutoff=k, workers=-1
        )
        return pairs_of_grid(grid)

    started_ray = []  # the Ray this workload started, if any: stopped when it is timed

    def on_local_ray() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ray = peer("ray")
        if not ray.is_initialized():
            ray.init(num_cpus=all_threads(), include_dashboard=False, log_to_driver=False)
            started_ray.append(ray)
        return peer("torch_mt.ray").similarity_join(corpus, max_distance=k)

    def stop_ray() -> None:
        for ray in started_ray:
            ray.shutdown()
        started_ray.clear()

    return Workload(
        name=f"similarity_join max_distance={k}, {n} strings",
        description=f"self-join of {n} strings of 20-60 characters, half near-duplicates "
        f"(1-3 edits) of the other half: every pair within {k}",
        ops=("edit_distance_join",),
        arms=[
            Arm(
                f"dense grid with the cutoff + filter, torch_mt {all_threads()} threads",
                dense_grid,
                threads=all_threads(),
            ),
            Arm(
                f"dense rapidfuzz.process.cdist(score_cutoff={k}, workers=-1) + filter",
                rapidfuzz_grid,
                requires=("rapidfuzz",),
            ),
            Arm(
                f"torch_mt.ray on a local Ray, {all_threads()} CPUs",
                on_local_ray,
                requires=("ray",),
            ),
        ],
        torch_mt=lambda: similarity_join(corpus, max_distance=k),
        normalise=lambda pairs: [part.tolist() for part in pairs],
        finish=stop_ray,
    )


def _near_duplicates(count: int, rng: random.Random) -> list[str]:
    """Half random strings, half copies of them with 1-3 random edits."""
    originals = random_sequences(count // 2, 20, 60, 1000, rng)

    def edited(tokens: list[int]) -> list[int]:
        tokens = list(tokens)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(tokens))
            kind = rng.randrange(3)
            if kind == 0:
                tokens[at] = rng.randrange(1000)
            elif kind == 1:
                del tokens[at]
            else:
                tokens.insert(at, rng.randrange(1000))
        return tokens

    copies = [edited(rng.choice(originals)) for _ in range(count - count // 2)]
    return as_text(originals + copies)
