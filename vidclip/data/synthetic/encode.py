"""Writing frames as H.264 MP4 (yuv420p) through PyAV, and reading them back.

Short clips are encoded all-intra at a constant quantiser: each frame is then coded from its own
pixels only, so a clip and its reversed twin decode to exactly the same frames in reverse order
(with inter prediction the two would differ by coding noise, and a model could tell them apart by
that noise instead of by the order). Long videos get a short GOP, like `vidclip prepare` output.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

QUANTISER = 8  # near-lossless; still the ordinary High profile every decoder (and NVDEC) plays


def write_mp4(path, frames: np.ndarray, fps: float, *, keyframe_interval: int = 1) -> None:
    """Encode (T, H, W, 3) uint8 RGB frames; H and W must be even (4:2:0 chroma)."""
    import av

    num_frames, height, width, _ = frames.shape
    if height % 2 or width % 2:
        raise ValueError(f"H.264 yuv420p needs even sizes, got {width}x{height}")
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        # one thread: tiny frames gain nothing from threads, and output stays byte-identical run to run
        stream.options = {"qp": str(QUANTISER), "g": str(keyframe_interval), "bf": "0", "threads": "1"}
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts, frame.time_base = index, 1 / rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def read_mp4(path) -> np.ndarray:
    """All frames of a file as (T, H, W, 3) uint8 RGB, decoded with PyAV."""
    import av
    from av.video.reformatter import VideoReformatter

    reformatter = VideoReformatter()  # one scaler for all frames (to_ndarray makes one per frame: 3x slower)
    with av.open(str(Path(path))) as container:
        frames = [reformatter.reformat(frame, format="rgb24").to_ndarray() for frame in container.decode(video=0)]
    return np.stack(frames)
