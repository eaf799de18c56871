"""Helpers shared by the video tests and their fixtures (imported by name: `from videotools import ...`)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

# Durations (ms) of the frames of the variable-rate video.
VFR_DURATIONS_MS = [40, 40, 100, 20, 20, 250, 40, 40, 100, 60, 33, 67]


def index_colour(k: int) -> tuple[int, int, int]:
    """Frame k's colour: two base-16 digits of k in R and G, 16 levels apart (survives lossy codecs)."""
    return (16 * (k // 16 % 16) + 8, 16 * (k % 16) + 8, 128)


def frame_number(frame) -> int:
    """Inverse of `index_colour` for a (3, H, W) frame (tensor or array), read at its centre."""
    frame = np.asarray(frame)
    h, w = frame.shape[-2:]
    patch = frame[:, h // 4 : 3 * h // 4, w // 4 : 3 * w // 4].reshape(3, -1).astype(np.float64).mean(1)
    return int(round((patch[0] - 8) / 16)) * 16 + int(round((patch[1] - 8) / 16))


def index_frames(count: int, height: int, width: int) -> np.ndarray:
    """(count, H, W, 3) uint8: frame k filled with index_colour(k), plus a small white square
    in the top-left corner so that orientation can be checked."""
    frames = np.empty((count, height, width, 3), np.uint8)
    for k in range(count):
        frames[k] = index_colour(k)
    frames[:, : max(2, height // 8), : max(2, width // 8)] = 255
    return frames


def ffmpeg(*args: str, stdin: bytes | None = None) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin" if stdin is None else "-y", "-y", *args],
                   input=stdin, check=True, capture_output=True)


def encode(path: Path, frames: np.ndarray, rate: int, *codec_args: str) -> Path:
    """Pipe raw RGB frames (N, H, W, 3) through the ffmpeg CLI with the given codec arguments."""
    n, h, w, _ = frames.shape
    ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(rate), "-i", "-",
           *codec_args, str(path), stdin=frames.tobytes())
    return path


@dataclass
class Truth:
    """Every frame as the ffmpeg CLI shows it (rotation applied), with ffprobe's pts."""

    seconds: np.ndarray  # float64 (N,)
    frames: np.ndarray  # uint8 (N, 3, H, W)
    keyframe: np.ndarray  # bool (N,)

    def at(self, t: float) -> int:
        """The frame on screen at t."""
        return int(np.searchsorted(self.seconds, t + 1e-6, side="right") - 1)


def ffmpeg_truth(path: Path) -> Truth:
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=time_base:frame=best_effort_timestamp:packet=pts,flags", "-of", "json", str(path)],
        check=True, capture_output=True).stdout)
    time_base = Fraction(probe["streams"][0]["time_base"])
    entries = probe["packets_and_frames"]
    stamps = np.array([f["best_effort_timestamp"] for f in entries if f["type"] == "frame"], np.int64)
    key_pts = {p["pts"] for p in entries if p["type"] == "packet" and "K" in p["flags"]}  # the container's word
    keys = np.array([s in key_pts for s in stamps.tolist()], bool)
    ppm = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-fps_mode", "passthrough",
                          "-pix_fmt", "rgb24", "-f", "image2pipe", "-c:v", "ppm", "-"], check=True, capture_output=True).stdout
    frames = _parse_ppm(ppm)
    assert len(frames) == len(stamps), (len(frames), len(stamps))
    return Truth(stamps * float(time_base), frames, keys)


def _parse_ppm(data: bytes) -> np.ndarray:
    frames, pos = [], 0
    while pos < len(data):
        fields, end = [], pos
        while len(fields) < 4:  # magic, width, height, maxval
            while data[end : end + 1].isspace():
                end += 1
            start = end
            while not data[end : end + 1].isspace():
                end += 1
            fields.append(data[start:end])
        width, height = int(fields[1]), int(fields[2])
        start = end + 1
        image = np.frombuffer(data, np.uint8, width * height * 3, start).reshape(height, width, 3)
        frames.append(image.transpose(2, 0, 1))  # (3, H, W)
        pos = start + width * height * 3
    return np.stack(frames)


