"""`VideoClip`: decoded frames and the true timestamps they were shown at."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class VideoClip:
    """Frames of one video, as a player shows them.

    frames:     uint8 RGB, (T, 3, H, W), rotation metadata already applied.
    timestamps: float64 seconds, (T,): the presentation time of each returned frame (not the
                time that was asked for), on the stream's own clock.
    fps:        the stream's average frame rate.
    duration:   seconds from the first frame's start to the last frame's end.
    backend:    the library that decoded the frames ("pyav", "torchcodec" or "decord").
    """

    frames: torch.Tensor
    timestamps: torch.Tensor
    fps: float
    duration: float
    backend: str

    def __post_init__(self):
        assert self.frames.dtype == torch.uint8, f"frames must be uint8, got {self.frames.dtype}"
        assert self.frames.ndim == 4 and self.frames.shape[1] == 3, (
            f"frames must be (T, 3, H, W), got {tuple(self.frames.shape)}"
        )
        assert self.timestamps.shape == (self.frames.shape[0],), (
            f"one timestamp per frame: {tuple(self.timestamps.shape)} vs {self.frames.shape[0]} frames"
        )

    def __len__(self) -> int:
        return self.frames.shape[0]
