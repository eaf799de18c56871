"""PyAV backend: vidclip's own decode loop, the fastest on CPU (see tools/bench_decode.py).

It does less work than decord, torchcodec or a plain PyAV loop:
- it seeks only where a keyframe lies between two wanted frames (`FrameIndex.decode_runs`);
- on the way to a wanted frame it tells the decoder to skip non-reference frames, which no
  other frame depends on (about half of a default x264 stream);
- it converts only the wanted frames to RGB, at the size asked for (`short_side`) when smaller;
- keyframe requests decode one packet per keyframe and nothing else.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from vidclip.errors import VideoDecodeError
from vidclip.video.frame_index import FrameIndex

# Codecs whose packet pts is the pts of the frame it holds, so skipping by packet is safe.
_SKIPPABLE = {"h264", "hevc"}
# Codecs decoded faster as independent keyframe runs on several threads than with FFmpeg's frame threads.
_RUN_PARALLEL = {"vp9"}
_MAX_RUN_THREADS = 4


# torch / open_clip interpolation names -> swscale's
_SWSCALE = {"bicubic": "BICUBIC", "bilinear": "BILINEAR", "nearest": "POINT", "area": "AREA"}


def decode(index: FrameIndex, ids: np.ndarray, *, device: str = "cpu", short_side: int | None = None,
           interpolation: str = "bicubic") -> tuple[torch.Tensor, np.ndarray]:
    """Frames `ids` (sorted, unique) as uint8 (N, 3, H, W) and their decoded pts in seconds; frames
    larger than `short_side` come out scaled down to it (see `read_frames`)."""
    import av

    if torch.device(device).type != "cpu":
        raise ValueError(f"the pyav backend decodes on the CPU only (device={device!r}); use backend='torchcodec'")
    sink = _Sink(index.path, index.pts[ids].tolist(), short_side=short_side,
                 interpolation=_SWSCALE.get(interpolation, "BICUBIC"))
    try:
        if index.keyframe[ids].all() and index.exact_packet_pts:
            _keyframes(index, sink)
        else:
            skip = index.codec in _SKIPPABLE and index.exact_packet_pts
            _exact(index, sink, skip_nonref=skip)
            if skip and sink.missing():  # a stream that breaks the packet/frame pairing
                _exact(index, sink, skip_nonref=False)
    except av.error.FFmpegError as error:
        raise VideoDecodeError(index.path, f"decoding failed ({error.strerror or error})") from None
    missing = sink.missing()
    if missing:
        seconds = [round(float(p * index.time_base), 6) for p in sorted(missing)[:5]]
        raise VideoDecodeError(index.path, f"frames at {seconds} s could not be decoded (damaged stream)")
    return sink.frames(), index.seconds[ids]


class _Sink:
    """Wanted frames, converted to RGB straight into one (N, H, W, 3) buffer as they come out
    of the decoder (a list + stack would copy every frame twice: seconds for a long video)."""

    def __init__(self, path: str, pts: list[int], *, short_side: int | None = None, interpolation: str = "BICUBIC"):
        self.path = path
        self.short_side, self.interpolation = short_side, interpolation
        self.slot = {stamp: i for i, stamp in enumerate(pts)}
        self.filled: set[int] = set()
        self.buffer: np.ndarray | None = None
        self.rotation = 0
        self.lock = threading.Lock()  # runs may decode on several threads (`_exact`)

    def wants(self, pts) -> bool:
        return pts in self.slot and pts not in self.filled

    def missing(self) -> set[int]:
        return self.slot.keys() - self.filled

    def _scaled(self, width: int, height: int) -> dict:
        """reformat() options that shrink the short side to `short_side`, as `resize_short_side` would."""
        if self.short_side is None or min(width, height) <= self.short_side:
            return {}
        size = self.short_side
        # the long side truncated, as torchvision's Resize computes it
        new_w, new_h = (int(size * width / height), size) if height <= width else (size, int(size * height / width))
        return {"width": new_w, "height": new_h, "interpolation": self.interpolation}

    def put(self, frame) -> None:
        image = frame.to_ndarray(format="rgb24", **self._scaled(frame.width, frame.height))  # (H, W, 3)
        with self.lock:
            if self.buffer is None:
                self.buffer = np.empty((len(self.slot), *image.shape), np.uint8)  # (N, H, W, 3)
                self.rotation = frame.rotation
            elif image.shape != self.buffer.shape[1:]:
                raise VideoDecodeError(self.path, f"frame size changes mid-stream ({image.shape} vs {self.buffer.shape[1:]})")
            self.buffer[self.slot[frame.pts]] = image
            self.filled.add(frame.pts)

    def frames(self) -> torch.Tensor:
        batch = torch.from_numpy(self.buffer)  # (N, H, W, 3)
        quarter_turns = round(self.rotation / 90) % 4
        if quarter_turns:  # as a player shows it: the display rotation is counter-clockwise
            batch = torch.rot90(batch, quarter_turns, dims=(1, 2))
        return batch.permute(0, 3, 1, 2)  # (N, 3, H, W), channels-last memory


def _exact(index: FrameIndex, sink: _Sink, *, skip_nonref: bool) -> None:
    """Decode runs from their keyframes into `sink`, one seek per run; the runs split between
    threads where the codec's own frame threads gain little (`_run_threads`)."""
    ids = np.array(sorted(np.searchsorted(index.pts, list(sink.missing()))), dtype=np.int64)
    skip = set(sink.slot) if skip_nonref else None
    runs = index.decode_runs(ids)
    workers = _run_threads(index, len(runs))
    if workers > 1:
        groups = [runs[i::workers] for i in range(workers)]  # interleaved: equal shares of the video
        with ThreadPoolExecutor(workers) as pool:
            done = all(list(pool.map(lambda group: _decode_runs(index, sink, group, skip, thread_type="NONE"), groups)))
    else:
        done = _decode_runs(index, sink, runs, skip, thread_type="AUTO")  # frame threads
    if done:
        return
    with _open(index) as (container, stream):  # plan B: one pass from the start, no seeking
        stream.thread_type = "AUTO"
        _collect(_decode_from(container, stream, None, skip), sink, sink.missing())


def _run_threads(index: FrameIndex, runs: int) -> int:
    """Threads to split `runs` between: one per core, at most _MAX_RUN_THREADS, for codecs whose
    FFmpeg decoder barely parallelises (VP9 frame threads wait for each frame's probability context
    unless the encoder chose parallel mode, which libvpx does not by default: 1.05x on 2 cores, while
    independent runs from their own keyframes give ~1.35x); 1 otherwise (H.264's frame threads
    already use the cores). The cap: batch embedding decodes several videos at once in its workers."""
    if index.codec not in _RUN_PARALLEL or runs < 2:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(runs, cores, _MAX_RUN_THREADS))


def _decode_runs(index: FrameIndex, sink: _Sink, runs, skip: set | None, *, thread_type: str) -> bool:
    """Decode `runs` into `sink` on one open container; False when a seek missed its keyframe (a
    container without an index, e.g. MPEG-TS)."""
    with _open(index) as (container, stream):
        stream.thread_type = thread_type
        for key, run in runs:
            need = {int(index.pts[i]) for i in run} - sink.filled
            if need and not _collect(_decode_from(container, stream, int(index.pts[key]), skip), sink, need):
                return False
    return True


def _collect(frames, sink: _Sink, need: set) -> bool:
    """Put the wanted frames from `frames` into `sink` until `need` is met; False if it cannot be."""
    first = True
    for frame in frames:
        if first and (frame.pts is None or frame.pts > min(need)):
            frames.close()  # decoding starts past the first needed frame: the seek missed
            return False
        first = False
        if sink.wants(frame.pts):
            sink.put(frame)
            need.discard(frame.pts)
            if not need:
                frames.close()
                return True
    return False


def _decode_from(container, stream, pts: int | None, wanted: set | None):
    """Yield decoded frames from the keyframe at or before `pts` (None: from where the container
    stands) to the end of the stream, skipping non-reference frames not in `wanted`."""
    codec = stream.codec_context
    if pts is not None:
        container.seek(pts, stream=stream, backward=True, any_frame=False)
        codec.flush_buffers()
    skipping = None
    for packet in container.demux(stream):
        if wanted is not None and packet.size:
            skip = packet.pts not in wanted
            if skip != skipping:
                codec.skip_frame = "NONREF" if skip else "DEFAULT"
                skipping = skip
        yield from codec.decode(packet if packet.size else None)


def _keyframes(index: FrameIndex, sink: _Sink) -> None:
    """Decode each keyframe's own packet with every other frame skipped."""
    with _open(index) as (container, stream):
        codec = stream.codec_context
        codec.skip_frame = "NONKEY"
        for target in list(sink.slot):
            container.seek(target, stream=stream, backward=True, any_frame=False)
            codec.flush_buffers()
            for packet in container.demux(stream):
                if packet.size == 0 or (packet.is_keyframe and packet.pts > target):
                    break  # the seek missed it: decoded below without seeking
                if packet.pts != target:
                    continue
                for frame in codec.decode(packet) or codec.decode(None):  # None: drain the reorder delay
                    if sink.wants(frame.pts):
                        sink.put(frame)
                codec.flush_buffers()
                break
    if sink.missing():
        _exact(index, sink, skip_nonref=False)


class _open:
    """`with _open(index) as (container, stream)`: the indexed stream, closed on exit."""

    def __init__(self, index: FrameIndex):
        import av

        try:
            self.container = av.open(index.path)
        except av.error.FFmpegError as error:
            raise VideoDecodeError(index.path, f"cannot open ({error.strerror or error})") from None
        self.stream = self.container.streams[index.stream_index]

    def __enter__(self):
        return self.container, self.stream

    def __exit__(self, *exc):
        self.container.close()
