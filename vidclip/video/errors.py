"""The one exception every decoding path raises for a video it cannot read."""

from __future__ import annotations

import os


class VideoDecodeError(ValueError):
    """A video could not be decoded as asked.

    The three decoding libraries raise five different exception types for broken files; vidclip
    turns them all into this one, so a training loop can skip a bad sample with a single
    ``except VideoDecodeError`` and still report which file failed and why.
    """

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"cannot decode video {self.path!r}: {reason}")

    def __reduce__(self):  # picklable across DataLoader workers
        return type(self), (self.path, self.reason)
