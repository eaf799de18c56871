"""Which file names are videos: the one list of extensions."""

from __future__ import annotations

from pathlib import Path

# most common first: an annotation that names a video without its extension tries them in this order
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp",
                    ".ogv", ".ts", ".mts", ".m2ts")


def is_video_file(path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS
