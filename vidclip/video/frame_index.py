"""`FrameIndex`: every frame's presentation time and keyframe flag, read from the container.

One demux pass (no decoding: ~25 ms for a minute of 720p) gives the ground truth that all
backends are held to. It is also the guard against broken files: a header that claims more
frames than the file holds (the case that makes decord hang) is caught here, before any
decoder sees the file.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from vidclip.errors import VideoDecodeError

# Times closer than this to a frame's start count as inside it (float noise in t = k / fps).
TIME_EPS = 1e-6


@dataclass(frozen=True, eq=False)
class FrameIndex:
    """Frames of one video stream in display order."""

    path: str
    stream_index: int
    codec: str
    time_base: Fraction
    pts: np.ndarray  # int64 (N,), sorted: presentation timestamps in time_base units
    keyframe: np.ndarray  # bool (N,)
    end_pts: int  # when the last frame stops being shown
    fps: float
    exact_packet_pts: bool  # every packet carried its own pts (not guessed from dts)
    open_gop: bool  # frames after a keyframe in decode order are shown before it (HEVC CRA, ...)

    def __len__(self) -> int:
        return len(self.pts)

    @functools.cached_property
    def seconds(self) -> np.ndarray:
        """Presentation time of each frame, float64 seconds, (N,)."""
        return self.pts.astype(np.float64) * float(self.time_base)

    @functools.cached_property
    def rotation(self) -> int:
        """Display rotation in degrees counter-clockwise (0, 90, 180 or 270), from the first
        keyframe (PyAV reads the display matrix per frame only)."""
        import av

        try:
            with av.open(self.path) as container:
                stream = container.streams[self.stream_index]
                stream.codec_context.skip_frame = "NONKEY"
                frame = next(container.decode(stream), None)
        except av.error.FFmpegError:
            return 0
        return round(frame.rotation / 90) % 4 * 90 if frame is not None else 0

    @property
    def begin(self) -> float:
        return float(self.seconds[0])

    @property
    def end(self) -> float:
        return float(self.end_pts * self.time_base)

    @property
    def duration(self) -> float:
        return self.end - self.begin

    def frames_at(self, times: np.ndarray) -> np.ndarray:
        """Index of the frame on screen at each time: pts <= t < next pts (clamped to the ends)."""
        ids = np.searchsorted(self.seconds, np.asarray(times, np.float64) + TIME_EPS, side="right") - 1
        return np.clip(ids, 0, len(self) - 1)

    def keyframes_before(self, ids: np.ndarray) -> np.ndarray:
        """Index of the nearest keyframe at or before each frame (the first keyframe if none is)."""
        key_ids = np.flatnonzero(self.keyframe)
        pos = np.searchsorted(key_ids, ids, side="right") - 1
        return key_ids[np.maximum(pos, 0)]

    def decode_runs(self, ids: np.ndarray) -> list[tuple[int, list[int]]]:
        """Split sorted frame ids into runs of (keyframe to seek to, frames decoded after it).

        A run ends only where a keyframe lies after the last wanted frame and at or before the
        next one: seeking there skips work, while continuing would decode frames nobody wants.
        So dense requests decode sequentially and sparse ones jump from GOP to GOP.
        """
        runs: list[tuple[int, list[int]]] = []
        previous = -1
        for frame, key in zip(ids.tolist(), self.keyframes_before(ids).tolist()):
            if not runs or key > previous:
                runs.append((key, [frame]))
            else:
                runs[-1][1].append(frame)
            previous = frame
        return runs


def scan(path: str | os.PathLike) -> FrameIndex:
    """Index the best video stream of `path`; VideoDecodeError if it is not a readable video.

    Cached by (path, size, mtime), so reading several windows of one video scans it once.
    """
    path = os.fspath(path)
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise VideoDecodeError(path, "file not found") from None
    except OSError as error:
        raise VideoDecodeError(path, f"cannot access file ({error.strerror})") from None
    if not os.path.isfile(path):
        raise VideoDecodeError(path, "not a regular file")
    if stat.st_size == 0:
        raise VideoDecodeError(path, "file is empty (0 bytes)")
    return _scan_cached(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _scan_cached(path: str, size: int, mtime_ns: int) -> FrameIndex:
    import av

    try:
        container = av.open(path, metadata_errors="ignore")
    except av.error.FFmpegError as error:
        raise VideoDecodeError(path, f"not a readable video container ({_ffmpeg_reason(error)})") from None
    try:
        return _index_stream(path, container)
    finally:
        container.close()


def _index_stream(path: str, container) -> FrameIndex:
    import av

    streams = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not streams:
        raise VideoDecodeError(path, "no video stream (audio-only or data file)")
    stream = streams[0]
    pts, keys, durations, guessed, damaged, packets = [], [], [], False, 0, 0
    last_key, open_gop = None, False
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            packets += 1
            damaged += packet.is_corrupt
            if packet.is_discard:  # decoded but never shown (e.g. trimmed by an MP4 edit list)
                continue
            stamp = packet.pts
            if stamp is None:
                stamp, guessed = packet.dts, True
            if stamp is None:
                raise VideoDecodeError(path, "video packets carry no timestamps; remux it (vidclip prepare)")
            if packet.is_keyframe:
                last_key = stamp
            elif last_key is not None and stamp < last_key:
                open_gop = True
            pts.append(stamp)
            keys.append(packet.is_keyframe)
            durations.append(packet.duration or 0)
    except av.error.FFmpegError as error:
        raise VideoDecodeError(path, f"container damaged after {len(pts)} packets ({_ffmpeg_reason(error)})") from None

    if not pts:
        raise VideoDecodeError(path, "no video frames (zero-frame video)")
    claimed = stream.frames or 0
    if claimed > packets or damaged:
        raise VideoDecodeError(
            path, f"truncated file: the header claims {claimed} frames, the file holds {packets - damaged} whole ones"
        )

    order = np.argsort(np.asarray(pts, np.int64), kind="stable")
    pts_sorted = np.asarray(pts, np.int64)[order]
    keep = np.concatenate([[True], np.diff(pts_sorted) > 0])  # duplicate pts: one frame per time
    order, pts_sorted = order[keep], pts_sorted[keep]
    keyframe = np.asarray(keys, bool)[order]
    if not keyframe.any():
        raise VideoDecodeError(path, "no keyframe in the video stream")

    last = int(pts_sorted[-1])
    step = int(np.median(np.diff(pts_sorted))) if len(pts_sorted) > 1 else 0
    last_duration = int(np.asarray(durations, np.int64)[order][-1]) or step
    time_base = Fraction(stream.time_base)
    if last_duration <= 0:  # a single frame with no duration: fall back to the nominal rate
        rate = stream.average_rate or stream.guessed_rate or 25
        last_duration = max(1, round(1 / (Fraction(rate) * time_base)))
    end_pts = last + last_duration
    seconds = (end_pts - int(pts_sorted[0])) * float(time_base)
    fps = float(stream.average_rate) if stream.average_rate else len(pts_sorted) / seconds
    return FrameIndex(
        path=path,
        stream_index=stream.index,
        codec=stream.codec_context.name,
        time_base=time_base,
        pts=pts_sorted,
        keyframe=keyframe,
        end_pts=end_pts,
        fps=fps,
        exact_packet_pts=not guessed,
        open_gop=open_gop,
    )


def _ffmpeg_reason(error) -> str:
    """FFmpeg's own words without the file name PyAV repeats in them."""
    return getattr(error, "strerror", None) or str(error)
