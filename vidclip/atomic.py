"""Write a file so that readers see the old content or the new, never a half-written one.

The data goes to a temporary file in the target's folder (same filesystem, so the final
rename is atomic), is flushed to disk with fsync, renamed over the target, and the folder
entry is fsynced too, so a crash or a full disk leaves at most a stray temp file. Temp names
carry the writer's process id, so the next write to the same place removes the temps of writers
that are gone (killed) and never those of one still running. The result gets the permissions of
a file created by `open()` (0666 minus the umask), not mkstemp's private 0600.
"""

import contextlib
import errno
import os
import re
import tempfile
from pathlib import Path


def fsync_path(path) -> None:
    """fsync a file or folder by path (folders: so a rename inside them survives a crash)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_umask() -> int:
    """The process umask (read without changing it where /proc allows; os.umask needs a set)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temp_prefix(name: str) -> str:
    """Prefix of this process's temp files for a target called `name`: `.NAME.PID.`"""
    return f".{name}.{os.getpid()}."


def _writer_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def remove_stale_temps(path) -> list:
    """Remove the temp files (or folders) of `path` left by killed writers; returns what was removed."""
    import shutil

    path = Path(path)
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)\..*\.tmp$")
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in path.parent.iterdir():
            match = pattern.match(entry.name)
            if match and int(match.group(1)) != os.getpid() and not _writer_alive(int(match.group(1))):
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
                removed.append(entry)
    return removed


_SWEPT: set = set()


def _sweep_once(path: Path) -> None:
    """Sweep a target's stale temps on this process's first write to it, not on every write: the
    sweep lists the whole folder, and a writer of many files into one folder (embedding shards)
    would pay for it once per file. Temps of writers killed later are swept by the next process."""
    key = (str(path.parent.resolve()), path.name)
    if key not in _SWEPT:
        remove_stale_temps(path)
        _SWEPT.add(key)


def as_os_error(error: BaseException, path) -> BaseException:
    """The error of a failed write, as an OSError naming `path` when the cause was the filesystem.

    Python's own writes raise OSError without the file name; safetensors raises its own error
    type with "(os error 28)" in the text. Both become OSError(errno, reason, path).
    """
    if isinstance(error, OSError):
        if error.filename is None and error.errno is not None:
            return type(error)(error.errno, error.strerror, str(path))
        return error
    found = re.search(r"\(os error (\d+)\)", str(error))
    if found:
        code = int(found.group(1))
        return OSError(code, os.strerror(code), str(path))
    return error


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path to write; on success it replaces `path` atomically.

    On any exception the temporary file is removed and `path` is left untouched.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file to write", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep_once(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())  # after the write: some writers (safetensors) recreate the file
        fsync_path(tmp)
        os.replace(tmp, path)
        fsync_path(path.parent)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        converted = as_os_error(error, path)
        if converted is not error:
            raise converted from error
        raise


def write_text_atomic(path, text: str) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)


def write_bytes_atomic(path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)

