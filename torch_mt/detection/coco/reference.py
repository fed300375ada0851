"""pycocotools' evaluateImg and accumulate loops restated on the packed
tensors, written independently of the kernels: the COCO operators' references."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor


def coco_match_loop(
    dt_boxes: Tensor,
    dt_areas: Tensor,
    dt_offsets: Tensor,
    gt_boxes: Tensor,
    gt_areas: Tensor,
    gt_crowd: Tensor,
    gt_ignore: Tensor,
    gt_ids: Tensor,
    gt_offsets: Tensor,
    area_ranges: Tensor,
    iou_thresholds: Tensor,
    ious: Optional[Tensor] = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """``COCOeval.evaluateImg`` per cell and area range, as pycocotools'
    Python loop (cells and packing: ``torch_mt.coco_match``), on Python floats."""
    dt_b, gt_b = dt_boxes.tolist(), gt_boxes.tolist()
    dt_a, gt_a = dt_areas.tolist(), gt_areas.tolist()
    crowd, ignore, ids = gt_crowd.tolist(), gt_ignore.tolist(), gt_ids.tolist()
    dt_o, gt_o = dt_offsets.tolist(), gt_offsets.tolist()
    ranges, thresholds = area_ranges.tolist(), iou_thresholds.tolist()
    cells, count = len(dt_o) - 1, len(dt_b)
    given, start = (None if ious is None else ious.tolist()), 0
    matched = torch.zeros(len(ranges), len(thresholds), count, dtype=torch.bool)
    ignored = torch.zeros(len(ranges), len(thresholds), count, dtype=torch.bool)
    regular = torch.zeros(len(ranges), cells, dtype=torch.int64)
    for c in range(cells):
        dts, gts = range(dt_o[c], dt_o[c + 1]), range(gt_o[c], gt_o[c + 1])
        if given is None:
            cell_ious = [[_box_iou(dt_b[d], gt_b[g], crowd[g]) for g in gts] for d in dts]
        else:  # the cell's matrix, row-major, after the previous cells'
            width = len(gts)
            rows = range(start, start + len(dts) * width, width) if width else [start] * len(dts)
            cell_ious = [given[row : row + width] for row in rows]
            start += len(dts) * width
        for a, (low, high) in enumerate(ranges):
            gt_ig = [ignore[g] or gt_a[g] < low or gt_a[g] > high for g in gts]
            regular[a, c] = gt_ig.count(False)
            order = sorted(range(len(gts)), key=lambda j: gt_ig[j])  # stable: regular first
            for t, threshold in enumerate(thresholds):
                taken = [False] * len(gts)
                for d_pos, d in enumerate(dts):
                    best, m = min(threshold, 1 - 1e-10), -1
                    for j in order:
                        if taken[j] and not crowd[gts[j]]:
                            continue
                        if m > -1 and not gt_ig[m] and gt_ig[j]:
                            break
                        if cell_ious[d_pos][j] < best:
                            continue
                        best, m = cell_ious[d_pos][j], j
                    gt_id = ids[gts[m]] if m > -1 else 0
                    outside = dt_a[d] < low or dt_a[d] > high
                    matched[a, t, d] = gt_id != 0
                    ignored[a, t, d] = (m > -1 and gt_ig[m]) or (gt_id == 0 and outside)
                    if m > -1:
                        taken[m] = True
    return matched, ignored, regular


def _box_iou(d: list, g: list, crowd: bool) -> float:
    """maskApi.c's bbIou for one pair, in its order of operations."""
    w = min(d[2] + d[0], g[2] + g[0]) - max(d[0], g[0])
    if w <= 0:
        return 0.0
    h = min(d[3] + d[1], g[3] + g[1]) - max(d[1], g[1])
    if h <= 0:
        return 0.0
    intersection = w * h
    union = d[2] * d[3] if crowd else d[2] * d[3] + g[2] * g[3] - intersection
    return intersection / union


def coco_oks_exponents_loop(
    dt_keypoints: Tensor,
    gt_keypoints: Tensor,
    gt_boxes: Tensor,
    gt_areas: Tensor,
    pair_dt: Tensor,
    pair_gt: Tensor,
    sigmas: Tensor,
) -> tuple[Tensor, Tensor]:
    """``COCOeval.computeOks``' exponents per listed pair, on Python floats
    (layout: ``torch_mt.coco_oks_exponents``)."""
    dt_k, gt_k, boxes = dt_keypoints.tolist(), gt_keypoints.tolist(), gt_boxes.tolist()
    areas, sigma = gt_areas.tolist(), sigmas.tolist()
    # NumPy squares an array (``** 2``) by multiplying, Python's ** 2 calls
    # pow(), which can differ in the last bit: multiply, as computeOks does.
    variances = [(s * 2) * (s * 2) for s in sigma]
    rows, counts = [], []
    for i, j in zip(pair_dt.tolist(), pair_gt.tolist()):
        g, d, (bx, by, bw, bh) = gt_k[j], dt_k[i], boxes[j]
        visible = [k for k, point in enumerate(g) if point[2] > 0]
        x0, x1, y0, y1 = bx - bw, bx + bw * 2, by - bh, by + bh * 2
        row = []
        for k in visible or range(len(sigma)):
            if visible:
                dx, dy = d[k][0] - g[k][0], d[k][1] - g[k][1]
            else:
                dx = max(0.0, x0 - d[k][0]) + max(0.0, d[k][0] - x1)
                dy = max(0.0, y0 - d[k][1]) + max(0.0, d[k][1] - y1)
            row.append((dx * dx + dy * dy) / variances[k] / (areas[j] + 2.0**-52) / 2)
        counts.append(len(row))
        rows.append(row + [float("inf")] * (len(sigma) - len(row)))
    exponents = torch.tensor(rows, dtype=torch.float64).reshape(len(rows), len(sigma))
    return exponents, torch.tensor(counts, dtype=torch.int64)


def coco_accumulate_loop(
    dt_scores: Tensor,
    matched: Tensor,
    ignored: Tensor,
    dt_offsets: Tensor,
    regular: Tensor,
    num_categories: int,
    recall_thresholds: Tensor,
    max_detections: list,
) -> tuple[Tensor, Tensor, Tensor]:
    """``COCOeval.accumulate`` as pycocotools writes it, in NumPy, on the
    packed arrays (``torch_mt.coco_accumulate``)."""
    import numpy as np

    scores_np, offsets = dt_scores.numpy(), dt_offsets.tolist()
    matched_np, ignored_np, regular_np = matched.numpy(), ignored.numpy(), regular.numpy()
    rec_thrs = recall_thresholds.numpy()
    areas, thresholds = matched.shape[0], matched.shape[1]
    images = (len(offsets) - 1) // num_categories
    R, M = len(rec_thrs), len(max_detections)
    precision = -np.ones((thresholds, R, num_categories, areas, M))
    recall = -np.ones((thresholds, num_categories, areas, M))
    scores = -np.ones((thresholds, R, num_categories, areas, M))
    for k in range(num_categories):
        for a in range(areas):
            for m, max_det in enumerate(max_detections):
                cells = [k * images + i for i in range(images)]
                firsts = [
                    range(offsets[c], min(offsets[c + 1], offsets[c] + max_det)) for c in cells
                ]
                picked = np.array([d for rows in firsts for d in rows], dtype=np.int64)
                dt_scores_all = scores_np[picked]
                inds = np.argsort(-dt_scores_all, kind="mergesort")
                sorted_scores = dt_scores_all[inds]
                dtm = matched_np[a][:, picked][:, inds]
                dt_ig = ignored_np[a][:, picked][:, inds]
                npig = int(sum(regular_np[a, c] for c in cells))
                if npig == 0:
                    continue
                tps = np.logical_and(dtm, np.logical_not(dt_ig))
                fps = np.logical_and(np.logical_not(dtm), np.logical_not(dt_ig))
                tp_sum = np.cumsum(tps, axis=1).astype(dtype=float)
                fp_sum = np.cumsum(fps, axis=1).astype(dtype=float)
                for t, (tp, fp) in enumerate(zip(tp_sum, fp_sum)):
                    nd = len(tp)
                    rc = tp / npig
                    pr = (tp / (fp + tp + np.spacing(1))).tolist()
                    q, ss = [0.0] * R, [0.0] * R
                    recall[t, k, a, m] = rc[-1] if nd else 0
                    for i in range(nd - 1, 0, -1):
                        if pr[i] > pr[i - 1]:
                            pr[i - 1] = pr[i]
                    for ri, pi in enumerate(np.searchsorted(rc, rec_thrs, side="left")):
                        if pi >= nd:
                            break
                        q[ri], ss[ri] = pr[pi], sorted_scores[pi]
                    precision[t, :, k, a, m] = q
                    scores[t, :, k, a, m] = ss
    return tuple(torch.from_numpy(x) for x in (precision, recall, scores))
