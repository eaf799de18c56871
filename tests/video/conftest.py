"""Test videos, encoded once per session into a temp dir with the ffmpeg CLI (and PyAV where
the CLI cannot say it: exact variable frame timing).

Most videos show frame k in a flat colour that encodes k (see `frame_number`), so a test can
tell WHICH frame came back, not just that some frame did. `ffmpeg_truth` decodes every frame
with the ffmpeg CLI and ffprobe: an oracle independent of the code under test.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest
from videotools import VFR_DURATIONS_MS, Truth, encode, ffmpeg, ffmpeg_truth, index_frames

if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
    pytest.skip("the video tests need the ffmpeg and ffprobe CLIs", allow_module_level=True)


@dataclass
class Video:
    path: Path
    count: int  # frames encoded
    rate: float

    @property
    def truth(self) -> Truth:
        if not hasattr(self, "_truth"):
            self._truth = ffmpeg_truth(self.path)
        return self._truth


X264_SHORT_GOP = ("-c:v", "libx264", "-preset", "ultrafast", "-bf", "0")


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, Video]:
    """Small videos of every kind read_frames must handle, keyed by a short name."""
    out = tmp_path_factory.mktemp("videos")
    made: dict[str, Video] = {}

    def add(name, count, rate, path):
        made[name] = Video(path, count, rate)

    small = index_frames(72, 48, 64)  # 3 s at 24 fps
    # H.264 with B-frames and a 12-frame GOP: reordering and seeking across GOPs.
    add("h264", 72, 24, encode(out / "h264.mp4", small, 24, "-c:v", "libx264", "-preset", "veryfast",
                               "-g", "12", "-bf", "3", "-pix_fmt", "yuv420p", "-crf", "12"))
    add("hevc", 48, 24, encode(out / "hevc.mp4", small[:48], 24, "-c:v", "libx265", "-preset", "ultrafast",
                               "-x265-params", "log-level=error:keyint=12", "-pix_fmt", "yuv420p", "-crf", "12"))
    add("vp9", 48, 24, encode(out / "vp9.webm", small[:48], 24, "-c:v", "libvpx-vp9", "-deadline", "realtime",
                              "-cpu-used", "8", "-g", "12", "-crf", "20", "-b:v", "0"))
    add("mpeg4", 48, 24, encode(out / "mpeg4.avi", small[:48], 24, "-c:v", "mpeg4", "-q:v", "2", "-g", "12"))
    add("yuv444_odd", 6, 24, encode(out / "odd_1279x719.mp4", index_frames(6, 719, 1279), 24,
                                    *X264_SHORT_GOP, "-pix_fmt", "yuv444p", "-crf", "12"))
    add("10bit", 48, 24, encode(out / "10bit.mp4", small[:48], 24, "-c:v", "libx264", "-preset", "ultrafast",
                                "-pix_fmt", "yuv420p10le", "-g", "12", "-crf", "12"))
    # Phone video: stored landscape, with a display matrix saying "rotate 90°".
    plain = encode(out / "plain.mp4", small[:24], 24, *X264_SHORT_GOP, "-pix_fmt", "yuv420p", "-crf", "12")
    for degrees in (90, 180, 270):
        path = out / f"rotated{degrees}.mp4"
        ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", f"rotate={degrees}", str(path))
        add(f"rotated{degrees}", 24, 24, path)
    add("vfr", 12, 0, _variable_rate(out / "vfr.mp4"))
    # Long GOP for keyframe mode: 4 s at 30 fps, keyframes exactly every second, B-frames.
    add("long_gop", 120, 30, encode(out / "long_gop.mp4", index_frames(120, 48, 64), 30, "-c:v", "libx264",
                                    "-preset", "veryfast", "-g", "30", "-keyint_min", "30", "-sc_threshold", "0",
                                    "-bf", "2", "-pix_fmt", "yuv420p", "-crf", "12"))
    # MPEG-TS: no seek index and a clock that starts at 1.4 s.
    add("mpegts", 48, 24, encode(out / "clip.ts", small[:48], 24, *X264_SHORT_GOP, "-g", "12", "-pix_fmt",
                                 "yuv420p", "-crf", "12"))
    return made


def _variable_rate(path: Path) -> Path:
    """Frames held for irregular times (VFR_DURATIONS_MS), written with exact pts through PyAV."""
    import av

    frames = index_frames(len(VFR_DURATIONS_MS), 48, 64)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25, options={"crf": "12", "g": "6", "bf": "0"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        pts, packets = 0, []
        for image, duration in zip(frames, VFR_DURATIONS_MS):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            pts += duration
            packets += stream.encode(frame)
        packets += stream.encode()
        for packet, duration in zip(packets, VFR_DURATIONS_MS):  # no B-frames: packets in frame order
            packet.duration = duration  # so the last frame's duration is stored too
        container.mux(packets)
    return path


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory, videos) -> dict[str, tuple[Path, str]]:
    """Broken inputs, each with the reason (a regex) its VideoDecodeError must give."""
    out = tmp_path_factory.mktemp("bad")
    empty = out / "empty.mp4"
    empty.write_bytes(b"")
    text = out / "notes.mp4"
    text.write_text("this is a text file, not a video\n" * 20)
    audio = out / "audio_only.mp4"
    ffmpeg("-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", str(audio))
    zero = out / "zero_frames.mkv"
    ffmpeg("-f", "lavfi", "-i", "sine=d=1", "-f", "lavfi", "-i", "testsrc2=s=64x48:r=10", "-map", "0:a",
           "-map", "1:v", "-c:v", "libx264", "-frames:v", "0", "-t", "1", str(zero))
    # moov first (faststart), half the samples cut off: the header claims frames that are not there.
    whole = out / "whole.mp4"
    encode(whole, index_frames(48, 48, 64), 24, *X264_SHORT_GOP, "-movflags", "+faststart")
    truncated = out / "truncated.mp4"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    # moov last and cut off: no index at all.
    no_moov = out / "no_moov.mp4"
    no_moov.write_bytes(videos["h264"].path.read_bytes()[:2000])
    return {
        "missing": (out / "missing.mp4", "file not found"),
        "empty": (empty, r"empty \(0 bytes\)"),
        "text": (text, "not a readable video container"),
        "audio_only": (audio, "no video stream"),
        "zero_frames": (zero, "no video frames"),
        "truncated": (truncated, "truncated file: the header claims 48 frames"),
        "no_moov": (no_moov, "not a readable video container"),
    }
