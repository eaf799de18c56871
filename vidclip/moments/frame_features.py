"""Per-frame features of a whole video at a fixed rate, computed in chunks and cached.

Long videos are decoded a chunk at a time (the next chunk decodes in a thread while the model
encodes this one), so memory stays bounded by the chunk, not the video. The result (N, D) is small
(an hour at 1 fps and D=512 is 3.5 MB in float16) and is cached in memory and optionally on disk,
keyed by the file's path, size and mtime, the model identity and the rate, so further queries on
the same video cost one text encoding.
"""

import hashlib
import json
import warnings
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vidclip.errors import InputError, VideoDecodeError, describe_os_error
from vidclip.search.index_file import file_signature


# Bumped whenever the way frames become features changes, so no cache serves features of the old way.
# 2: clips grouped across decoding chunks, overlapping by one frame for VDI (`ClipStream`).
FEATURES_LAYOUT = 2


@dataclass
class FrameFeatures:
    timestamps: np.ndarray  # (N,) seconds
    features: torch.Tensor  # (N, D) float16, L2-normalised
    duration: float


def _decode_chunk(path: str, fps: float, start: float, end: float, options: dict):
    from vidclip.video import read_frames

    return read_frames(path, fps=fps, start=start, end=end, **options)


def compute_frame_features(pipeline, path, *, fps: float = 1.0, chunk_seconds: float = 64.0,
                           progress=None) -> FrameFeatures:
    """Encode `path` sampled at `fps`, consecutive frames grouped into clips of the model's length.

    Times are seconds from the video's first frame (the stream clock may not start at 0).
    `progress(fraction)` is called after each chunk, so a caller can show how far a long video is.
    """
    from vidclip.video.frame_index import scan

    path = str(path)
    frame_index = scan(path)  # one demux pass, cached: the span to cut into chunks
    if frame_index.fps and fps > frame_index.fps * 1.001:
        raise InputError(f"fps {fps:g}: {path} has only {frame_index.fps:.3g} frames per second; "
                         f"sample at most that rate (--fps {frame_index.fps:.3g})")
    begin, end = frame_index.begin, frame_index.end
    chunks = [(t, min(t + chunk_seconds, end)) for t in np.arange(begin, end, chunk_seconds)]
    times, encoder = [], ClipStream(pipeline)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidclip-chunk") as pool:
        options = pipeline.decode_options
        pending = [pool.submit(_decode_chunk, path, fps, *chunks[0], options)] if chunks else []
        for number in range(len(chunks)):
            clip = pending.pop().result()
            if number + 1 < len(chunks):  # decode the next chunk while the model encodes this one
                pending.append(pool.submit(_decode_chunk, path, fps, *chunks[number + 1], options))
            if len(clip.frames):
                times.append(clip.timestamps.numpy().astype(np.float64) - begin)
                encoder.add(clip.frames)
            if progress is not None:
                progress((number + 1) / len(chunks))
    if not times:
        raise VideoDecodeError(path, "no frames could be decoded")
    return FrameFeatures(np.concatenate(times), encoder.finish(), float(end - begin))


class ClipStream:
    """Encodes a stream of frames as the model's clips of T consecutive frames, whatever the decoding
    chunks: a chunk's leftover frames wait for the next, so chunking never changes a feature.

    An adapter that reads frame-to-frame change (VDI's spatial dynamics) would see none at a clip's
    first frame, so for it every clip but the video's first opens with the previous clip's last frame
    (T - 1 new frames per clip) and that frame's output is dropped.
    """

    def __init__(self, pipeline):
        self.pipeline, self.num_frames = pipeline, pipeline.num_frames
        reads_change = getattr(getattr(pipeline.model, "adapter", None), "needs_patches", False)
        self.overlap = 1 if reads_change and self.num_frames > 1 else 0
        self.pending = None  # (n, 3, S, S) normalised frames not encoded yet (a context frame first)
        self.started = False
        self.features = []

    def add(self, frames: torch.Tensor) -> None:
        """uint8 frames (n, 3, H, W), in order."""
        pixels = self.pipeline.normalize(self.pipeline.resize(frames))  # (n, 3, S, S)
        self.pending = pixels if self.pending is None else torch.cat([self.pending, pixels])
        self._encode(final=False)

    def finish(self) -> torch.Tensor:
        """-> (N, D) float16 on the CPU, one row per frame added."""
        self._encode(final=True)
        return torch.cat(self.features)

    def _encode(self, final: bool) -> None:
        T = self.num_frames
        clips, kept = [], []  # clips (T, 3, S, S) zero-padded; kept: (first, count) of their new frames
        while self.pending is not None:
            lead = self.overlap if self.started else 0  # the context frame at pending[0]
            new = min(T - lead, len(self.pending) - lead)
            if new <= 0 or (new < T - lead and not final):
                break
            clip = self.pending.new_zeros(T, *self.pending.shape[1:])
            clip[: lead + new] = self.pending[: lead + new]
            clips.append(clip)
            kept.append((lead, new))
            self.pending = self.pending[lead + new - self.overlap :]  # the last frame stays as context
            self.started = True
        if not clips:
            return
        mask = torch.stack([torch.arange(T) < lead + new for lead, new in kept])  # (K, T)
        per_frame = self.pipeline.encode_clips(torch.stack(clips), mask)["frames"]  # (K, T, D)
        for row, (lead, new) in zip(per_frame, kept):
            self.features.append(row[lead : lead + new].to(torch.float16).cpu())


class FeatureCache:
    """LRU in memory, plus safetensors files in `directory` when given (survives the process)."""

    def __init__(self, directory=None, max_videos: int = 16):
        self.directory = Path(directory) if directory else None
        self.max_videos = max_videos
        self._memory = OrderedDict()

    @staticmethod
    def key(path, identity: dict, fps: float) -> str:
        signature = file_signature(path)  # raises FileNotFoundError for a missing video
        blob = json.dumps({"file": signature, "model": identity, "fps": float(fps), "layout": FEATURES_LAYOUT},
                          sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def get(self, key: str):
        if key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key]
        file = self.directory / f"{key}.safetensors" if self.directory else None
        if file is not None and file.is_file():
            from safetensors.torch import load_file, safe_open

            try:
                tensors = load_file(file)
                with safe_open(file, framework="pt") as handle:
                    duration = float(handle.metadata()["duration"])
            except Exception:  # a damaged cache entry is only a miss: it is recomputed and rewritten
                return None
            found = FrameFeatures(tensors["timestamps"].numpy(), tensors["features"], duration)
            self._remember(key, found)
            return found
        return None

    def put(self, key: str, value: FrameFeatures) -> None:
        """Keep `value`; a disk cache that cannot be written (full, read-only) only warns: the
        features are already computed and the answer must not be lost for a cache."""
        self._remember(key, value)
        if self.directory is not None:
            from safetensors.torch import save_file

            from vidclip.atomic import atomic_path

            tensors = {"timestamps": torch.from_numpy(value.timestamps), "features": value.features.contiguous()}
            file = self.directory / f"{key}.safetensors"
            try:
                with atomic_path(file) as tmp:
                    save_file(tensors, str(tmp), metadata={"duration": repr(value.duration)})
            except OSError as error:
                warnings.warn(f"frame-feature cache not written ({describe_os_error(error)}); going on without it",
                              stacklevel=2)

    def _remember(self, key, value) -> None:
        self._memory[key] = value
        self._memory.move_to_end(key)
        while len(self._memory) > self.max_videos:
            self._memory.popitem(last=False)
