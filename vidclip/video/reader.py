"""`read_frames`: the one entry point from a video file to frames."""

from __future__ import annotations

import os

import numpy as np
import torch

from vidclip.video import sampling
from vidclip.video.backends import fallback, resolve
from vidclip.video.clip import VideoClip
from vidclip.errors import VideoDecodeError
from vidclip.video.frame_index import TIME_EPS, FrameIndex, scan

MODES = ("exact", "keyframe")


def read_frames(
    path: str | os.PathLike,
    *,
    num_frames: int | None = None,
    fps: float | None = None,
    timestamps=None,
    start: float | None = None,
    end: float | None = None,
    mode: str = "exact",
    backend: str = "auto",
    device: str | torch.device = "cpu",
    jitter: bool = False,
    generator: torch.Generator | None = None,
    short_side: int | None = None,
    interpolation: str = "bicubic",
) -> VideoClip:
    """Decode the frames a player shows at the requested times.

    Ask with exactly one of:
      num_frames  centres of `num_frames` equal segments of [start, end] (whole video by default);
                  `jitter=True` draws a random time inside each segment instead (training);
      fps         frames at that rate over [start, end] (the middle of each 1/fps slot);
      timestamps  explicit times in seconds.
    Times are on the stream's clock (seconds, as ffprobe reports pts_time; 0 for most files).
    The frame for time t is the one on screen at t: pts <= t < next pts.

    mode="exact" returns exactly those frames, whatever the backend. mode="keyframe" returns,
    for each time, the nearest keyframe at or before it: only keyframes are decoded, many times
    faster on long-GOP video; `timestamps` then holds the keyframes' own times.

    short_side: a hint for speed. The pyav backend then scales each wanted frame in the decoder's own
    colour conversion (swscale, `interpolation`) so that its short side is `short_side`, when that
    shrinks it: converting a small frame to RGB is cheaper, and the resize after it is skipped. Other
    backends, and videos already that small, return full-size frames. Either way follow it with
    `resize_to_square`, as `Pipeline` and `VideoTextDataset` do: it passes frames of the right size through.

    Raises VideoDecodeError (a ValueError naming the file and the reason) for a file that is not
    a readable video or a window outside it; ImportError naming the extra for a missing backend.
    """
    times_given = timestamps is not None
    if (num_frames is not None) + (fps is not None) + times_given != 1:
        raise ValueError("give exactly one of num_frames=, fps= or timestamps= to say which frames to read")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if jitter and num_frames is None:
        raise ValueError("jitter=True applies to num_frames= sampling only")
    if times_given and (start is not None or end is not None):
        raise ValueError("start= and end= apply to num_frames= / fps= sampling, not to explicit timestamps=")
    name, module = resolve(backend, device)

    index = scan(path)
    if times_given:
        times = np.asarray(torch.as_tensor(timestamps, dtype=torch.float64).reshape(-1))
        if times.size == 0:
            raise ValueError("timestamps= is empty")
        _check_inside(index, float(times.min()), float(times.max()), "timestamps")
    else:
        lo, hi = _window(index, start, end)
        if num_frames is not None:
            times = (
                sampling.jittered_times(lo, hi, num_frames, generator)
                if jitter
                else sampling.uniform_times(lo, hi, num_frames)
            )
        else:
            times = sampling.fps_times(lo, hi, fps)

    name, module = fallback(name, module, index)
    ids = index.frames_at(times)  # (T,)
    if mode == "keyframe":
        ids = index.keyframes_before(ids)
    unique, inverse = np.unique(ids, return_inverse=True)  # decode each frame once
    scale = {} if short_side is None or name != "pyav" else {"short_side": short_side, "interpolation": interpolation}
    frames, decoded_pts = module.decode(index, unique, device=str(device), **scale)
    if not np.allclose(decoded_pts, index.seconds[unique], rtol=0, atol=1e-4):
        bad = np.flatnonzero(~np.isclose(decoded_pts, index.seconds[unique], rtol=0, atol=1e-4))[0]
        raise VideoDecodeError(
            path,
            f"backend {name!r} returned the frame at {decoded_pts[bad]:.6f} s "
            f"instead of the one at {index.seconds[unique][bad]:.6f} s",
        )
    inverse = inverse.reshape(-1)
    if len(unique) != len(ids) or (np.diff(inverse) < 0).any():  # repeats or unsorted times: gather
        frames = frames[torch.from_numpy(inverse).to(frames.device)]  # (T, 3, H, W)
    return VideoClip(
        frames=frames,  # (T, 3, H, W)
        timestamps=torch.from_numpy(index.seconds[ids].copy()),  # (T,)
        fps=index.fps,
        duration=index.duration,
        backend=name,
    )


def _window(index: FrameIndex, start: float | None, end: float | None) -> tuple[float, float]:
    """[start, end] checked against the video and clipped to its exact bounds."""
    lo = index.begin if start is None else float(start)
    hi = index.end if end is None else float(end)
    if not hi > lo:
        raise VideoDecodeError(index.path, f"empty window: start={lo:g} s is not before end={hi:g} s")
    _check_inside(index, lo, hi, "window")
    return max(lo, index.begin), min(hi, index.end)


def _check_inside(index: FrameIndex, lo: float, hi: float, what: str) -> None:
    """Times may overshoot the video by at most one frame (rounding in annotations), no more."""
    slack = 1 / index.fps + TIME_EPS if index.fps > 0 else TIME_EPS
    if lo < index.begin - slack or hi > index.end + slack:
        raise VideoDecodeError(
            index.path,
            f"{what} [{lo:g}, {hi:g}] s is outside the video, which spans [{index.begin:g}, {index.end:g}] s",
        )
