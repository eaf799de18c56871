"""Finding the video file an annotation means: ids come without extension, folders vary by release."""

from __future__ import annotations

import os
from pathlib import Path

from vidclip.video.extensions import VIDEO_EXTENSIONS, is_video_file


class VideoResolver:
    """Resolves names against a root, listing each folder once (cheap for 100k-video datasets)."""

    def __init__(self, root, extensions: tuple[str, ...] = VIDEO_EXTENSIONS):
        self.root = Path(root)
        self.extensions = tuple(extensions)
        self._listings: dict[str, frozenset[str]] = {}

    def candidates(self, names, subdirs=()) -> list[str]:
        """Paths to try, best first: each folder (root, then root/subdir) × each file name."""
        root = str(self.root)
        folders = [root] + [os.path.join(root, subdir) for subdir in subdirs if subdir]
        paths = []
        for name in names:
            parent, file_name = os.path.split(name)
            stem = os.path.splitext(file_name)[0]
            if is_video_file(file_name):  # already a video file name: a converted copy (x.mov -> x.mp4) is found too
                file_names = [file_name] + [stem + ext for ext in self.extensions]
            else:
                file_names = [file_name + ext for ext in self.extensions] + [file_name]
            for folder in [parent] if os.path.isabs(name) else [os.path.join(f, parent) for f in folders]:
                paths += [os.path.join(folder, file_name) for file_name in file_names]
        return list(dict.fromkeys(paths))

    def resolve(self, names, subdirs=()) -> tuple[Path, bool]:
        """(path, found): the first existing candidate, else the first candidate (for reports)."""
        candidates = self.candidates(names, subdirs)
        for path in candidates:
            folder, file_name = os.path.split(path)
            if file_name in self._listing(folder):
                return Path(path), True
        return Path(candidates[0]), False

    def _listing(self, folder: str) -> frozenset[str]:
        if folder not in self._listings:
            try:
                self._listings[folder] = frozenset(os.listdir(folder))
            except OSError:
                self._listings[folder] = frozenset()
        return self._listings[folder]
