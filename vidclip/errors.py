"""Every exception vidclip raises on purpose, in one place.

Errors caused by the input (a file, a config, a checkpoint, a video) are `ValueError`s, so callers
that only care "was it my input?" catch one type; each is also a `VidclipError`, so the CLI can
tell them from bugs and exit with 2 instead of a traceback.
"""

from __future__ import annotations

import errno
import os


class VidclipError(Exception):
    """Base of the errors vidclip raises on purpose (never a bug)."""


class ConfigError(VidclipError, ValueError):
    """A config file or override is invalid; the message names the key and what is allowed."""


class CheckpointError(VidclipError, ValueError):
    """A checkpoint that cannot or must not be loaded (missing, incomplete, pickled, another architecture)."""


class AnnotationError(VidclipError, ValueError):
    """A malformed annotation, located as ``file:line (video id): reason`` so it can be fixed at the source.

    One-line JSON files (ActivityNet, DiDeMo) have no useful line: the video id locates the entry.
    """

    def __init__(self, path, line: int | None, reason: str, video_id: str | None = None):
        self.path = str(path)
        self.line = line
        self.reason = reason
        self.video_id = video_id
        super().__init__(f"{locate(path, line, video_id)}: {reason}")

    def __reduce__(self):  # picklable across DataLoader workers
        return type(self), (self.path, self.line, self.reason, self.video_id)


def locate(path, line: int | None, video_id: str | None = None) -> str:
    """``file:line (video id)``, leaving out what is unknown: where an annotation sits in its file."""
    where = f"{path}:{line}" if line else str(path)
    return f"{where} (video {video_id!r})" if video_id is not None else where


class VideoDecodeError(VidclipError, ValueError):
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


class EmptyDatasetError(VidclipError, ValueError):
    """The dataset holds fewer samples than one global batch."""


class IndexFileError(VidclipError, ValueError):
    """The index file is not a vidclip index, or is truncated or corrupted."""


class ModelMismatchError(VidclipError, ValueError):
    """The index (or embeddings file) was built by another model than the one given."""


class UnknownVideoError(VidclipError, ValueError):
    """A video id that the index does not list, or whose indexed file is no longer on disk."""


class TrainingStopped(VidclipError, RuntimeError):
    """Training cannot go on (a run of non-finite losses); the last good checkpoint is intact."""


class InputError(VidclipError, ValueError):
    """An option value that does not fit the input it is applied to (e.g. --fps above the video's rate)."""


class BusyError(VidclipError, RuntimeError):
    """Another process is writing the same file or run folder; waiting for it timed out."""


# what the user can do about an OSError, by errno (anything else is reported as it is)
_OS_FIXES = {
    errno.ENOSPC: "free some space or write elsewhere",
    errno.EDQUOT: "free some space or write elsewhere",
    errno.EACCES: "check the permissions, or write elsewhere",
    errno.EPERM: "check the permissions, or write elsewhere",
    errno.EROFS: "write to a writable filesystem",
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "check the path",
    errno.EISDIR: "give a file, not a folder",
}


def describe_os_error(error: OSError) -> str:
    """One line naming the path, the problem and the fix ('out/my.index: No space left on device (free ...)')."""
    where = error.filename2 or error.filename  # a rename's target is the file the user named
    fix = _OS_FIXES.get(error.errno)
    text = f"{where}: {error.strerror or error}" if where else str(error)
    return f"{text} ({fix})" if fix else text


class TowerError(VidclipError, ValueError):
    """An open_clip tower vidclip cannot run as asked (e.g. an adapter that hooks ViT blocks on a convolutional tower)."""
