"""Specs of the COCO mask operators (ops/detection/coco_rle_decode.cpp, coco_mask_iou.cpp), checked
against pycocotools' maskUtils and a plain RLE-string decoder
(rle_reference.py); coco_evaluate(iou_type="segm") itself is checked
against pycocotools in tests/test_coco_segm.py."""

from __future__ import annotations

import torch
from hypothesis import strategies as st
from torch import Tensor

from ...testing import LAYOUTS, BadInput, OpSpec, with_layout
from .offsets import offsets_of
from .rle_reference import (
    coco_mask_iou_loop,
    coco_rle_area_bbox_loop,
    coco_rle_decode_loop,
    coco_rle_encode_loop,
    coco_rle_from_polygons_loop,
    coco_rle_from_strings_loop,
)
from .spec import _replaced


def _random_runs(generator: torch.Generator, pixels: int, cuts: int) -> list:
    """Runs covering ``pixels`` from sorted random cuts: zero-length runs,
    odd and even run counts (rleToBbox drops an odd last run)."""
    points = torch.randint(0, pixels + 1, (cuts,), generator=generator).sort().values.tolist()
    bounds = [0] + points + [pixels]
    return [b - a for a, b in zip(bounds, bounds[1:])]


def _maybe_spans(draw: st.DrawFn, counts: Tensor, offsets: Tensor) -> tuple[Tensor, Tensor]:
    """The same RLEs as offsets, or as spans [N, 2] into counts with a gap
    before each RLE and the RLEs in reverse order."""
    if not draw(st.booleans()):
        return counts, offsets
    pieces, spans, at = [], [], 0
    for i in reversed(range(len(offsets) - 1)):
        piece = counts[offsets[i] : offsets[i + 1]]
        pieces += [torch.tensor([7], dtype=torch.int64), piece]
        spans.append([at + 1, at + 1 + len(piece)])
        at += 1 + len(piece)
    spans.reverse()
    packed = torch.cat(pieces) if pieces else counts[:0]
    return packed, torch.tensor(spans, dtype=torch.int64).reshape(-1, 2)


@st.composite
def coco_rle_from_strings_args(draw: st.DrawFn, large: bool = False) -> tuple:
    from pycocotools import mask as mask_utils

    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    items = draw(st.integers(300, 500) if large else st.integers(0, 5))
    strings = []
    for _ in range(items):
        h, w = (int(v) for v in torch.randint(1, 40, (2,), generator=generator))
        density = float(torch.rand(1, generator=generator))
        mask = (torch.rand(h, w, generator=generator) < density).numpy().astype("uint8")
        strings.append(mask_utils.encode(mask.copy(order="F"))["counts"])
    chars = torch.frombuffer(bytearray(b"".join(strings)), dtype=torch.uint8) if strings else None
    chars = chars if chars is not None else torch.zeros(0, dtype=torch.uint8)
    return with_layout(chars, draw(st.sampled_from(LAYOUTS))), offsets_of(list(map(len, strings)))


def coco_rle_from_strings_bad_inputs(args: tuple) -> list[BadInput]:
    op = "mt::coco_rle_from_strings"
    chars, offsets = args
    cases = [
        BadInput(
            "int8 characters",
            (chars.to(torch.int8), offsets),
            rf"{op}: argument 'chars' must be uint8, got int8",
            error=TypeError,
        ),
        BadInput(
            "offsets past the characters",
            (chars, torch.cat([offsets[:-1], offsets[-1:] + 1])),
            rf"{op}: char_offsets\[-1\] must be the number of characters"
            if len(offsets) > 1
            else rf"{op}: char_offsets\[0\] must be 0",
        ),
    ]
    if len(chars) > 0:
        bad = chars.clone()
        bad[-1] = ord("~")
        cases.append(BadInput("a '~'", (bad, offsets), rf"{op}: item \d+ is not a COCO RLE string"))
    return cases


@st.composite
def coco_rle_from_polygons_args(draw: st.DrawFn, large: bool = False) -> tuple:
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    items = draw(st.integers(200, 300) if large else st.integers(0, 4))
    integer = draw(st.booleans())
    coordinates, polygon_lengths, item_polygons, sizes = [], [], [], []
    for _ in range(items):
        h, w = (int(v) for v in torch.randint(1, 30, (2,), generator=generator))
        sizes.append([h, w])
        parts = int(torch.randint(1, 4, (1,), generator=generator))
        item_polygons.append(parts)
        for _ in range(parts):
            points = int(torch.randint(3, 8, (1,), generator=generator))
            xy = torch.rand(points, 2, generator=generator, dtype=torch.float64) * 38 - 4
            xy = xy.round() if integer else xy
            if points > 3 and bool(torch.rand(1, generator=generator) < 0.3):
                xy[1] = xy[0]  # a repeated vertex
            coordinates += xy.flatten().tolist()
            polygon_lengths.append(2 * points)
    return (
        with_layout(torch.tensor(coordinates, dtype=torch.float64), draw(st.sampled_from(LAYOUTS))),
        offsets_of(polygon_lengths),
        offsets_of(item_polygons),
        torch.tensor(sizes, dtype=torch.int64).reshape(-1, 2),
    )


def coco_rle_from_polygons_bad_inputs(args: tuple) -> list[BadInput]:
    op = "mt::coco_rle_from_polygons"
    coordinates, polygon_offsets, annotation_offsets, sizes = args
    cases = [
        BadInput(
            "float32 coordinates",
            _replaced(args, 0, coordinates.float()),
            rf"{op}: argument 'coordinates' must be float64, got float32",
            error=TypeError,
        ),
        BadInput(
            "one size too many",
            _replaced(args, 3, torch.cat([sizes, sizes.new_ones(1, 2)])),
            rf"{op}: argument 'sizes' has size {len(sizes) + 1} in dimension 0",
        ),
    ]
    if len(coordinates) > 0:
        far = coordinates.clone()
        far[0] = float("nan")
        cases.append(
            BadInput("NaN coordinate", _replaced(args, 0, far), rf"{op}: coordinates\[0\]")
        )
    if len(sizes) > 0:
        negative = sizes.clone()
        negative[0, 1] = -1
        cases.append(BadInput("negative width", _replaced(args, 3, negative), rf"{op}: sizes\[0\]"))
    return cases


def _packed_runs(generator: torch.Generator, count: int, pixels_of) -> tuple[Tensor, Tensor]:
    runs, lengths = [], []
    for i in range(count):
        item = _random_runs(
            generator, pixels_of(i), int(torch.randint(0, 9, (1,), generator=generator))
        )
        runs += item
        lengths.append(len(item))
    return torch.tensor(runs, dtype=torch.int64), offsets_of(lengths)


@st.composite
def coco_rle_area_bbox_args(draw: st.DrawFn, large: bool = False) -> tuple:
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    items = draw(st.integers(300, 500) if large else st.integers(0, 6))
    sizes = torch.randint(1, 20, (items, 2), generator=generator)
    counts, offsets = _packed_runs(generator, items, lambda i: int(sizes[i].prod()))
    counts, offsets = _maybe_spans(draw, counts, offsets)
    return with_layout(counts, draw(st.sampled_from(LAYOUTS))), offsets, sizes


def coco_rle_area_bbox_bad_inputs(args: tuple) -> list[BadInput]:
    op = "mt::coco_rle_area_bbox"
    counts, offsets, sizes = args
    cases = [
        BadInput(
            "int32 runs",
            (counts.int(), offsets, sizes),
            rf"{op}: argument 'counts' must be int64, got int32",
            error=TypeError,
        ),
    ]
    if len(counts) > 0:
        negative = counts.clone()
        negative[0] = -1
        cases.append(
            BadInput("a negative run", (negative, offsets, sizes), rf"{op}: counts\[0\] = -1")
        )
        longer = counts.clone()
        longer[0] += 1
        if offsets.dim() == 1:
            cases.append(
                BadInput(
                    "runs past the size", (longer, offsets, sizes), rf"{op}: RLE 0's runs cover"
                )
            )
        else:
            past = offsets.clone()
            past[0, 1] = len(counts) + 1
            cases.append(
                BadInput("a span past the runs", (counts, past, sizes), rf"{op}: offsets\[0\]")
            )
    return cases


@st.composite
def coco_mask_iou_args(draw: st.DrawFn, large: bool = False) -> tuple:
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    pixels = draw(st.integers(1, 60))
    detections = draw(st.integers(30, 50) if large else st.integers(0, 4))
    truths = draw(st.integers(30, 50) if large else st.integers(0, 4))
    pairs = (
        draw(st.integers(400, 800) if large else st.integers(0, 8)) if detections * truths else 0
    )
    dt_counts, dt_offsets = _maybe_spans(
        draw, *_packed_runs(generator, detections, lambda i: pixels)
    )
    gt_counts, gt_offsets = _packed_runs(generator, truths, lambda i: pixels)
    layout = st.sampled_from(LAYOUTS)
    return (
        with_layout(dt_counts, draw(layout)),
        dt_offsets,
        gt_counts,
        gt_offsets,
        with_layout(torch.rand(truths, generator=generator) < 0.3, draw(layout)),
        torch.randint(0, max(detections, 1), (pairs,), generator=generator),
        torch.randint(0, max(truths, 1), (pairs,), generator=generator),
    )


def coco_mask_iou_bad_inputs(args: tuple) -> list[BadInput]:
    op = "mt::coco_mask_iou"
    dt_counts, dt_offsets, gt_counts, gt_offsets, crowd, pair_dt, pair_gt = args
    cases = [
        BadInput(
            "float crowd flags",
            _replaced(args, 4, crowd.double()),
            rf"{op}: argument 'gt_crowd' must be bool, got float64",
            error=TypeError,
        ),
        BadInput(
            "pairs of two lengths",
            _replaced(args, 6, torch.cat([pair_gt, pair_gt.new_zeros(1)])),
            rf"{op}: argument 'pair_gt' has size {len(pair_gt) + 1} in dimension 0",
        ),
    ]
    if len(pair_dt) > 0:
        past = pair_dt.clone()
        past[0] = len(dt_offsets) - (1 if dt_offsets.dim() == 1 else 0)
        cases.append(
            BadInput(
                "an index past the detections", _replaced(args, 5, past), rf"{op}: pair_dt\[0\]"
            )
        )
    return cases


@st.composite
def coco_rle_encode_args(draw: st.DrawFn, large: bool = False) -> tuple:
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    items = draw(st.integers(100, 200) if large else st.integers(0, 5))
    height, width = draw(st.integers(1, 30)), draw(st.integers(1, 30))
    density = draw(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]))
    masks = torch.rand(items, height, width, generator=generator) < density
    if draw(st.booleans()):
        masks = masks.to(torch.uint8) * torch.randint(1, 255, masks.shape, generator=generator)
        masks = masks.to(torch.uint8)
    return (with_layout(masks, draw(st.sampled_from(LAYOUTS))),)


def coco_rle_encode_bad_inputs(args: tuple) -> list[BadInput]:
    op = "mt::coco_rle_encode"
    (masks,) = args
    return [
        BadInput(
            "float masks",
            (masks.float(),),
            rf"{op}: argument 'masks' must be bool or uint8, got float32",
            error=TypeError,
        ),
        BadInput("2-D masks", (masks.reshape(-1, masks.shape[-1]),), rf"{op}: argument 'masks'"),
    ]


@st.composite
def coco_rle_decode_args(draw: st.DrawFn, large: bool = False) -> tuple:
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    items = draw(st.integers(100, 200) if large else st.integers(0, 5))
    height, width = draw(st.integers(1, 25)), draw(st.integers(1, 25))
    counts, offsets = _packed_runs(generator, items, lambda i: height * width)
    counts, offsets = _maybe_spans(draw, counts, offsets)
    return with_layout(counts, draw(st.sampled_from(LAYOUTS))), offsets, height, width


def coco_rle_decode_bad_inputs(args: tuple) -> list[BadInput]:
    op = "mt::coco_rle_decode"
    counts, offsets, height, width = args
    cases = [
        BadInput("negative height", (counts, offsets, -1, width), rf"{op}: arguments 'height' and"),
        BadInput(
            "float runs",
            (counts.double(), offsets, height, width),
            rf"{op}: argument 'counts' must be int64, got float64",
            error=TypeError,
        ),
    ]
    if len(counts) > 0 and offsets.dim() == 1:
        cases.append(
            BadInput(
                "a size the runs do not cover",
                (counts, offsets, height + 1, width),
                rf"{op}: RLE \d+'s runs cover",
            )
        )
    return cases


COCO_RLE_SPECS = [
    OpSpec(
        name="coco_rle_from_strings",
        reference=coco_rle_from_strings_loop,
        sample_args=coco_rle_from_strings_args,
        bad_inputs=coco_rle_from_strings_bad_inputs,
    ),
    OpSpec(
        name="coco_rle_from_polygons",
        reference=coco_rle_from_polygons_loop,
        sample_args=coco_rle_from_polygons_args,
        bad_inputs=coco_rle_from_polygons_bad_inputs,
    ),
    OpSpec(
        name="coco_rle_area_bbox",
        reference=coco_rle_area_bbox_loop,
        sample_args=coco_rle_area_bbox_args,
        bad_inputs=coco_rle_area_bbox_bad_inputs,
    ),
    OpSpec(
        name="coco_mask_iou",
        reference=coco_mask_iou_loop,
        sample_args=coco_mask_iou_args,
        bad_inputs=coco_mask_iou_bad_inputs,
    ),
    OpSpec(
        name="coco_rle_encode",
        reference=coco_rle_encode_loop,
        sample_args=coco_rle_encode_args,
        bad_inputs=coco_rle_encode_bad_inputs,
    ),
    OpSpec(
        name="coco_rle_decode",
        reference=coco_rle_decode_loop,
        sample_args=coco_rle_decode_args,
        bad_inputs=coco_rle_decode_bad_inputs,
    ),
]
