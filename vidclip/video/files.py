"""Which files are videos: the one list of extensions, and finding video files under folders."""

from __future__ import annotations

import os
from pathlib import Path

# most common first: an annotation that names a video without its extension tries them in this order
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp",
                    ".ogv", ".ts", ".mts", ".m2ts")


def is_video_file(path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def find_videos(videos) -> list[str]:
    """Paths from a folder (recursively, video extensions only, sorted), a file, or a list of either.

    A file given by name is kept whatever its extension (and whether or not it exists), so the
    caller reports it instead of silently dropping it; a `.tar` given by name expands to its video
    members (`tar::member`, vidclip.video.tar_members). Folders are walked for videos only, not tars.
    """
    from vidclip.video.tar_members import expand_tars

    if isinstance(videos, (str, os.PathLike)):
        videos = [videos]
    out = []
    for item in videos:
        path = Path(item)
        if path.is_dir():
            out.extend(str(p) for p in sorted(path.rglob("*")) if is_video_file(p) and p.is_file())
        else:
            out.extend(expand_tars([item]))
    return out
