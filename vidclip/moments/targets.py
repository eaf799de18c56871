"""A moment query's training targets: all of its windows, and a saliency rating per sampled frame.

Both ride along in batches ("windows" (B, W, 2) seconds, "saliency" (B, T)), NaN where a query has
fewer windows or no saliency labels (ratings come per 2-second clip, QVHighlights / TVSum, or per
labelled window, YouTube Highlights), so `vidclip.train.tasks.MomentTask` trains on every window of
a QVHighlights query and on its saliency labels (`vidclip.adapters.moment_head`).
"""

import math

import numpy as np
import torch

from vidclip.eval.metrics import SALIENCY_CLIP_SECONDS


def query_windows(windows, start=None, end=None) -> torch.Tensor:
    """(W, 2) seconds: `windows` (QVHighlights' relevant_windows) when given, else [start, end];
    (1, 2) NaN when there is no moment at all."""
    if not windows:
        windows = [[start, end]] if start is not None and end is not None else [[math.nan, math.nan]]
    return torch.tensor(windows, dtype=torch.float32).reshape(-1, 2)


def frame_ratings(timestamps, relevant_clip_ids=None, saliency_scores=None) -> torch.Tensor:
    """(T,) per sampled frame: the annotators' summed score of the 2-second clip it falls in, 0
    outside the rated clips (QVHighlights `relevant_clip_ids` / `saliency_scores`); NaN without labels."""
    timestamps = torch.as_tensor(timestamps, dtype=torch.float64).reshape(-1)  # (T,)
    if not relevant_clip_ids or not saliency_scores or len(relevant_clip_ids) != len(saliency_scores):
        return torch.full(timestamps.shape, math.nan, dtype=torch.float32)
    rating = {int(k): float(sum(s) if isinstance(s, (list, tuple)) else s)
              for k, s in zip(relevant_clip_ids, saliency_scores)}
    clips = (timestamps // SALIENCY_CLIP_SECONDS).long().tolist()
    return torch.tensor([rating.get(k, 0.0) for k in clips], dtype=torch.float32)


def frames_in_windows(windows, timestamps) -> np.ndarray:
    """(C, T) bool: whether sampled frame t (its time in seconds) lies in window c ([start, end)
    seconds: YouTube Highlights' labelled "clip" windows). One rule for the training targets
    (`window_ratings`) and the eval's per-window scores (`vidclip.moments.find.window_saliency`)."""
    windows = np.asarray(windows, dtype=np.float64).reshape(-1, 2)  # (C, 2)
    stamps = np.asarray(timestamps, dtype=np.float64).reshape(-1)  # (T,)
    return (windows[:, :1] <= stamps[None]) & (stamps[None] < windows[:, 1:])  # (C, T)


def window_ratings(timestamps, clip_windows=None, clip_labels=None) -> torch.Tensor:
    """(T,) per sampled frame: the mean label of the labelled windows holding it ([start, end) seconds;
    YouTube Highlights' overlapping "clip" windows), so a frame where a highlight begins or ends, held
    by a highlight window and a plain one, rates 0.5 and the ranking loss has an order inside the
    highlight too; NaN (unlabelled) outside every window and for a query without windows."""
    timestamps = torch.as_tensor(timestamps, dtype=torch.float64).reshape(-1)  # (T,)
    if not clip_windows or clip_labels is None or len(clip_windows) != len(clip_labels):
        return torch.full(timestamps.shape, math.nan, dtype=torch.float32)
    labels = torch.as_tensor(clip_labels, dtype=torch.float64)  # (C,)
    holds = torch.from_numpy(frames_in_windows(clip_windows, timestamps.numpy()).T)  # (T, C)
    count = holds.sum(1)  # (T,)
    mean = (holds.double() @ labels) / count.clamp_min(1)
    return torch.where(count > 0, mean, torch.full_like(mean, math.nan)).float()


def sample_ratings(timestamps, extra) -> torch.Tensor:
    """(T,) saliency targets of a record's sampled frames from its labels, whichever kind it has:
    windows (`window_ratings`) or QVHighlights' 2-second clips (`frame_ratings`)."""
    if extra.get("clip_windows"):
        return window_ratings(timestamps, extra["clip_windows"], extra.get("clip_labels"))
    return frame_ratings(timestamps, extra.get("relevant_clip_ids"), extra.get("saliency_scores"))


def pad_windows(per_sample) -> torch.Tensor:
    """[(W_i, 2)] -> (B, max W, 2), NaN-padded."""
    width = max(len(w) for w in per_sample)
    out = torch.full((len(per_sample), width, 2), math.nan)  # (B, W, 2)
    for row, windows in enumerate(per_sample):
        out[row, : len(windows)] = windows
    return out
