"""Transcode a folder of videos to short-GOP, small H.264 copies (what `vidclip prepare` runs).

Long GOPs make every random frame cost a whole GOP of decoding, and full-resolution frames
are decoded only to be shrunk to 224 pixels. CLIP4Clip users re-encode datasets by hand with
ffmpeg for this; this module does it in parallel, keeps relative names, and lists failures
instead of stopping at the first one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from vidclip.video.files import find_videos


@dataclass
class Summary:
    converted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # outputs already there
    failed: dict[str, str] = field(default_factory=dict)  # source -> reason

    def as_dict(self) -> dict:
        return {"converted": self.converted, "skipped": self.skipped, "failed": self.failed}


def output_path(src_root: Path, source: Path, dst_root: Path) -> Path:
    """dst_root / the same relative path, as .mp4."""
    return (Path(dst_root) / Path(source).relative_to(src_root)).with_suffix(".mp4")


def prepare(
    src: Path,
    dst: Path,
    *,
    size: int = 224,
    gop_seconds: float = 1.0,
    fps: float | None = None,
    workers: int | None = None,
    overwrite: bool = False,
    progress=None,
) -> Summary:
    """Transcode every video under `src` into `dst`; `progress(path)` is called as each finishes."""
    src, dst = Path(src), Path(dst)
    sources = [Path(path) for path in find_videos(src)] if src.is_dir() else []
    summary = Summary()
    todo = []
    for source in sources:
        target = output_path(src, source, dst)
        if target.exists() and not overwrite:
            summary.skipped.append(str(source))
        else:
            todo.append((source, target))

    def work(job):
        source, target = job
        try:
            transcode(source, target, size=size, gop_seconds=gop_seconds, fps=fps)
            return source, None
        except Exception as error:  # a bad file is listed, never fatal
            return source, str(error) or type(error).__name__

    threads = workers or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=threads) as pool:  # the work runs in ffmpeg / FFmpeg's C code
        for source, error in pool.map(work, todo):
            if error is None:
                summary.converted.append(str(source))
            else:
                summary.failed[str(source)] = error
            if progress is not None:
                progress(source)
    return summary


def transcode(source: Path, target: Path, *, size: int = 224, gop_seconds: float = 1.0, fps: float | None = None):
    """One file: short side `size` (never upscaled, rotation applied), a keyframe every
    `gop_seconds`, H.264 yuv420p, no audio. Written to a temp name, then renamed, so a failed or
    interrupted run never leaves a half file that looks finished."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.stem}.partial.mp4")
    try:
        if shutil.which("ffmpeg"):
            _ffmpeg(source, partial, size, gop_seconds, fps)
        else:
            _pyav(source, partial, size, gop_seconds, fps)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _ffmpeg(source: Path, target: Path, size: int, gop_seconds: float, fps: float | None) -> None:
    short = f"min({size},min(iw,ih))"  # iw, ih: after ffmpeg's automatic rotation
    scale = (
        f"scale=w='trunc(if(lte(iw,ih),{short},iw*{short}/ih)/2)*2'"
        f":h='trunc(if(lte(iw,ih),ih*{short}/iw,{short})/2)*2'"
    )
    filters = scale + (f",fps={fps}" if fps else "")
    command = [
        "ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), "-map", "0:v:0", "-an", "-sn", "-dn",
        "-vf", filters, "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
        "-force_key_frames", f"expr:gte(t,n_forced*{gop_seconds})", "-threads", "1",
        "-movflags", "+faststart", "-f", "mp4", str(target),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise RuntimeError(lines[-1] if lines else f"ffmpeg exited with {result.returncode}")


def _pyav(source: Path, target: Path, size: int, gop_seconds: float, fps: float | None) -> None:
    """The same transcode through PyAV, for machines without the ffmpeg CLI."""
    import av
    import numpy as np

    if fps:
        raise RuntimeError("--fps needs the ffmpeg CLI")
    with av.open(str(source)) as reader, av.open(str(target), "w", format="mp4") as writer:
        if not reader.streams.video:
            raise RuntimeError("no video stream")
        stream = reader.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate or 25
        out = None
        for frame in reader.decode(stream):
            turns = round(frame.rotation / 90) % 4
            if out is None:
                width, height = (frame.height, frame.width) if turns % 2 else (frame.width, frame.height)
                short = min(size, width, height)
                scale = short / min(width, height)
                width, height = int(width * scale) // 2 * 2, int(height * scale) // 2 * 2
                out = writer.add_stream("libx264", rate=rate, options={"preset": "veryfast", "crf": "23"})
                out.width, out.height, out.pix_fmt = width, height, "yuv420p"
                out.gop_size = max(1, round(float(rate) * gop_seconds))
                out.time_base = out.codec_context.time_base = stream.time_base
            # resize in the stored orientation, then rotate as a player would
            stored = (height, width) if turns % 2 else (width, height)
            image = frame.reformat(width=stored[0], height=stored[1], format="rgb24").to_ndarray()
            image = np.ascontiguousarray(np.rot90(image, turns))
            new = av.VideoFrame.from_ndarray(image, format="rgb24")
            new.pts, new.time_base = frame.pts, frame.time_base
            writer.mux(out.encode(new))
        if out is None:
            raise RuntimeError("no video frames")
        writer.mux(out.encode())
