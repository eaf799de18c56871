"""One writer at a time per file or run folder: an advisory `fcntl.flock` on a hidden sidecar.

A read-modify-write (`vidclip index add`) that ran twice at once would keep only one side's
update; under the lock the second writer waits (or gives up with a BusyError) and then reads the
first one's result. Readers take no lock: files are replaced atomically (vidclip.atomic), so they
see the old file or the new one. The sidecar stays behind (removing it would race with a waiter).
"""

import contextlib
import fcntl
import os
import sys
import time
from pathlib import Path

from vidclip.atomic import current_umask
from vidclip.errors import BusyError


def lock_path(path) -> Path:
    """The sidecar of `path`: `.NAME.lock` beside it (a run folder keeps its own inside)."""
    path = Path(path)
    return path / ".lock" if path.is_dir() else path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def locked(path, *, wait: bool = True, timeout: float | None = None, what: str = "file"):
    """Hold the exclusive lock of `path` inside the block.

    wait=False fails at once when another process holds it; otherwise wait (up to `timeout`
    seconds, or for ever), saying on stderr whom we wait for.
    """
    sidecar = lock_path(path)
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(sidecar, os.O_RDWR | os.O_CREAT, 0o666 & ~current_umask())
    try:
        _acquire(fd, path, wait=wait, timeout=timeout, what=what)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())  # only to name the holder in the messages
        yield
    finally:
        os.close(fd)  # releases the lock


def _holder(fd) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0) or b"0")
        if pid:
            return f"process {pid}"
    return "another process"


def _acquire(fd, path, *, wait, timeout, what) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    busy = f"{what} {path} is being written by {_holder(fd)}"
    if not wait:
        raise BusyError(f"{busy}: wait for it to finish, or use another {what}")
    print(f"waiting: {busy}", file=sys.stderr)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if deadline is not None and time.monotonic() > deadline:
                raise BusyError(f"{busy} (waited {timeout:g} s): try again when it is done") from None
            time.sleep(0.05)
