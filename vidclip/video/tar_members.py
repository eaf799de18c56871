"""Videos inside WebDataset tar shards, as sources named `<tar path>::<member name>`.

A `.tar` named as an input expands to its video members in tar order (the extensions of
vidclip.video.extensions). The decoders need a path, so a member is copied to a temporary file
while it is read (`member_file`) and deleted after; the tar itself is never extracted. The tar is
listed once per version (size, mtime): each member's data offset is kept, so reading a member is
one seek, whatever the size of the tar. WebDataset sidecars of the same key (`key.txt`,
`key.json`) become a record's "caption" and "meta" (`sidecars`).

Only plain `.tar` (a compressed tar cannot seek to a member).
"""

from __future__ import annotations

import json
import os
import tarfile
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from vidclip.video.extensions import is_video_file

SEPARATOR = "::"
_COPY_CHUNK = 1 << 20


def is_tar(path) -> bool:
    return str(path).lower().endswith(".tar") and SEPARATOR not in str(path)


def split_member(source) -> tuple[str, str] | None:
    """(tar path, member name) of a `tar::member` source; None for any other source."""
    if not isinstance(source, (str, os.PathLike)):
        return None
    tar, sep, member = str(source).partition(SEPARATOR)
    return (tar, member) if sep and tar.lower().endswith(".tar") and member else None


def member_source(tar, member: str) -> str:
    return f"{tar}{SEPARATOR}{member}"


def absolute_source(source: str) -> str:
    """A path or `tar::member` made absolute (only the tar part: member names are not paths here)."""
    parts = split_member(source)
    return member_source(os.path.abspath(parts[0]), parts[1]) if parts else os.path.abspath(source)


def resolve_source(source: str) -> str:
    """As absolute_source, with links resolved (an index's notion of 'the same video')."""
    parts = split_member(source)
    return member_source(Path(parts[0]).resolve(), parts[1]) if parts else str(Path(source).resolve())


def tar_signature(tar) -> dict:
    """What identifies a version of a tar: resolved path, size, mtime (ns)."""
    stat = os.stat(tar)
    return {"path": str(Path(tar).resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


@dataclass(frozen=True)
class Listing:
    """One version of a tar: where each regular member's bytes are, its videos in order, what went wrong."""

    spans: dict = field(default_factory=dict)  # member name -> (data offset, size); the last of a repeated name
    videos: tuple = ()
    error: str | None = None  # why the tar could not be listed to its end


def list_tar(tar) -> Listing:
    """The listing of `tar` as it is now (cached per path, size and mtime)."""
    signature = tar_signature(tar)
    return _listing(signature["path"], signature["size"], signature["mtime_ns"])


@lru_cache(maxsize=64)
def _listing(path: str, size: int, mtime_ns: int) -> Listing:
    spans, videos, error = {}, [], None
    try:
        with tarfile.open(path, mode="r:") as archive:
            while (info := archive.next()) is not None:  # header by header: keep what precedes damage
                if info.isreg() and not info.issparse():
                    spans[info.name] = (info.offset_data, info.size)
                    if is_video_file(info.name):
                        videos.append(info.name)
    except (tarfile.TarError, OSError, UnicodeDecodeError) as err:
        error = f"{type(err).__name__}: {err}"
    return Listing(spans, tuple(dict.fromkeys(videos)), error)


def expand_tar(tar) -> list[str]:
    """The `tar::member` sources of a tar's videos in tar order, then the tar itself if it is damaged
    or holds no video (reading it then fails with the reason, so it is listed as skipped)."""
    listing = list_tar(tar)
    out = [member_source(tar, name) for name in listing.videos]
    return out + [str(tar)] if listing.error or not out else out


def expand_tars(paths) -> list[str]:
    """Paths with each existing `.tar` replaced by its sources (expand_tar); others as they are."""
    out = []
    for path in paths:
        out.extend(expand_tar(path) if is_tar(path) and Path(path).is_file() else [str(path)])
    return out


def tar_problem(tar) -> str:
    """Why a `.tar` given as a source yields no video (or not all of them)."""
    listing = list_tar(tar)
    if listing.error and not listing.spans:
        return f"not a readable tar archive ({listing.error})"
    if listing.error:
        return f"damaged tar archive: members after the first {len(listing.spans)} are lost ({listing.error})"
    return f"no video member in the tar archive ({len(listing.spans)} members; videos end in .mp4, .webm, ...)"


def _span(source) -> tuple[str, int, int]:
    tar, member = split_member(source)
    if not Path(tar).is_file():
        raise FileNotFoundError(f"no such tar archive: {tar}")
    span = list_tar(tar).spans.get(member)
    if span is None:
        raise FileNotFoundError(f"no member {member!r} in {tar}")
    return tar, *span


def read_member(source) -> bytes:
    """The bytes of a (small) member, e.g. a sidecar."""
    tar, offset, size = _span(source)
    with open(tar, "rb") as handle:
        handle.seek(offset)
        data = handle.read(size)
    if len(data) < size:
        raise EOFError(f"truncated tar archive: {source} has {len(data)} of its {size} bytes")
    return data


@contextmanager
def member_file(source):
    """A temporary file holding the member `tar::member` (same extension), deleted on exit."""
    tar, offset, size = _span(source)
    handle, path = tempfile.mkstemp(prefix="vidclip-member-", suffix=Path(split_member(source)[1]).suffix)
    try:
        with os.fdopen(handle, "wb") as out, open(tar, "rb") as archive:
            archive.seek(offset)
            left = size
            while left and (chunk := archive.read(min(_COPY_CHUNK, left))):
                out.write(chunk)
                left -= len(chunk)
        if left:
            raise EOFError(f"truncated tar archive: {source} has {size - left} of its {size} bytes")
        yield path
    finally:
        os.unlink(path)


def source_exists(source) -> bool:
    """A file that is there, or a member of a tar that is there and still holds it."""
    parts = split_member(source)
    if parts is None:
        return Path(source).is_file()
    try:
        return Path(parts[0]).is_file() and parts[1] in list_tar(parts[0]).spans
    except OSError:
        return False


def sidecars(source) -> dict:
    """{"caption": str, "meta": JSON} from the member's WebDataset sidecars (`key.txt`, `key.json`), when
    present; `key` is the member name up to the first dot of its file name. Unparsable JSON is kept as text."""
    parts = split_member(source)
    if parts is None:
        return {}
    tar, member = parts
    folder, _, name = member.rpartition("/")
    key = (folder + "/" if folder else "") + name.split(".", 1)[0]
    out = {}
    try:
        spans = list_tar(tar).spans
        for extension, field_name in ((".txt", "caption"), (".json", "meta")):
            if key + extension in spans:
                text = read_member(member_source(tar, key + extension)).decode("utf-8", errors="replace")
                out[field_name] = text.strip() if field_name == "caption" else _json_or_text(text)
    except (OSError, EOFError):
        pass  # the tar changed or vanished since it was embedded: the record keeps its row, without sidecars
    return out


def _json_or_text(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text

