"""Find where in a video a sentence happens: `find_moments(model, video, query)`.

The video's per-frame features are computed once at a low rate (vidclip.moments.frame_features, cached).
With a moment head (VDI), the head scores windows of several lengths slid over them and temporal
NMS merges its answers (its saliency head, when it has one, gives the per-2 s saliency); otherwise each query becomes a similarity curve over the frames and
vidclip.moments.windows turns it into ranked windows. Nothing caps the length: a video of hours is
a longer sequence.
"""

import os
from pathlib import Path

import numpy as np

from vidclip.eval.metrics import SALIENCY_CLIP_SECONDS  # QVHighlights' 2-second clips, as the labels
from vidclip.moments.frame_features import compute_frame_features
from vidclip.moments.targets import frames_in_windows
from vidclip.moments.windows import rank_windows, temporal_nms



def cached_frame_features(model, video, *, fps: float = 1.0, cache=None):
    """FrameFeatures of `video` (a path) for `model` (a Pipeline), from the cache when possible."""
    if not isinstance(video, (str, os.PathLike)):
        raise TypeError(f"video must be a path, got {type(video).__name__}")
    if not Path(video).is_file():
        from vidclip.video.tar_members import split_member

        if split_member(video):
            raise FileNotFoundError(f"{video} is inside a tar archive: moments need a video file; extract it (tar -xf)")
        raise FileNotFoundError(f"no such video file: {video}")
    cache = model.feature_cache if cache is None else cache
    key = cache.key(video, model.identity, fps)
    found = cache.get(key)
    if found is None:
        found = compute_frame_features(model, video, fps=fps)
        cache.put(key, found)
    return found


def head_windows(model, features, text, *, top_k: int = 5, iou_threshold: float = 0.5, scales=(1, 2, 4, 8),
                 with_saliency: bool = False):
    """The moment head over windows of `scales` x the model's clip length, half overlapping, for one
    query's text embedding `text` ((D,) or (1, D), from `model.embed_texts`).

    with_saliency: also return the saliency head's score per sampled frame, averaged over every
    window that holds the frame ((N,) array; None for a head without saliency): (windows, scores)."""
    import torch

    text = text.reshape(1, -1).to(model.device)  # (1, D): the same for every window
    frames = features.features.to(model.device, torch.float32)  # (N, D)
    times = torch.as_tensor(features.timestamps)
    n = len(frames)
    found = []
    saliency_sum, saliency_count = torch.zeros(n, dtype=torch.float64), torch.zeros(n, dtype=torch.float64)
    has_saliency = with_saliency and model.model.adapter.moment_head.saliency is not None
    for length in sorted({min(n, scale * model.num_frames) for scale in scales}):
        starts = list(range(0, n - length + 1, max(1, length // 2)))
        if starts[-1] != n - length:
            starts.append(n - length)
        for batch in range(0, len(starts), 64):
            chunk = starts[batch : batch + 64]
            windows = torch.stack([frames[s : s + length] for s in chunk])  # (B, L, D)
            mask = torch.ones(windows.shape[:2], dtype=torch.bool, device=model.device)
            stamps = torch.stack([times[s : s + length] for s in chunk])  # (B, L)
            video = {"frames": windows, "frame_mask": mask}
            for per_window in model.model.predict_moments(video, stamps, text, top_k=top_k, nms_iou=iou_threshold):
                found.extend(per_window)
            if has_saliency:
                scores = model.model.predict_saliency(video, text).double().cpu()  # (B, L)
                for row, s in enumerate(chunk):
                    saliency_sum[s : s + length] += scores[row]
                    saliency_count[s : s + length] += 1
    saliency = (saliency_sum / saliency_count.clamp_min(1)).numpy() if has_saliency else None
    if not found:
        return ([], saliency) if with_saliency else []
    found = np.array(found, dtype=np.float64)  # (W, 3)
    keep = temporal_nms(found[:, :2], found[:, 2], iou_threshold=iou_threshold, top_k=top_k)
    ranked = [(round(float(found[i, 0]), 3), round(float(found[i, 1]), 3), float(found[i, 2])) for i in keep]
    return (ranked, saliency) if with_saliency else ranked


def _moments_and_saliency(model, features, queries, *, top_k, iou_threshold, window_seconds=None, with_saliency=True):
    """For each query: (windows best first, a score per sampled frame or None without with_saliency).
    Each query is embedded once.

    With a moment head: its windows and its saliency head's scores (the cosine curve when the head
    has none). Otherwise: windows ranked on the query's cosine with each sampled frame (untrained)."""
    texts = model.embed_texts(list(queries)).float()  # (Nq, D); raises ValueError on an empty query
    for text in texts:
        if not model.has_moment_head:
            curve = _cosine_curve(features, text)
            windows = rank_windows(curve, features.timestamps, features.duration, window_seconds=window_seconds,
                                   top_k=top_k, iou_threshold=iou_threshold)
        elif with_saliency:
            windows, curve = head_windows(model, features, text, top_k=top_k, iou_threshold=iou_threshold,
                                          with_saliency=True)
            curve = _cosine_curve(features, text) if curve is None else curve  # a head without a saliency head
        else:
            windows, curve = head_windows(model, features, text, top_k=top_k, iou_threshold=iou_threshold), None
        yield windows, curve


def _cosine_curve(features, text):
    """(N,) the query's cosine with each sampled frame: the untrained fallback for windows and saliency."""
    return (features.features.float() @ text).numpy()


def find_moments(model, video, query, top_k: int = 5, *, fps: float = 1.0, window_seconds=None,
                 iou_threshold: float = 0.5, cache=None):
    """[(start_s, end_s, score)] best first for one query (a sentence) in one video (a path)."""
    features = cached_frame_features(model, video, fps=fps, cache=cache)
    (windows, _), = _moments_and_saliency(model, features, [query], top_k=top_k, iou_threshold=iou_threshold,
                                          window_seconds=window_seconds, with_saliency=False)
    return windows


def saliency(curve: np.ndarray, timestamps: np.ndarray, duration: float) -> list:
    """Mean similarity per 2-second clip (QVHighlights `pred_saliency_scores`)."""
    clips = max(1, int(np.ceil(duration / SALIENCY_CLIP_SECONDS)))
    index = np.minimum((np.asarray(timestamps) // SALIENCY_CLIP_SECONDS).astype(int), clips - 1)
    sums = np.bincount(index, weights=curve, minlength=clips)
    counts = np.bincount(index, minlength=clips)
    filled = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    # clips with no sample (fps < 0.5) take the nearest sampled clip's value
    known = np.flatnonzero(counts > 0)
    nearest = known[np.abs(np.arange(clips)[:, None] - known[None]).argmin(1)]
    return [round(float(v), 4) for v in np.where(np.isnan(filled), filled[nearest], filled)]


def window_saliency(curve: np.ndarray, timestamps: np.ndarray, windows) -> list:
    """One score per labelled window (YouTube Highlights' "clip", [start, end) seconds): the mean of
    the sampled frames' scores inside it. A window holding no sampled frame (windows overlap and are
    ~3 s long, so a sparse sample misses many) takes the curve at its centre, linear between the
    nearest sampled frames and flat past the ends, so such windows still rank rather than tie."""
    curve, stamps = np.asarray(curve, dtype=np.float64), np.asarray(timestamps, dtype=np.float64)  # (T,), (T,)
    windows = np.asarray(windows, dtype=np.float64).reshape(-1, 2)  # (C, 2)
    holds = frames_in_windows(windows, stamps)  # (C, T)
    count = holds.sum(1)  # (C,)
    mean = (holds @ curve) / np.maximum(count, 1)
    centre = np.interp(windows.mean(1), stamps, curve)  # (C,)
    return [round(float(v), 5) for v in np.where(count > 0, mean, centre)]


def qvhighlights_predictions(model, video, queries, *, top_k: int = 10, fps: float = 1.0, window_seconds=None,
                             iou_threshold: float = 0.5, cache=None) -> list:
    """QVHighlights-style prediction rows for query dicts ({'query', optional 'qid', 'vid'}).

    `pred_saliency_scores` come from the moment head's saliency head when the model has one (its
    per-frame scores averaged over the sliding windows, then per 2 s clip), else from the query's
    cosine with each sampled frame (untrained: the fallback)."""
    features = cached_frame_features(model, video, fps=fps, cache=cache)
    found = _moments_and_saliency(model, features, [row["query"] for row in queries], top_k=top_k,
                                  iou_threshold=iou_threshold, window_seconds=window_seconds)
    rows = []
    for number, (row, (windows, curve)) in enumerate(zip(queries, found)):
        rows.append({
            "qid": row.get("qid", number),
            "query": row["query"],
            "vid": row.get("vid", Path(video).stem),
            "pred_relevant_windows": [[start, end, round(score, 4)] for start, end, score in windows],
            "pred_saliency_scores": saliency(curve, features.timestamps, features.duration),
        })
    return rows
