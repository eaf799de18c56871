"""From a query's similarity curve over sampled frames to ranked, non-overlapping windows.

Pure numpy on a 1-D curve, so the logic is testable on synthetic curves with known answers:
- proposals: sliding windows of several lengths, plus "merged" runs where the curve stays above
  a threshold (gaps of a sample or two bridged), which catch moments of any length exactly;
- score: mean similarity inside minus the higher of its two flanks of the same length (a moment
  should beat what comes before and after it; a plain mean would tie every window in a plateau);
- temporal NMS keeps the best window and drops those overlapping it.
"""

import numpy as np

from vidclip.eval.metrics import temporal_iou


def sliding_windows(num_samples: int, lengths, stride_fraction: float = 0.25) -> np.ndarray:
    """(W, 2) [start, end) sample windows of each length, overlapping by 1 - stride_fraction."""
    out = []
    for length in sorted({int(length) for length in lengths if 1 <= int(length) <= num_samples}):
        stride = max(1, int(length * stride_fraction))
        starts = np.arange(0, num_samples - length + 1, stride)
        if starts[-1] != num_samples - length:
            starts = np.append(starts, num_samples - length)
        out.append(np.stack([starts, starts + length], axis=1))
    return np.concatenate(out) if out else np.empty((0, 2), dtype=np.int64)


def merged_runs(curve: np.ndarray, levels=np.linspace(0.1, 0.9, 9), max_gap: int = 1) -> np.ndarray:
    """(W, 2) [start, end) runs where the curve stays at or above each level, gaps <= max_gap merged.

    Levels are fractions of the way from the curve's minimum to its maximum, so some level falls
    between a moment's similarity and the background's whatever their absolute values.
    """
    low, high = float(np.min(curve)), float(np.max(curve))
    out = []
    for threshold in np.unique(low + (high - low) * np.asarray(levels)):
        above = np.flatnonzero(curve >= threshold)
        if len(above) == 0:
            continue
        breaks = np.flatnonzero(np.diff(above) > max_gap + 1)  # a run ends where the next hit is far
        starts = np.concatenate([above[:1], above[breaks + 1]])
        ends = np.concatenate([above[breaks], above[-1:]]) + 1
        out.append(np.stack([starts, ends], axis=1))
    return np.concatenate(out) if out else np.empty((0, 2), dtype=np.int64)


def contrast_scores(curve: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Mean inside each window minus the higher of its two flank means (flanks as long as the window).

    The higher flank, not their average: a window that stops inside a moment has one flank as high
    as itself and scores near zero, so sub-windows of a found moment do not come back as answers.
    """
    n = len(curve)
    prefix = np.concatenate([[0.0], np.cumsum(curve, dtype=np.float64)])
    starts, ends = windows[:, 0], windows[:, 1]
    length = ends - starts
    inside = (prefix[ends] - prefix[starts]) / length
    left, right = np.maximum(starts - length, 0), np.minimum(ends + length, n)
    left_mean = np.where(starts > left, (prefix[starts] - prefix[left]) / np.maximum(starts - left, 1), -np.inf)
    right_mean = np.where(right > ends, (prefix[right] - prefix[ends]) / np.maximum(right - ends, 1), -np.inf)
    outside = np.maximum(left_mean, right_mean)
    return inside - np.where(np.isfinite(outside), outside, prefix[n] / n)  # the whole video: vs its own mean


def temporal_nms(windows: np.ndarray, scores: np.ndarray, *, iou_threshold: float = 0.5, top_k: int = 5):
    """Indices of kept windows, best first: each drops later ones overlapping it more than the threshold."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    while len(order) and len(keep) < top_k:
        best, order = order[0], order[1:]
        keep.append(int(best))
        order = order[temporal_iou(windows[best], windows[order])[0] <= iou_threshold]  # (1, N) -> (N,)
    return keep


def sample_edges(timestamps: np.ndarray, duration: float) -> np.ndarray:
    """(N + 1,) times bounding each sample: midpoints between samples, 0 and the duration at the ends."""
    timestamps = np.asarray(timestamps, dtype=np.float64)
    middle = (timestamps[1:] + timestamps[:-1]) / 2
    return np.concatenate([[0.0], middle, [max(float(duration), float(timestamps[-1]))]])


def rank_windows(curve, timestamps, duration, *, window_seconds=None, top_k=5, iou_threshold=0.5):
    """[(start_s, end_s, score)] best first for a similarity curve sampled at `timestamps`."""
    curve = np.asarray(curve, dtype=np.float64)
    if len(curve) == 0:
        return []
    edges = sample_edges(timestamps, duration)
    step = float(np.median(np.diff(edges)))
    if window_seconds is None:  # 2 s, 4 s, ... up to the whole video
        window_seconds = [2.0 * 2**i for i in range(int(np.log2(max(edges[-1], 2.0) / 2.0)) + 1)]
    lengths = [max(1, round(seconds / step)) for seconds in window_seconds]
    windows = np.unique(np.concatenate([sliding_windows(len(curve), lengths), merged_runs(curve)]), axis=0)
    scores = contrast_scores(curve, windows)
    seconds = np.stack([edges[windows[:, 0]], edges[windows[:, 1]]], axis=1)
    keep = temporal_nms(seconds, scores, iou_threshold=iou_threshold, top_k=top_k)
    return [(round(float(seconds[i, 0]), 3), round(float(seconds[i, 1]), 3), float(scores[i])) for i in keep]
