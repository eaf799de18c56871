"""A torch Dataset over annotation records, and the collate that batches it.

Decoding happens in the DataLoader workers (the reader is resolved on first use, so nothing is
opened in `__init__` and the dataset pickles cleanly). A video that fails to decode is skipped and
counted, never a crash hours into training: the sample comes back as None, `collate_videos` drops
it and reports ``batch["skipped"]``, which the training loop sums across workers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

import torch
from torch.utils.data import Dataset

from vidclip.data.formats.records import Record
from vidclip.moments.targets import pad_windows, query_windows, sample_ratings
from vidclip.video.transforms import decode_options, resize_to_square

logger = logging.getLogger("vidclip.data")


class VideoTextDataset(Dataset):
    """Records -> {"frames": uint8 (T, 3, H, W), "mask": bool (T,), "caption", "index", ...}.

    Sampling options go to `vidclip.video.read_frames` (num_frames uniform, default 8, or fps; mode,
    backend, jitter for training). clip_to_moment: decode only [start, end] of records that have a moment
    (trimmed retrieval); otherwise the whole video (moment retrieval keeps start/end as targets).
    size, interpolation, resize_mode: resize to size x size as the model's preprocessing does (uint8, in
    the worker, `vidclip.video.resize_to_square`), so videos of different resolutions share a batch;
    normalising stays on the model's device (`vidclip.video.model_input`). reader: a stand-in for
    read_frames (same signature), called in the worker;
    skip_errors: what it raises for a bad video (default VideoDecodeError).
    """

    def __init__(self, records: Sequence[Record], *, num_frames: int | None = None, fps: float | None = None,
                 mode: str = "exact", backend: str = "auto", jitter: bool = False, clip_to_moment: bool = False,
                 size: int | None = None, interpolation: str = "bicubic", resize_mode: str = "shortest",
                 transform: Callable | None = None, reader: Callable | None = None,
                 skip_errors: tuple[type[BaseException], ...] | None = None):
        if num_frames is not None and fps is not None:
            raise ValueError("give one of num_frames (uniform sampling) or fps, not both")
        if num_frames is None and fps is None:
            num_frames = 8
        self.records = records
        self.sampling = {"num_frames": num_frames, "fps": fps, "mode": mode, "backend": backend}
        if jitter:
            self.sampling["jitter"] = True
        self.clip_to_moment = clip_to_moment
        self.size, self.resize = size, {"interpolation": interpolation, "resize_mode": resize_mode}
        self.transform = transform
        self.reader = reader
        self.skip_errors = skip_errors
        self.num_skipped = 0  # in this process only; with workers, sum batch["skipped"] instead

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict | None:
        record = self.records[index]
        reader, skip_errors = self._reader()
        options = {key: value for key, value in self.sampling.items() if value is not None}
        if self.size is not None and self.reader is None:  # vidclip's reader: scale in the decoder
            options.update(decode_options(self.size, **self.resize))
        if self.clip_to_moment and record.has_moment:
            options.update(start=record.start, end=record.end)
        try:
            clip = reader(str(record.video), **options)
        except skip_errors as error:
            return self._skip(index, record, error)
        if clip.frames.ndim != 4 or clip.frames.shape[0] == 0:
            return self._skip(index, record, f"decoded no frames (shape {tuple(clip.frames.shape)})")
        frames = clip.frames  # (T, 3, H, W) uint8
        if self.size is not None:
            frames = resize_to_square(frames, self.size, **self.resize).contiguous()
        if self.transform is not None:
            frames = self.transform(frames)
        timestamps = torch.as_tensor(clip.timestamps, dtype=torch.float32).reshape(-1)
        extra = record.extra or {}
        return {
            "frames": frames,
            "mask": torch.ones(frames.shape[0], dtype=torch.bool),
            "timestamps": timestamps,
            "windows": query_windows(extra.get("relevant_windows"), record.start, record.end),  # (W, 2) seconds
            "saliency": sample_ratings(timestamps, extra),
            "duration": float(clip.duration) if clip.duration is not None else math.nan,
            "caption": record.caption,
            "index": index,
            "video_id": record.video_id,
            "start": record.start,
            "end": record.end,
            "label": record.label,
        }

    def _skip(self, index: int, record: Record, reason) -> None:
        self.num_skipped += 1
        logger.warning("skipping sample %d (%s, from %s): %s", index, record.video, record.source, reason)
        return None

    def _reader(self):
        """(decode function, errors that mean "bad sample"), imported lazily inside the worker."""
        reader, errors = self.reader, self.skip_errors
        if reader is None or errors is None:
            try:
                from vidclip.errors import VideoDecodeError
                from vidclip.video import read_frames
            except ImportError:
                if reader is None:
                    raise
                read_frames, VideoDecodeError = None, ValueError  # a stand-in reader without vidclip.video
            reader, errors = reader or read_frames, errors or (VideoDecodeError,)
        return reader, errors


def collate_videos(batch: list[dict | None]) -> dict:
    """Drop skipped samples (None), pad to the longest clip: frames (B, T, 3, H, W), mask (B, T).

    ``batch["skipped"]`` counts the dropped samples; B may be 0 when a whole batch was bad.
    Missing start/end become NaN, missing labels -1. "windows" (B, W, 2) holds every window of a
    query and "saliency" (B, T) its per-frame ratings (`vidclip.moments.targets`), NaN-padded.
    """
    samples = [sample for sample in batch if sample is not None]
    if not samples:
        return {"frames": torch.zeros(0, 0, 3, 0, 0, dtype=torch.uint8), "mask": torch.zeros(0, 0, dtype=torch.bool),
                "timestamps": torch.zeros(0, 0), "duration": torch.zeros(0), "caption": [], "video_id": [],
                "index": torch.zeros(0, dtype=torch.long), "start": torch.zeros(0), "end": torch.zeros(0),
                "label": torch.zeros(0, dtype=torch.long), "windows": torch.zeros(0, 1, 2),
                "saliency": torch.zeros(0, 0), "skipped": len(batch)}
    frame_shapes = {tuple(sample["frames"].shape[1:]) for sample in samples}
    if len(frame_shapes) > 1:
        raise ValueError(f"frames of different sizes {sorted(frame_shapes)} cannot share a batch; "
                         "pass size= to VideoTextDataset (or a transform) to resize them in the workers")
    length = max(sample["frames"].shape[0] for sample in samples)
    first = samples[0]["frames"]
    frames = first.new_zeros((len(samples), length, *first.shape[1:]))  # (B, T, 3, H, W)
    mask = torch.zeros(len(samples), length, dtype=torch.bool)  # (B, T)
    timestamps = torch.zeros(len(samples), length)  # (B, T)
    saliency = torch.full((len(samples), length), float("nan"))  # (B, T)
    for row, sample in enumerate(samples):
        count = sample["frames"].shape[0]
        frames[row, :count] = sample["frames"]
        mask[row, :count] = sample["mask"]
        timestamps[row, :count] = sample["timestamps"][:count]
        if "saliency" in sample:
            saliency[row, :count] = sample["saliency"][:count]
    return {
        "frames": frames,
        "mask": mask,
        "timestamps": timestamps,
        "windows": pad_windows([sample.get("windows", query_windows(None, sample["start"], sample["end"]))
                                for sample in samples]),
        "saliency": saliency,
        "duration": torch.tensor([sample["duration"] for sample in samples], dtype=torch.float32),
        "caption": [sample["caption"] for sample in samples],
        "video_id": [sample["video_id"] for sample in samples],
        "index": torch.tensor([sample["index"] for sample in samples], dtype=torch.long),
        "start": _float_or_nan(sample["start"] for sample in samples),
        "end": _float_or_nan(sample["end"] for sample in samples),
        "label": torch.tensor([-1 if sample["label"] is None else sample["label"] for sample in samples]),
        "skipped": len(batch) - len(samples),
    }


def _float_or_nan(values) -> torch.Tensor:
    return torch.tensor([math.nan if value is None else float(value) for value in values], dtype=torch.float32)
