"""Evaluation metrics for retrieval, moment retrieval, highlight detection and classification.

Plain functions over tensors / arrays / lists, independent of the training code, so results can
be recomputed from saved similarity matrices or prediction files.

Video-to-text with several captions per video follows CLIP4Clip (`metrics.tensor_video_to_text_sim`,
the convention papers report for MSVD, DiDeMo sentences and MSR-VTT's 20 captions): a video scores
each other video by that video's best caption, so its rank is 1 + the number of other captioned
videos whose best caption scores at least as high as its own best caption (``v2t_rank="by_video"``).
``v2t_rank="by_caption"`` counts every other video's caption as a competitor instead (stricter: a
video with 20 captions can push a rival down 20 places). Both agree with one caption per video.

Tie rule (retrieval and classification), exactly: with ``ties="pessimistic"`` (default) a correct
item's rank is 1 + the number of wrong items scoring >= it; with ``ties="optimistic"`` 1 + the number
scoring strictly more. A collapsed model (all scores equal) thus stays at chance by default instead of
reporting 100% R@1. Neither is CLIP4Clip's: its `compute_metrics` counts a row once per position
whose score equals the correct one (so a tie adds rows to the average), and its multi-caption
text-to-video ranks come from `torch.argsort`, whose order among equal scores is unspecified. With
float scores from a trained model ties are rare and all of these agree.

Moment mAP follows the QVHighlights standalone evaluation (moment_detr `standalone_eval`): per query
the 10 best-scored windows, greedy matching in score order to the not-yet-matched ground-truth window
of highest IoU, VOC-style interpolated AP, averaged over queries, then over IoU 0.5:0.05:0.95.
Checked against the official script on moment_detr's `sample_val_preds.jsonl` (1550 val queries):
R1@0.5/0.7, mAP@0.5/0.75 and mAP agree to the reported two decimals. Two deliberate differences:
- windows are ranked by their score before anything is taken; the official script takes the first
  window in file order as top-1 and the first 10 in file order for mAP (then sorts those 10 by
  score), so the two differ only for a prediction file that is not sorted best first;
- a query with no predicted window counts as AP 0 (the official script leaves it out of the average).
"""

from __future__ import annotations

from typing import Literal, Mapping, Sequence

import numpy as np
import torch

Ties = Literal["pessimistic", "optimistic"]
V2tRank = Literal["by_video", "by_caption"]

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


def retrieval_ranks(sim, text_to_video, *, ties: Ties = "pessimistic", v2t_rank: V2tRank = "by_video"):
    """1-based ranks: (t2v ranks per text, v2t ranks per captioned video).

    t2v: rank of text i's video among all videos. v2t: rank of a video's best caption, against other
    videos' best captions (``"by_video"``) or against every other video's caption (``"by_caption"``);
    see the module docstring. Videos without any caption (distractors) have no v2t rank and are
    skipped. Memory stays bounded: at most ~4M scores are compared at once.
    """
    if ties not in ("pessimistic", "optimistic"):
        raise ValueError(f"ties must be 'pessimistic' or 'optimistic', got {ties!r}")
    if v2t_rank not in ("by_video", "by_caption"):
        raise ValueError(f"v2t_rank must be 'by_video' or 'by_caption', got {v2t_rank!r}")
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

    # video -> text, chunked over the videos that query.
    has_caption = torch.zeros(n_video, dtype=torch.bool, device=sim.device)
    has_caption[t2v] = True
    best = torch.full((n_video,), float("-inf"), dtype=sim.dtype, device=sim.device)
    best.scatter_reduce_(0, t2v, target[:, 0], reduce="amax")  # each video's best caption score
    v2t_ranks = torch.empty(n_video, dtype=torch.long, device=sim.device)
    step = max(1, _CHUNK_ELEMENTS // max(n_text, n_video))
    for lo in range(0, n_video, step):
        cols = torch.arange(lo, min(lo + step, n_video), device=sim.device)
        scores = sim[:, cols].T  # (c, Nt): each querying video's score for every caption
        if v2t_rank == "by_video":
            rivals = torch.full((len(cols), n_video), float("-inf"), dtype=sim.dtype, device=sim.device)
            rivals.scatter_reduce_(1, t2v[None].expand(len(cols), -1), scores, reduce="amax")  # (c, Nv)
            rival_owner = torch.arange(n_video, device=sim.device)[None]  # (1, Nv)
            competes = has_caption[None]  # (1, Nv): a video without captions offers no text
        else:
            rivals, rival_owner, competes = scores, t2v[None], True  # (c, Nt), every caption competes
        beats = _beats(rivals, best[cols][:, None], ties) & competes
        beats &= rival_owner != cols[:, None]  # a video's own captions are hits, not competitors
        v2t_ranks[cols] = beats.sum(1) + 1
    return t2v_ranks, v2t_ranks[has_caption]


def retrieval_metrics(sim, text_to_video, *, ties: Ties = "pessimistic",
                      v2t_rank: V2tRank = "by_video") -> dict[str, float]:
    """R@1/5/10 (percent), median and mean rank (1-based) for text->video and video->text.

    `sim` is (N_text, N_video) (tensor or array); `text_to_video[i]` is the video index of text i.
    See the module docstring for the multi-caption video->text convention and the tie rule.
    """
    t2v_ranks, v2t_ranks = retrieval_ranks(sim, text_to_video, ties=ties, v2t_rank=v2t_rank)
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


# ----------------------------------------------------------------------------- highlights

SALIENCY_CLIP_SECONDS = 2.0  # QVHighlights rates saliency per 2-second clip
HIGHLIGHT_LEVELS = {"Fair": 2, "Good": 3, "VeryGood": 4}  # lowest annotator score (0-4) that counts as a highlight


def saliency_labels(duration: float, relevant_clip_ids, saliency_scores) -> np.ndarray:
    """(num_clips, annotators) scores 0-4 over the whole video; clips nobody rated score 0.

    num_clips = int(duration / 2), as the official `mk_gt_scores`; ids past it are ignored.
    """
    scores = np.asarray(saliency_scores, dtype=np.float64).reshape(len(relevant_clip_ids), -1)  # (R, A)
    full = np.zeros((int(duration / SALIENCY_CLIP_SECONDS), scores.shape[1]))  # (C, A)
    ids = np.asarray(relevant_clip_ids, dtype=np.int64)
    keep = (ids >= 0) & (ids < len(full))
    full[ids[keep]] = scores[keep]
    return full


def _ranking_ap(labels: np.ndarray, scores: np.ndarray) -> float:
    """The official highlight AP (video2gif `get_ap`): mean, over the distinct recall levels reached
    as the threshold falls through the distinct scores, of the best precision at that recall or more.
    All-negative labels give 0, all-positive 1."""
    if labels.min() == labels.max():
        return float(labels[0])
    order = np.argsort(-scores, kind="stable")
    labels, scores = labels[order], scores[order]
    last_of_tie = np.r_[scores[1:] != scores[:-1], True]  # one point per distinct threshold
    tp = np.cumsum(labels)[last_of_tie]
    precision = tp / (np.flatnonzero(last_of_tie) + 1)
    recall = tp / labels.sum()
    best = np.maximum.accumulate(precision[::-1])[::-1]  # best precision at this recall or more
    new_level = np.r_[True, recall[1:] != recall[:-1]] & (recall > 0)
    return float(best[new_level].mean())


def highlight_metrics(predictions: Mapping, ground_truth: Mapping) -> dict[str, float]:
    """QVHighlights highlight detection: HL-mAP and HL-Hit1 (percent) at each HIGHLIGHT_LEVELS.

    `predictions[qid]`: saliency scores per 2 s clip (`pred_saliency_scores`); `ground_truth[qid]`:
    (num_clips, annotators) labels from `saliency_labels`. As the official `eval_highlight`: per
    annotator, clips scoring >= the level are positives; a prediction shorter than the video is
    padded with 0, a longer one cut; AP is averaged over annotators and queries; Hit1 takes the clip
    of highest score (the first on a tie) and counts a hit when any annotator rates it a highlight.
    """
    keys, preds, gts = _aligned_queries(predictions, ground_truth)
    if not keys:
        raise ValueError("no queries to evaluate")
    out = {}
    for name, level in HIGHLIGHT_LEVELS.items():
        ap, hit = np.zeros(len(keys)), np.zeros(len(keys))
        for i, (key, pred, gt) in enumerate(zip(keys, preds, gts)):
            positive = np.asarray(gt, dtype=np.float64) >= level  # (C, A)
            if positive.ndim != 2 or len(positive) == 0:
                raise ValueError(f"ground_truth[{key!r}]: expected (clips, annotators) labels, got {positive.shape}")
            pred = np.asarray(pred, dtype=np.float64).reshape(-1)
            if len(pred) == 0 or not np.isfinite(pred).all():
                raise ValueError(f"predictions[{key!r}]: saliency scores must be finite and non-empty")
            top = int(np.argmax(pred))
            hit[i] = positive[top].any() if top < len(positive) else 0.0
            scores = np.zeros(len(positive))
            scores[: min(len(pred), len(scores))] = pred[: len(scores)]
            ap[i] = np.mean([_ranking_ap(positive[:, a].astype(np.float64), scores) for a in range(positive.shape[1])])
        out[f"HL-min-{name}-mAP"] = float(ap.mean() * 100)
        out[f"HL-min-{name}-Hit1"] = float(hit.mean() * 100)
    return out


TOP_K_CLIPS = 5  # TVSum's highlight metric looks at the 5 best-scored clips


def lower_median(values: np.ndarray) -> np.ndarray:
    """Per column, the lower of the two middle values for an even count: torch's `Tensor.median()`,
    which TVSum's threshold uses. Under its strict `>` the mean of the two middle values (numpy's
    median) labels the same clips (nothing lies strictly between them); the upper one would not."""
    return np.sort(values, axis=0)[(len(values) - 1) // 2]


def _top_k_ap(hits: np.ndarray) -> np.ndarray:
    """UMT's AP over the top-k labels (k, A) of each annotator: recall counts positives among these
    k only; trapezoids between (recall, precision) points, starting at (0, 1); 0 without a positive."""
    num_gt = hits.sum(0)  # (A,)
    found = np.cumsum(hits, axis=0)  # (k, A)
    recall = found / np.maximum(num_gt, 1)
    precision = found / np.arange(1, len(hits) + 1)[:, None]
    prev_recall = np.vstack([np.zeros((1, hits.shape[1])), recall[:-1]])  # (k, A)
    prev_precision = np.vstack([np.ones((1, hits.shape[1])), precision[:-1]])
    ap = ((recall - prev_recall) * (prev_precision + precision) / 2).sum(0)
    return np.where(num_gt > 0, ap, 0.0)


def _aligned_values(values, keys, name) -> list:
    """`values` in the order of `keys` (from `_aligned_queries`): by qid for a dict, by position for a list."""
    if isinstance(values, Mapping):
        missing = [key for key in keys if key not in values]
        if missing:
            raise ValueError(f"{name}: no entry for {len(missing)} queries (e.g. {missing[:3]})")
        return [values[key] for key in keys]
    if len(values) != len(keys):
        raise ValueError(f"{name}: {len(values)} entries for {len(keys)} queries")
    return list(values)


def top5_highlight_ap(prediction, ratings, *, k: int = TOP_K_CLIPS, what: str = "query") -> np.ndarray:
    """TVSum's AP of one video for each annotator (A,), from clip `ratings` (clips, A); see
    `tvsum_highlight_metrics`."""
    ratings = np.asarray(ratings, dtype=np.float64)
    if ratings.ndim != 2 or ratings.size == 0 or not np.isfinite(ratings).all():
        raise ValueError(f"ground_truth[{what}]: expected finite (clips, annotators) ratings, got shape {ratings.shape}")
    positive = (ratings > lower_median(ratings)).astype(np.float64)  # (C, A): above the annotator's median
    order = _ranked_clips(prediction, len(ratings), what)[:k]
    return _top_k_ap(positive[order])  # (k, A)


def _ranked_clips(prediction, num_clips: int, what: str) -> np.ndarray:
    """Clip indices by predicted score, best first (ties: the earlier clip first). A score past the
    video's `num_clips` has no label and is cut; a clip without a score is not ranked (as UMT, which
    indexes the labels with the prediction's order)."""
    pred = np.asarray(prediction, dtype=np.float64).reshape(-1)
    if len(pred) == 0 or not np.isfinite(pred).all():
        raise ValueError(f"predictions[{what}]: saliency scores must be finite and non-empty")
    return np.argsort(-pred[:num_clips], kind="stable")


def tvsum_highlight_metrics(predictions: Sequence | Mapping, ground_truth: Sequence | Mapping, *,
                            categories: Sequence | Mapping | None = None, k: int = TOP_K_CLIPS) -> dict[str, float]:
    """TVSum's top-5 mAP (percent) as UMT computes it (`datasets/tvsum.py` `TVSum.evaluate`, reused
    unchanged by QD-DETR, CG-DETR and Lighthouse), as "HL-top5-mAP" and, with `categories` (TVSum's
    domains), per domain as "HL-top5-mAP/<domain>": papers report TVSum per domain, with their
    "Avg." as "HL-top5-mAP/mean-of-domains".

    `predictions[q]`: a score per 2 s clip; `ground_truth[q]`: (clips, annotators) 1-5 ratings of
    every clip; both lists aligned by position or dicts keyed by qid. Per annotator and video: a clip
    is positive when the annotator rates it above their median over the video's clips, the lower
    middle value for an even count (torch's `median`); clips are ordered by predicted score, best
    first, and the first k labels kept; AP walks those k from (recall 0, precision 1), adding
    trapezoids, with recall over the positives among the k (not among all clips: UMT's quirk, kept);
    no positive among the k gives 0. Mean over videos, then over annotators. Ties in the predicted
    scores keep clip order (a stable sort); UMT's `torch.argsort` leaves their order unspecified,
    so only tie-free scores are guaranteed to match it. A prediction longer than the video is cut;
    a shorter one ranks only the clips it scores (as UMT, which indexes the labels with the
    prediction's order), while the median still covers every clip: the same as padding with -inf
    whenever it scores at least k clips. Every video needs the same annotators.
    """
    keys, preds, gts = _aligned_queries(predictions, ground_truth)
    if not keys:
        raise ValueError("no queries to evaluate")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    ap = [top5_highlight_ap(pred, gt, k=k, what=repr(key)) for key, pred, gt in zip(keys, preds, gts)]
    if len({len(a) for a in ap}) > 1:
        raise ValueError(f"every video needs the same annotators; got {sorted({len(a) for a in ap})} rating columns")
    return _overall_and_per_domain(np.stack(ap), f"HL-top{k}-mAP", keys, categories)  # (V, A)


def _overall_and_per_domain(ap: np.ndarray, name: str, keys, categories) -> dict[str, float]:
    """{name: mean AP in percent, name/<domain>: the same over each domain's videos, and
    name/mean-of-domains: the mean of those, the "Avg." column of the papers' per-domain tables};
    `ap` is (V, A): the mean over videos, then over annotators."""
    out = {name: float(ap.mean(0).mean() * 100)}
    if categories is not None:
        domains = np.array([str(d) for d in _aligned_values(categories, keys, "categories")])  # (V,)
        per_domain = {f"{name}/{domain}": float(ap[domains == domain].mean(0).mean() * 100)
                      for domain in sorted(set(domains))}
        out.update(per_domain)
        out[f"{name}/mean-of-domains"] = float(np.mean(list(per_domain.values())))
    return out


def youtube_highlight_metrics(predictions: Sequence | Mapping, ground_truth: Sequence | Mapping, *,
                              categories: Sequence | Mapping | None = None) -> dict[str, float]:
    """YouTube Highlights' mAP (percent) as UMT computes it (`datasets/youtube.py`
    `YouTubeHighlights.evaluate`, reused by QD-DETR, CG-DETR and Lighthouse), as "HL-mAP" and, with
    `categories` (the domains: dog, gymnastics, ...), per domain as "HL-mAP/<domain>": papers report it
    per domain (their "Avg." is the mean of the six domain numbers, "HL-mAP/mean-of-domains", not the
    overall mean over videos).

    `predictions[q]`: a score per clip window; `ground_truth[q]`: a 0/1 label per clip window (1 where
    the file's `match` > 0); both lists aligned by position or dicts keyed by qid. Per video every
    clip is ranked by predicted score, best first, and AP walks the whole ranking from (recall 0,
    precision 1) adding trapezoids, recall over all the video's positives: TVSum's walk with k = all
    clips (`_top_k_ap`); a video without a positive gives 0. The mean over videos. Ties and a
    prediction of another length as `tvsum_highlight_metrics`.
    """
    keys, preds, gts = _aligned_queries(predictions, ground_truth)
    if not keys:
        raise ValueError("no queries to evaluate")
    ap = []
    for key, pred, labels in zip(keys, preds, gts):
        labels = np.asarray(labels, dtype=np.float64).reshape(-1)  # (C,)
        if labels.size == 0 or not np.isin(labels, (0.0, 1.0)).all():
            raise ValueError(f"ground_truth[{key!r}]: expected a 0/1 label per clip, got {labels[:8].tolist()}")
        order = _ranked_clips(pred, len(labels), repr(key))
        ap.append(_top_k_ap(labels[order][:, None]))  # (1,): k = every ranked clip
    return _overall_and_per_domain(np.stack(ap), "HL-mAP", keys, categories)  # (V, 1)


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
