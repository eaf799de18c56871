"""Video decoding: files → uint8 frames (T, 3, H, W) + true timestamps, and tensor transforms.

    from vidclip.video import read_frames
    clip = read_frames("a.mp4", num_frames=12)            # clip.frames, clip.timestamps
    clip = read_frames("a.mp4", fps=1, mode="keyframe")   # fast, approximate times

Backends (torchcodec, decord, PyAV) import lazily, inside the functions that use them.
"""

from vidclip.video.backends import BACKENDS, available as available_backends
from vidclip.video.clip import VideoClip
from vidclip.errors import VideoDecodeError
from vidclip.video.reader import read_frames
from vidclip.video.transforms import (
    CLIP_MEAN,
    CLIP_STD,
    RESIZE_MODES,
    center_crop,
    model_input,
    normalize,
    resize_short_side,
    resize_to_square,
)

__all__ = [
    "BACKENDS",
    "CLIP_MEAN",
    "CLIP_STD",
    "VideoClip",
    "VideoDecodeError",
    "RESIZE_MODES",
    "available_backends",
    "center_crop",
    "normalize",
    "read_frames",
    "model_input",
    "resize_short_side",
    "resize_to_square",
]
