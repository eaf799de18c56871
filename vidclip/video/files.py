"""Finding the videos a user names: folders walked for video files, `.tar` shards expanded to their members."""

from __future__ import annotations

import os
from pathlib import Path

from vidclip.video.extensions import is_video_file
from vidclip.video.tar_members import expand_tars


def find_videos(videos) -> list[str]:
    """Paths from a folder (recursively, video extensions only, sorted), a file, or a list of either.

    A file given by name is kept whatever its extension (and whether or not it exists), so the
    caller reports it instead of silently dropping it; a `.tar` given by name expands to its video
    members (`tar::member`, vidclip.video.tar_members). Folders are walked for videos only, not tars.
    """
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
