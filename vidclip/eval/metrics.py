"""Evaluation metrics for retrieval, moment retrieval and classification.

Plain functions over tensors / arrays / lists, independent of the training code, so results can
be recomputed from saved similarity matrices or prediction files.

Tie rule (retrieval and classification): ranks are *pessimistic* by default: a correct item ties
with a wrong one -> the wrong one ranks first (rank = 1 + number of wrong items scoring >= it).
CLIP4Clip's `compute_metrics` sorts and takes the first equal value, i.e. the optimistic rank
(1 + number of wrong items scoring strictly more); pass ``ties="optimistic"`` to match it. With
float scores from a trained model ties are rare and both agree; the pessimistic default keeps a
collapsed model (all scores equal) at chance instead of reporting 100% R@1.

Moment mAP follows the QVHighlights standalone evaluation (moment_detr `standalone_eval`): per query
the 10 best-scored windows, greedy matching in score order to the not-yet-matched ground-truth window
of highest IoU, VOC-style interpolated AP, averaged over queries, then over IoU 0.5:0.05:0.95.
One deliberate difference: a query with no predicted window counts as AP 0 (the official script
silently leaves it out of the average).
"""

from __future__ import annotations

from typing import Literal, Mapping, Sequence

import numpy as np
import torch

Ties = Literal["pessimistic", "optimistic"]

_RECALL_KS = (1, 5, 10)
_CHUNK_ELEMENTS = 1 << 22  # ~16 MB of fp32 scores compared at a time
MOMENT_IOU_THRESHOLDS = (0.3, 0.5, 0.7)
MAP_IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))  # 0.5:0.05:0.95


# ----------------------------------------------------------------------------- retrieval


def _targets(targets, scores, name, items):
    """The right column of each row of `scores` (N, C) as a LongTensor (N,), checked: one per row, in range."""
    n, c = scores.shape
    targets = torch.as_tensor(targets, device=scores.device).long().reshape(-1)
    if targets.numel() != n:
        raise ValueError(f"{name} has {targets.numel()} entries: {targets.numel()} {name} for {n} rows of scores")
    if n == 0:
        raise ValueError(f"no {items} to evaluate")
    if targets.min() < 0 or targets.max() >= c:
        raise ValueError(f"{name} must lie in [0, {c}), got [{int(targets.min())}, {int(targets.max())}]")
    return targets


def _as_scores(sim) -> torch.Tensor:
    sim = torch.as_tensor(sim)
    if sim.ndim != 2:
        raise ValueError(f"sim must be 2-D (N_text, N_video), got shape {tuple(sim.shape)}")
    if not sim.is_floating_point():
        sim = sim.double()
    elif sim.dtype in (torch.float16, torch.bfloat16):
        sim = sim.float()
    step = max(1, _CHUNK_ELEMENTS // max(1, sim.shape[1]))  # isfinite on the whole matrix costs 1.5x its size
    for lo in range(0, sim.shape[0], step):
        if not torch.isfinite(sim[lo : lo + step]).all():
            raise ValueError("scores contain NaN or inf")
    return sim


def _rank_summary(ranks: torch.Tensor, prefix: str) -> dict[str, float]:
    ranks = ranks.double()
    out = {f"{prefix}_R{k}": float((ranks <= k).double().mean() * 100) for k in _RECALL_KS}
    out[f"{prefix}_MedR"] = float(np.median(ranks.cpu().numpy()))
    out[f"{prefix}_MnR"] = float(ranks.mean())
    return out


def _beats(scores: torch.Tensor, target: torch.Tensor, ties: Ties) -> torch.Tensor:
    """Where a wrong item outranks the correct one (ties go against the correct one if pessimistic)."""
    return scores >= target if ties == "pessimistic" else scores > target


def retrieval_ranks(sim, text_to_video, *, ties: Ties = "pessimistic"):
    """1-based ranks: (t2v ranks per text, v2t ranks per captioned video).

    t2v: rank of text i's video among all videos. v2t: rank of the best-ranked caption of a video
    among all texts, i.e. 1 + number of other videos' captions that score at least as high as the
    video's best caption. Videos without any caption (distractors) have no v2t rank and are skipped.
    Memory stays bounded: at most ~4M scores are compared at once.
    """
    if ties not in ("pessimistic", "optimistic"):
        raise ValueError(f"ties must be 'pessimistic' or 'optimistic', got {ties!r}")
    sim = _as_scores(sim)
    n_text, n_video = sim.shape
    t2v = _targets(text_to_video, sim, "text_to_video", "texts")

    # text -> video: count wrong videos that beat the correct one, chunked over texts.
    target = sim.gather(1, t2v[:, None])  # (Nt, 1)
    t2v_ranks = torch.empty(n_text, dtype=torch.long, device=sim.device)
    step = max(1, _CHUNK_ELEMENTS // max(1, n_video))
    for lo in range(0, n_text, step):
        rows = slice(lo, lo + step)
        beats = _beats(sim[rows], target[rows], ties)  # (c, Nv)
        beats.scatter_(1, t2v[rows, None], False)  # the correct video does not beat itself
        t2v_ranks[rows] = beats.sum(1) + 1

    # video -> text: best caption score per video, then count other videos' captions above it.
    best = torch.full((n_video,), float("-inf"), dtype=sim.dtype, device=sim.device)
    best.scatter_reduce_(0, t2v, target[:, 0], reduce="amax")
    has_caption = torch.zeros(n_video, dtype=torch.bool, device=sim.device)
    has_caption[t2v] = True
    v2t_ranks = torch.empty(n_video, dtype=torch.long, device=sim.device)
    step = max(1, _CHUNK_ELEMENTS // n_text)
    for lo in range(0, n_video, step):
        cols = torch.arange(lo, min(lo + step, n_video), device=sim.device)
        beats = _beats(sim[:, cols], best[cols][None, :], ties)  # (Nt, c)
        beats &= t2v[:, None] != cols[None, :]  # own captions are hits, not competitors
        v2t_ranks[cols] = beats.sum(0) + 1
    return t2v_ranks, v2t_ranks[has_caption]


def retrieval_metrics(sim, text_to_video, *, ties: Ties = "pessimistic") -> dict[str, float]:
    """R@1/5/10 (percent), median and mean rank (1-based) for text->video and video->text.

    `sim` is (N_text, N_video) (tensor or array); `text_to_video[i]` is the video index of text i.
    A video with several captions is a v2t hit at k when any of its captions ranks within k.
    See the module docstring for the tie rule.
    """
    t2v_ranks, v2t_ranks = retrieval_ranks(sim, text_to_video, ties=ties)
    return {**_rank_summary(t2v_ranks, "t2v"), **_rank_summary(v2t_ranks, "v2t")}


# ----------------------------------------------------------------------------- moments


def _pairs(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.zeros((0, 2)) if x.size == 0 else np.atleast_2d(x)[:, :2]


def temporal_iou(a, b) -> np.ndarray:
    """Pairwise IoU of 1-D windows: a (N, 2), b (M, 2) as [start, end] -> (N, M).

    Extra columns (e.g. a score) are ignored. A zero-length union gives IoU 0.
    """
    a, b = _pairs(a), _pairs(b)  # (N, 2), (M, 2)
    inter = np.minimum(a[:, None, 1], b[None, :, 1]) - np.maximum(a[:, None, 0], b[None, :, 0])
    inter = np.clip(inter, 0.0, None)  # (N, M)
    union = (a[:, 1] - a[:, 0])[:, None] + (b[:, 1] - b[:, 0])[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _windows(x, *, width: int, what: str) -> np.ndarray:
    """(K, width) float array; a flat [start, end(, score)] is one window."""
    arr = np.asarray(x if x is not None else [], dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, width))
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValueError(f"{what}: expected [[start, end{', score' if width == 3 else ''}], ...], got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what}: NaN or inf in windows")
    if (arr[:, 1] < arr[:, 0]).any():
        raise ValueError(f"{what}: a window ends before it starts: {arr[arr[:, 1] < arr[:, 0]][0, :2].tolist()}")
    if width == 3 and arr.shape[1] == 2:  # unscored windows: keep the given order
        arr = np.concatenate([arr, -np.arange(len(arr), dtype=np.float64)[:, None]], 1)
    return arr[:, :width]


def _average_precision(pred: np.ndarray, gt: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """QVHighlights AP of score-sorted predictions (P, 2) against GT windows (G, 2), per threshold."""
    num_t, num_p = len(thresholds), len(pred)
    if num_p == 0:
        return np.zeros(num_t)
    iou = temporal_iou(pred, gt)  # (P, G)
    taken = np.zeros((num_t, len(gt)), dtype=bool)
    tp = np.zeros((num_t, num_p))
    for p in range(num_p):  # greedy, best score first
        for t, thr in enumerate(thresholds):
            free = (iou[p] >= thr) & ~taken[t]
            if free.any():
                g = int(np.argmax(np.where(free, iou[p], -1.0)))  # free GT of highest IoU
                taken[t, g] = True
                tp[t, p] = 1.0
    tp_cum = np.cumsum(tp, axis=1)
    precision = tp_cum / np.arange(1, num_p + 1)
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]  # max precision to the right
    # Recall rises by 1/G exactly at each true positive; the area sums the envelope there.
    return (envelope * tp).sum(1) / len(gt)


def _aligned_queries(predictions, ground_truth):
    if isinstance(predictions, Mapping) != isinstance(ground_truth, Mapping):
        raise TypeError("predictions and ground_truth must both be dicts keyed by qid or both be lists")
    if isinstance(predictions, Mapping):
        missing = [q for q in ground_truth if q not in predictions]
        extra = [q for q in predictions if q not in ground_truth]
        if missing or extra:
            raise ValueError(
                f"qids differ: {len(missing)} without predictions (e.g. {missing[:3]}), "
                f"{len(extra)} without ground truth (e.g. {extra[:3]})"
            )
        keys = list(ground_truth)
        return keys, [predictions[k] for k in keys], [ground_truth[k] for k in keys]
    if len(predictions) != len(ground_truth):
        raise ValueError(f"{len(predictions)} predictions for {len(ground_truth)} ground-truth queries")
    return list(range(len(ground_truth))), list(predictions), list(ground_truth)


def moment_metrics(
    predictions: Sequence | Mapping,
    ground_truth: Sequence | Mapping,
    *,
    max_pred_windows: int = 10,
) -> dict[str, float]:
    """R1/R5 at IoU 0.3/0.5/0.7, mIoU, mAP@0.5, mAP@0.75 and mAP (0.5:0.05:0.95), all in percent.

    `predictions[q]` is `[[start, end, score], ...]` in any order (sorted here by score, ties keep
    the given order; windows without a score keep their order); `ground_truth[q]` is
    `[[start, end], ...]` (or one flat `[start, end]`).
    Both are lists aligned by position or dicts keyed by qid. R1@x: the top window's IoU with any
    GT window is >= x; R5@x: any of the top 5. mIoU: the top window's best IoU. A query without
    predictions scores 0 everywhere; a query without ground truth is an error.
    """
    keys, preds, gts = _aligned_queries(predictions, ground_truth)
    if not keys:
        raise ValueError("no queries to evaluate")
    map_thr = np.asarray(MAP_IOU_THRESHOLDS)
    r_thr = np.asarray(MOMENT_IOU_THRESHOLDS)
    r1 = np.zeros((len(keys), len(r_thr)))
    r5 = np.zeros_like(r1)
    miou = np.zeros(len(keys))
    ap = np.zeros((len(keys), len(map_thr)))
    for i, (key, pred, gt) in enumerate(zip(keys, preds, gts)):
        pred = _windows(pred, width=3, what=f"predictions[{key!r}]")
        gt = _windows(gt, width=2, what=f"ground_truth[{key!r}]")
        if len(gt) == 0:
            raise ValueError(f"ground_truth[{key!r}] has no windows")
        pred = pred[np.argsort(-pred[:, 2], kind="stable")]
        best_iou = temporal_iou(pred, gt).max(1) if len(pred) else np.zeros(0)  # (P,)
        if len(pred):
            miou[i] = best_iou[0]
            r1[i] = best_iou[0] >= r_thr
            r5[i] = best_iou[:5].max() >= r_thr
        ap[i] = _average_precision(pred[:max_pred_windows, :2], gt, map_thr)
    out = {f"R1@{t}": float(r1[:, j].mean() * 100) for j, t in enumerate(MOMENT_IOU_THRESHOLDS)}
    out.update({f"R5@{t}": float(r5[:, j].mean() * 100) for j, t in enumerate(MOMENT_IOU_THRESHOLDS)})
    out["mIoU"] = float(miou.mean() * 100)
    ap_per_thr = ap.mean(0) * 100
    out["mAP@0.5"] = float(ap_per_thr[MAP_IOU_THRESHOLDS.index(0.5)])
    out["mAP@0.75"] = float(ap_per_thr[MAP_IOU_THRESHOLDS.index(0.75)])
    out["mAP"] = float(ap_per_thr.mean())
    return out


# ----------------------------------------------------------------------------- classification


def classification_metrics(logits, labels, *, ties: Ties = "pessimistic") -> dict[str, float]:
    """Top-1 and top-5 accuracy in percent; with fewer than 5 classes top-5 means top-all.

    `logits` is (N, C), `labels` (N,) class indices. Ties follow the module's tie rule.
    """
    logits = _as_scores(logits)
    n, c = logits.shape
    labels = _targets(labels, logits, "labels", "samples")
    target = logits.gather(1, labels[:, None])  # (N, 1)
    beats = _beats(logits, target, ties)
    beats.scatter_(1, labels[:, None], False)
    rank = beats.sum(1) + 1  # (N,)
    return {
        "top1": float((rank <= 1).double().mean() * 100),
        "top5": float((rank <= min(5, c)).double().mean() * 100),
    }
