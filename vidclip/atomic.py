"""Write a file so that readers see the old content or the new, never a half-written one.

The data goes to a temporary file in the target's folder (same filesystem, so the final
rename is atomic), is flushed to disk with fsync, renamed over the target, and the folder
entry is fsynced too, so a crash or a full disk leaves at most a stray temp file that the
next attempt's cleanup never confuses with the real output.
"""

import contextlib
import os
import tempfile
from pathlib import Path


def fsync_path(path) -> None:
    """fsync a file or folder by path (folders: so a rename inside them survives a crash)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path to write; on success it replaces `path` atomically.

    On any exception the temporary file is removed and `path` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        fsync_path(tmp)
        os.replace(tmp, path)
        fsync_path(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text_atomic(path, text: str) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)
