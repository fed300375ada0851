"""mt::_coco_cell_order, coco_evaluate's packing (ops/detection/coco_cell_order.cpp),
against the stable sorts it replaced: the kept items by cell, by score
descending, by a secondary key, by index; each cell cut to its first
``keep_first``. Integers: the same order at any thread count. And the dict
pass before it (torch_mt._records.columns) against Python's reading of each value."""

from __future__ import annotations

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import torch_mt


def reference_order(cells, num_cells, kept, scores, secondary, keep_first):
    """pycocotools' order by stable sorts, least significant key first."""
    order = kept.nonzero().flatten()
    keys = ([secondary] if secondary is not None else []) + (
        [-scores] if scores is not None else []
    )
    for key in keys + [cells]:
        order = order[torch.sort(key[order], stable=True).indices]
    sorted_cells = cells[order]
    counts = torch.bincount(sorted_cells, minlength=num_cells) if len(order) else None
    if keep_first >= 0:
        starts = torch.searchsorted(sorted_cells, sorted_cells)
        keep = torch.arange(len(order)) - starts < keep_first
        order, sorted_cells = order[keep], sorted_cells[keep]
        counts = torch.bincount(sorted_cells, minlength=num_cells) if len(order) else None
    if counts is None:
        counts = torch.zeros(num_cells, dtype=torch.int64)
    return order, torch.cat([torch.zeros(1, dtype=torch.int64), counts.cumsum(0)])


@settings(max_examples=80)
@given(
    data=st.data(),
    count=st.integers(0, 300),
    num_cells=st.integers(1, 40),
    with_scores=st.booleans(),
    with_secondary=st.booleans(),
    keep_first=st.sampled_from([-1, 0, 1, 3, 100]),
    threads=st.sampled_from([1, 2, 3]),
)
def test_cell_order_equals_the_stable_sorts(
    data, count, num_cells, with_scores, with_secondary, keep_first, threads
):
    integers = st.lists(st.integers(0, num_cells - 1), min_size=count, max_size=count)
    cells = torch.tensor(data.draw(integers), dtype=torch.int64)
    kept = torch.tensor(data.draw(st.lists(st.booleans(), min_size=count, max_size=count)))
    # Few distinct scores (ties), -0.0 beside 0.0, huge and tiny ones.
    values = st.sampled_from([0.0, -0.0, 0.5, 1.0, 0.25, 1e300, -1e-300, 0.5000000000000001])
    scores = torch.tensor(data.draw(st.lists(values, min_size=count, max_size=count)))
    scores = scores.to(torch.float64) if with_scores else None
    secondary = torch.tensor(data.draw(st.lists(st.integers(0, 3), min_size=count, max_size=count)))
    secondary = secondary.to(torch.int64) if with_secondary else None
    if not count:
        cells, kept = cells.reshape(0), kept.reshape(0).bool()
        scores = scores.reshape(0).double() if with_scores else None
        secondary = secondary.reshape(0).long() if with_secondary else None
    strided = st.booleans()
    if data.draw(strided) and count:  # non-contiguous inputs
        cells = torch.stack([cells, cells], 1)[:, 0]
    with torch_mt.num_threads(threads):
        order, offsets = torch.ops.mt._coco_cell_order(
            cells, num_cells, kept, scores, secondary, keep_first
        )
    expected_order, expected_offsets = reference_order(
        cells, num_cells, kept, scores, secondary, keep_first
    )
    assert order.tolist() == expected_order.tolist()
    assert offsets.tolist() == expected_offsets.tolist()


def test_bad_cells_and_nan_scores_are_named():
    cells = torch.tensor([0, 5])
    kept = torch.tensor([True, True])
    with pytest.raises(ValueError, match=r"_coco_cell_order: cells\[1\] = 5 is not a cell index"):
        torch.ops.mt._coco_cell_order(cells, 3, kept)
    scores = torch.tensor([0.5, float("nan")], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"scores\[1\] is NaN"):
        torch.ops.mt._coco_cell_order(torch.tensor([0, 1]), 3, kept, scores)
    # An item not kept is not read: its cell may be anything.
    order, offsets = torch.ops.mt._coco_cell_order(cells, 3, torch.tensor([True, False]))
    assert order.tolist() == [0] and offsets.tolist() == [0, 1, 1, 1]
    with pytest.raises(TypeError, match="cells"):
        torch.ops.mt._coco_cell_order(cells.double(), 3, kept)


@settings(max_examples=10, deadline=None)
@given(
    first_bad=st.integers(0, 99_999),
    second_bad=st.integers(0, 99_999),
    nan_first=st.booleans(),
    threads=st.sampled_from([1, 2, 3]),
)
def test_long_lists_order_and_name_the_lowest_bad_item(first_bad, second_bad, nan_first, threads):
    """Lists long enough that each cell's items are sorted on the pool: a good
    list's order equals the stable sorts', and the error names the lowest bad
    item, at any thread count."""
    count, num_cells = 100_000, 997
    generator = torch.Generator().manual_seed(first_bad)
    cells = torch.randint(0, num_cells, (count,), generator=generator)
    kept = torch.rand(count, generator=generator) < 0.9
    scores = torch.rand(count, generator=generator, dtype=torch.float64).round(decimals=2)
    with torch_mt.num_threads(threads):
        order, offsets = torch.ops.mt._coco_cell_order(cells, num_cells, kept, scores, None, 100)
    expected_order, expected_offsets = reference_order(cells, num_cells, kept, scores, None, 100)
    assert order.tolist() == expected_order.tolist()
    assert offsets.tolist() == expected_offsets.tolist()
    assume(first_bad != second_bad)  # one item bad both ways names its cell
    kept[[first_bad, second_bad]] = True
    cells[first_bad if not nan_first else second_bad] = num_cells
    scores[second_bad if not nan_first else first_bad] = float("nan")
    lowest = min(first_bad, second_bad)
    named = (
        rf"scores\[{lowest}\] is NaN"
        if (lowest == first_bad) == nan_first
        else rf"cells\[{lowest}\] = {num_cells} is not"
    )
    with torch_mt.num_threads(threads), pytest.raises(ValueError, match=named):
        torch.ops.mt._coco_cell_order(cells, num_cells, kept, scores)


@settings(max_examples=60)
@given(
    known=st.sets(st.integers(-3, 3000) | st.integers(-(2**40), 2**40), max_size=40),
    ids=st.lists(st.integers(-10, 3010) | st.integers(-(2**40), 2**40), max_size=60),
)
def test_id_indices_by_table_or_search_equal_a_dict(known, ids):
    """records.indices (a table lookup for COCO's small ids, else a binary
    search): each id's index among the sorted known ids, and whether known."""
    from torch_mt.detection.coco.records import indices

    known = sorted(known)
    where = {value: position for position, value in enumerate(known)}
    index, found = indices(torch.tensor(ids, dtype=torch.int64), known)
    assert found.tolist() == [value in where for value in ids]
    assert [i for i, f in zip(index.tolist(), found.tolist()) if f] == [
        where[value] for value in ids if value in where
    ]


# ---- the dict pass (torch_mt._records.columns, ops/detection/python_records.cpp)


class _Truthy:
    """Its truth runs Python code: the pool's workers must not ask it."""

    def __bool__(self):
        return True


class _Id(int):
    """An int subclass: Python code could stand behind its value."""


#: Values a record's field may hold: the regular ones and those the C pass
#: leaves to the Python path (subclasses, ints past int64, objects).
_VALUES = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([2**63, -(2**64), True, False, None, _Id(3), _Truthy(), "", "x", [], [1], {}]),
    st.floats(allow_nan=False, width=64),
)
_BOXES = st.one_of(
    st.lists(
        st.one_of(st.floats(allow_nan=False), st.integers(-(2**53), 2**53)), min_size=4, max_size=4
    ),
    st.tuples(
        st.floats(allow_nan=False), st.floats(allow_nan=False), st.integers(0, 9), st.booleans()
    ),
    st.lists(st.floats(allow_nan=False), min_size=3, max_size=3),
    _VALUES,
)


def _python_read(value, kind):
    """What the C pass reads of one value, by Python's rules; None where it
    leaves the record to the Python path."""
    exact_int = type(value) is int and -(2**63) <= value < 2**63
    if kind == "i":
        return int(value) if exact_int or type(value) is bool else None
    if kind == "r":
        return float(value) if type(value) is float or exact_int or type(value) is bool else None
    if kind == "t":
        plain = value is None or type(value) in (bool, int, float, list, tuple, dict, str)
        return bool(value) if plain else None
    if type(value) not in (list, tuple) or len(value) != 4:
        return None
    numbers = [_python_read(number, "r") for number in value]
    return None if None in numbers else numbers


@settings(max_examples=60)
@given(
    records=st.lists(
        st.fixed_dictionaries(
            {"image_id": _VALUES, "score": _VALUES, "bbox": _BOXES, "iscrowd": _VALUES},
            optional={"category_id": _VALUES, 7: st.just(1), "other": _VALUES},
        ),
        max_size=60,
    ),
    regular_only=st.booleans(),
    threads=st.sampled_from([1, 2, 3]),
)
def test_the_dict_pass_reads_what_python_reads(records, regular_only, threads):
    # The records are read on the pool while the caller holds the GIL: only
    # exact built-in values; anything else (a subclass, an int past int64,
    # an object whose truth is Python code, a missing key) gives None, and
    # the Python path then reads or names it.
    keys, kinds = ("image_id", "score", "bbox", "iscrowd"), "irbt"
    expected = [
        [_python_read(record[key], kind) for key, kind in zip(keys, kinds)] for record in records
    ]
    if regular_only:  # mostly regular batches, so the columns get compared too
        kept = [i for i, row in enumerate(expected) if None not in row]
        records, expected = [records[i] for i in kept], [expected[i] for i in kept]
        # Past the pass's grain (a few hundred records), so that chunks run on
        # every thread; the same dicts again.
        copies = 1 + 2000 // max(1, len(records))
        records, expected = records * copies, expected * copies
    with torch_mt.num_threads(threads):
        raw = torch_mt._records.columns(records, keys, kinds)
        if regular_only:  # one irregular record, in the last chunk
            last = {"image_id": 1, "score": 0.5, "bbox": [0, 0, 1, 1], "iscrowd": _Truthy()}
            assert torch_mt._records.columns([*records, last], keys, kinds) is None
    if any(None in row for row in expected):
        assert raw is None
        return
    assert raw is not None
    image_ids = torch.frombuffer(raw[0], dtype=torch.int64) if records else torch.zeros(0)
    scores = torch.frombuffer(raw[1], dtype=torch.float64) if records else torch.zeros(0)
    boxes = torch.frombuffer(raw[2], dtype=torch.float64) if records else torch.zeros(0)
    crowds = torch.frombuffer(raw[3], dtype=torch.uint8) if records else torch.zeros(0)
    assert image_ids.tolist() == [row[0] for row in expected]
    assert scores.tolist() == [row[1] for row in expected]  # bitwise: no NaN drawn
    assert boxes.tolist() == [number for row in expected for number in row[2]]
    assert crowds.tolist() == [int(row[3]) for row in expected]
