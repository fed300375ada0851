"""COCO JSON files (or their bytes) read natively into the columns that
records.py packs, with no Python object per record: ``mt::_coco_json_columns``
(ops/detection/coco_json.cpp, simdjson on the pool).

``read_dataset`` gives a dict standing in for the dataset (``images``,
``categories`` and ``annotations`` as :class:`JsonColumns`); ``read_results``
gives the results as :class:`JsonColumns`, or None where ``loadRes`` would
take a branch this reader does not cover (segmentation results unless
asked for, keypoint results of unknown length, a first bbox that is not 4
numbers): the caller then reads the file with Python's json, which gives
the same bits, slower. Segmentations are read as rows, texts and numbers
(coco_json_segmentation.cpp), which masks.py turns into RLEs.
"""

from __future__ import annotations

import errno
import os
import warnings
from dataclasses import dataclass
from typing import Optional, Union

import torch
from torch import Tensor

Source = Union[str, os.PathLike, bytes, bytearray]

#: A list longer than this is cut into chunks of about this many bytes,
#: parsed on the pool (the op's default; the tests make it small to cut often).
CHUNK_BYTES = 1 << 20

#: The ground truth's annotation fields and their kinds (the same letters
#: here, ops/detection/coco_json_records.h, and for torch_mt._records,
#: which records.py uses on dicts).
TRUTH_FIELDS = (
    ("id", "i"),
    ("image_id", "i"),
    ("category_id", "i"),
    ("bbox", "b"),
    ("area", "r"),
    ("iscrowd", "t"),
)


@dataclass
class JsonColumns:
    """The records of one list of a JSON file, already read: each field's
    column by key (``t`` fields as bool). ``result_kind`` (results only):
    the ``loadRes`` branch the first record takes, as records.result_kind
    says it of dicts."""

    columns: dict[str, Tensor]
    count: int
    result_kind: Optional[str] = None

    def __len__(self) -> int:
        return self.count

    def column(self, key: str, what: str) -> Tensor:
        """A field's column; an optional one (read where present) must be
        there in every record, or the first that lacks it is named."""
        status = self.columns.get(key + "?")
        if status is not None and not bool((status == 1).all()):
            position = int((status != 1).nonzero()[0])
            if int(status[position]) == 0:
                raise ValueError(f"torch_mt.coco_evaluate: {what}[{position}] has no '{key}'")
            raise ValueError(f"torch_mt.coco_evaluate: {what}[{position}]['{key}'] must be an int")
        return self.columns[key]


def is_file(source: object) -> bool:
    return isinstance(source, (str, os.PathLike, bytes, bytearray))


def describe(source: Source, what: str) -> str:
    """How errors name a file: its path, or ``<dt bytes>``."""
    return f"<{what} bytes>" if isinstance(source, (bytes, bytearray)) else os.fspath(source)


def _read(source: Source, what: str, fields: list, list_numbers: int = 0) -> list[Tensor]:
    names = [f"{array}.{key}" for array, key, _ in fields]
    kinds = "".join(kind for _, _, kind in fields)
    text = None
    if isinstance(source, (bytes, bytearray)):
        text = _bytes_tensor(source)
    elif not os.path.isfile(source):  # as open() says it
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), os.fspath(source))
    return torch.ops.mt._coco_json_columns(
        describe(source, what), text, what, names, kinds, list_numbers, CHUNK_BYTES
    )


def _bytes_tensor(data: Union[bytes, bytearray]) -> Tensor:
    """The bytes as a uint8 tensor, not copied: the op copies them once, into
    the parser's padded buffer, and never writes to the tensor."""
    if not data:
        return torch.zeros(0, dtype=torch.uint8)  # frombuffer refuses an empty buffer
    with warnings.catch_warnings():
        # frombuffer warns that an immutable bytes object is not writable.
        warnings.simplefilter("ignore", UserWarning)
        return torch.frombuffer(data, dtype=torch.uint8)


def _unpack(fields: list, out: list[Tensor]) -> dict[str, dict[str, Tensor]]:
    """{array: {key: column, key + "?": status}} from the op's flat list; a
    segmentation (kind s) adds ``key.text``, ``key.numbers``, ``key.parts``."""
    columns: dict[str, dict[str, Tensor]] = {}
    position = 0
    for array, key, kind in fields:
        column = out[position]
        columns.setdefault(array, {})[key] = column.bool() if kind == "t" else column
        position += 1
        if kind.isupper():
            columns[array][key + "?"] = out[position]
            position += 1
        if kind.lower() == "s":
            for name in ("text", "numbers", "parts"):
                columns[array][f"{key}.{name}"] = out[position]
                position += 1
    return columns


def read_dataset(source: Source, keypoint_count: int = 0, segmentations: bool = False) -> dict:
    """The dataset's lists as :class:`JsonColumns`: ``images`` (``id``, and
    ``height``/``width`` where given: segmentation results need them),
    ``categories`` (``id``) and ``annotations`` (the fields
    records.ground_truth reads; with keypoints, ``num_keypoints`` and
    ``keypoints`` of ``keypoint_count`` triples; with ``segmentations``,
    each ``segmentation``). A list the file lacks is absent from the dict,
    as from ``json.load``'s."""
    fields = [("images", "id", "i"), ("categories", "id", "i")]
    fields += [("images", "height", "I"), ("images", "width", "I")]
    fields += [("annotations", key, kind) for key, kind in TRUTH_FIELDS]
    if keypoint_count:
        fields += [("annotations", "num_keypoints", "i"), ("annotations", "keypoints", "l")]
    if segmentations:
        fields += [("annotations", "segmentation", "S")]
    out = _read(source, "gt", fields, 3 * keypoint_count)
    present = out[-1].tolist()
    columns = _unpack(fields, out[:-1])
    arrays = list(dict.fromkeys(array for array, _, _ in fields))
    return {
        array: JsonColumns(columns[array], len(next(iter(columns[array].values()))))
        for array, here in zip(arrays, present)
        if here
    }


def read_results(
    source: Source, keypoint_count: int = 0, segmentations: bool = False
) -> Optional[JsonColumns]:
    """The results' columns (``image_id``, ``category_id``, ``score``, and
    ``bbox``, ``keypoints`` or, with ``segmentations``, ``segmentation``),
    or None for a branch of ``loadRes`` read the Python way (see the
    module's docstring)."""
    fields = [("", "image_id", "i"), ("", "category_id", "i"), ("", "score", "r")]
    fields += [("", "bbox", "B"), ("", "segmentation", "S" if segmentations else "T")]
    if keypoint_count:
        fields += [("", "keypoints", "L")]
    columns = _unpack(fields, _read(source, "dt", fields, 3 * keypoint_count)[:-1])[""]
    count = len(columns["score"])
    if count == 0:
        return JsonColumns(columns, 0, "bbox")
    first_box, first_segmentation = int(columns["bbox?"][0]), int(columns["segmentation?"][0])
    if first_box == 1:
        kind = "bbox"
    elif first_box == 0 and first_segmentation != 0 and segmentations:
        return JsonColumns(columns, count, "segmentation")  # masks.py checks each
    elif first_box == 0 and first_segmentation == 0 and keypoint_count:
        kind = "keypoints"
    else:  # a first bbox of another form ([] included), or segmentation results
        return None
    needed = [kind] + (["keypoints"] if keypoint_count and kind != "keypoints" else [])
    if not all(bool((columns[f"{key}?"] == 1).all()) for key in needed):
        # Read again with those fields required: the reader names the record.
        required = [
            (array, key, letter.lower() if key in needed else letter)
            for array, key, letter in fields
        ]
        _read(source, "dt", required, 3 * keypoint_count)
        raise AssertionError("unreachable: the required read raises")
    return JsonColumns(columns, count, kind)
