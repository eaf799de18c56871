"""CLIP preprocessing for video, on tensors, batched over any leading dims, on their device.

Decode on the CPU (or NVDEC), move the uint8 frames to the model's device, then transform
there: moving uint8 is 4x cheaper than moving floats, and the GPU resizes a batch of clips in
one call. Matches open_clip's image pipeline: bicubic resize of the short side, centre crop,
scale to [0, 1], normalise.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

# OpenAI CLIP's pixel statistics (open_clip's OPENAI_DATASET_MEAN / _STD).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def resize_short_side(
    frames: torch.Tensor, size: int, *, interpolation: str = "bicubic", antialias: bool = True
) -> torch.Tensor:
    """Resize (..., 3, H, W) so that min(H, W) == size, keeping the aspect ratio.

    uint8 in → uint8 out (rounded, clamped: bicubic overshoots); float in → float out.
    """
    height, width = frames.shape[-2:]
    # the long side truncated, as torchvision's Resize (hence open_clip) computes it
    new_h, new_w = (size, int(size * width / height)) if height <= width else (int(size * height / width), size)
    if (new_h, new_w) == (height, width):
        return frames
    lead = frames.shape[:-3]
    flat = frames.reshape(-1, *frames.shape[-3:])  # (N, 3, H, W)
    x = flat.float() if frames.dtype == torch.uint8 else flat
    align = False if interpolation in ("bilinear", "bicubic") else None
    x = F.interpolate(x, size=(new_h, new_w), mode=interpolation, align_corners=align, antialias=antialias)
    if frames.dtype == torch.uint8:
        x = x.round_().clamp_(0, 255).to(torch.uint8)
    return x.reshape(*lead, *x.shape[-3:])  # (..., 3, h, w)


def center_crop(frames: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """The centre (..., 3, size, size) of (..., 3, H, W); a view, no copy."""
    crop_h, crop_w = (size, size) if isinstance(size, int) else size
    height, width = frames.shape[-2:]
    assert crop_h <= height and crop_w <= width, f"crop {crop_h}x{crop_w} larger than frames {height}x{width}"
    top = int(round((height - crop_h) / 2.0))
    left = int(round((width - crop_w) / 2.0))
    return frames[..., top : top + crop_h, left : left + crop_w]


def normalize(
    frames: torch.Tensor,
    mean: Sequence[float] = CLIP_MEAN,
    std: Sequence[float] = CLIP_STD,
    *,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """uint8 [0, 255] or float [0, 1] frames (..., 3, H, W) → (x - mean) / std in `dtype`."""
    x = frames.to(dtype) / 255 if frames.dtype == torch.uint8 else frames.to(dtype)
    mean_t = torch.as_tensor(mean, dtype=dtype, device=frames.device).view(3, 1, 1)  # (3, 1, 1)
    std_t = torch.as_tensor(std, dtype=dtype, device=frames.device).view(3, 1, 1)  # (3, 1, 1)
    return (x - mean_t) / std_t


class VideoTransform:
    """uint8 frames (..., 3, H, W) → normalised float (..., 3, size, size), e.g. (B, T, 3, 224, 224).

    The CLIP tower's eval preprocessing applied to every frame of every clip at once.
    """

    def __init__(
        self,
        size: int = 224,
        *,
        mean: Sequence[float] = CLIP_MEAN,
        std: Sequence[float] = CLIP_STD,
        interpolation: str = "bicubic",
        dtype: torch.dtype = torch.float32,
    ):
        self.size, self.mean, self.std = size, tuple(mean), tuple(std)
        self.interpolation, self.dtype = interpolation, dtype

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        assert frames.ndim >= 3 and frames.shape[-3] == 3, f"expected (..., 3, H, W), got {tuple(frames.shape)}"
        x = resize_short_side(frames, self.size, interpolation=self.interpolation)
        x = center_crop(x, self.size)
        return normalize(x, self.mean, self.std, dtype=self.dtype)

    def __repr__(self) -> str:
        return f"VideoTransform(size={self.size}, interpolation={self.interpolation!r}, mean={self.mean}, std={self.std})"
