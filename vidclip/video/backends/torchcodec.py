"""torchcodec backend: the one that decodes on the GPU (NVDEC) with `device="cuda"`."""

from __future__ import annotations

import json

import numpy as np
import torch

from vidclip.errors import VideoDecodeError
from vidclip.video.frame_index import FrameIndex


def decode(index: FrameIndex, ids: np.ndarray, *, device: str = "cpu") -> tuple[torch.Tensor, np.ndarray]:
    """Frames `ids` (sorted, unique) as uint8 (N, 3, H, W) on `device`, and their pts in seconds."""
    decoders = _import()
    # Ask for the middle of each frame's display interval: a float exactly at a frame's start
    # may round to just before it and fetch the previous frame.
    ends = np.append(index.seconds[1:], index.end)
    times = ((index.seconds[ids] + ends[ids]) / 2).tolist()
    try:
        # Hand torchcodec the index instead of letting it scan the file a second time
        # (its "approximate" mode skips the scan but seeks HEVC to wrong frames).
        decoder = decoders.VideoDecoder(
            index.path,
            stream_index=index.stream_index,
            custom_frame_mappings=_frame_mappings(index),
            num_ffmpeg_threads=0,
            device=device,
        )
        batch = decoder.get_frames_played_at(times)
    except (RuntimeError, ValueError, IndexError) as error:
        raise VideoDecodeError(index.path, f"torchcodec: {_first_line(error)}") from None
    return batch.data, batch.pts_seconds.double().numpy()


def _frame_mappings(index: FrameIndex) -> str:
    """The index in torchcodec's custom_frame_mappings JSON (ffprobe's field names)."""
    durations = np.diff(np.append(index.pts, index.end_pts))  # (N,)
    frames = [
        {"pts": pts, "duration": duration, "key_frame": key}
        for pts, duration, key in zip(index.pts.tolist(), durations.tolist(), index.keyframe.astype(int).tolist())
    ]
    return json.dumps({"frames": frames})


def _import():
    try:
        from torchcodec import decoders
    except ImportError as error:
        raise ImportError(
            f"backend 'torchcodec' is not available ({error}); install it with: pip install 'vidclip[torchcodec]'"
        ) from error
    except RuntimeError as error:  # installed, but its FFmpeg libraries are missing
        raise ImportError(
            f"backend 'torchcodec' cannot load its FFmpeg libraries ({_first_line(error)}); "
            "install FFmpeg (e.g. apt-get install ffmpeg) or use backend='pyav'"
        ) from error
    return decoders


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
