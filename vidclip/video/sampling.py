"""Which instants to show: the request → a list of times in seconds.

Pure functions over a window [start, end); mapping times to frames is `FrameIndex`'s job.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def uniform_times(start: float, end: float, num_frames: int) -> np.ndarray:
    """Centres of `num_frames` equal segments of [start, end) (the CLIP4Clip / TSN sampling)."""
    _check_window(start, end)
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    step = (end - start) / num_frames
    return start + (np.arange(num_frames, dtype=np.float64) + 0.5) * step  # (T,)


def jittered_times(
    start: float, end: float, num_frames: int, generator: torch.Generator | None = None
) -> np.ndarray:
    """One uniformly random time inside each of `num_frames` equal segments (training-time
    augmentation: every epoch sees other frames, yet the clip still spans the whole window)."""
    _check_window(start, end)
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    step = (end - start) / num_frames
    offsets = torch.rand(num_frames, generator=generator, dtype=torch.float64).numpy()
    return start + (np.arange(num_frames, dtype=np.float64) + offsets) * step  # (T,)


def fps_times(start: float, end: float, fps: float) -> np.ndarray:
    """Times at `fps` over [start, end): the middle of each 1/fps slot whose middle falls
    inside the window (what moment retrieval uses: frame k stands for [k/fps, (k+1)/fps))."""
    _check_window(start, end)
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    count = math.ceil((end - start) * fps - 0.5 - 1e-9)
    if count < 1:  # window shorter than half a slot: one frame, at its middle
        return np.array([(start + end) / 2], dtype=np.float64)
    return start + (np.arange(count, dtype=np.float64) + 0.5) / fps  # (T,)


def _check_window(start: float, end: float) -> None:
    if not end > start:
        raise ValueError(f"empty window: start={start} must be < end={end}")
