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
    return _interpolate(frames, (new_h, new_w), interpolation, antialias=antialias)


def _interpolate(frames: torch.Tensor, shape: tuple[int, int], interpolation: str, *, antialias: bool = True):
    """(..., 3, H, W) -> (..., 3, h, w); uint8 in -> uint8 out (rounded, clamped: bicubic overshoots)."""
    lead = frames.shape[:-3]
    flat = frames.reshape(-1, *frames.shape[-3:])  # (N, 3, H, W)
    x = flat.float() if frames.dtype == torch.uint8 else flat
    smooth = interpolation in ("bilinear", "bicubic")
    x = F.interpolate(x, size=shape, mode=interpolation, align_corners=False if smooth else None,
                      antialias=antialias and smooth)
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


RESIZE_MODES = ("shortest", "longest", "squash")


def resize_to_square(frames: torch.Tensor, size: int, *, interpolation: str = "bicubic",
                     resize_mode: str = "shortest") -> torch.Tensor:
    """(..., 3, H, W) -> (..., 3, size, size) as open_clip's eval transform does for `resize_mode`:

    shortest: short side to `size`, centre crop; longest: long side to `size`, centred on black
    padding; squash: both sides to `size`, aspect ignored. Same dtype out (uint8 stays uint8).
    """
    height, width = frames.shape[-2:]
    if (height, width) == (size, size):
        return frames
    if resize_mode == "shortest":
        return center_crop(resize_short_side(frames, size, interpolation=interpolation), size)
    if resize_mode not in RESIZE_MODES:
        raise ValueError(f"resize_mode {resize_mode!r}: expected one of {', '.join(RESIZE_MODES)}")
    scale = size / max(height, width)
    shape = (size, size) if resize_mode == "squash" else (max(1, round(height * scale)), max(1, round(width * scale)))
    resized = _interpolate(frames, shape, interpolation)  # (..., 3, h, w)
    if resize_mode == "squash":
        return resized
    top, left = (size - shape[0]) // 2, (size - shape[1]) // 2
    return F.pad(resized, (left, size - shape[1] - left, top, size - shape[0] - top))  # (..., 3, S, S)


def resize_options(preprocess: dict) -> dict:
    """`interpolation` and `resize_mode` of a model's `preprocess_config` (open_clip's defaults if absent)."""
    return {"interpolation": preprocess.get("interpolation", "bicubic"),
            "resize_mode": preprocess.get("resize_mode", "shortest")}


def decode_options(size: int, *, interpolation: str = "bicubic", resize_mode: str = "shortest") -> dict:
    """`read_frames` options that shrink frames to the model's size in the decoder, where that gives
    what `resize_to_square` would (short-side resizing; see `read_frames(short_side=)`)."""
    return {"short_side": size, "interpolation": interpolation} if resize_mode == "shortest" else {}


def model_input(frames: torch.Tensor, preprocess: dict, device=None) -> torch.Tensor:
    """uint8 frames (..., 3, H, W) -> the model's normalised float input (..., 3, S, S) on `device`.

    `preprocess` is the model's own `preprocess_config` (size, mean, std, interpolation, resize_mode):
    the one place where a model's stored preprocessing is applied, for training, evaluation and search.
    """
    size = preprocess["image_size"]
    size = size if isinstance(size, int) else size[0]
    frames = frames.to(device, non_blocking=True) if device is not None else frames
    frames = resize_to_square(frames, size, **resize_options(preprocess))
    return normalize(frames, preprocess["mean"], preprocess["std"])
