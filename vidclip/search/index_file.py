"""The on-disk index: one safetensors file whose header carries a manifest with checksums.

One file (rather than a folder) so a save is a single atomic rename; safetensors because it
holds raw arrays with no pickle (FAISS's own serialisation goes in as a uint8 array).
The manifest (JSON in the header metadata) records the format, the model identity and a
sha256 per array; a truncated file is detected from the header's own offsets before anything
is parsed, and a tampered array from its checksum, each with a message saying what to do.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from vidclip.atomic import atomic_path
from vidclip.errors import IndexFileError

FORMAT = "vidclip.index/2"  # 2: the manifest has its own checksum (1 is still read)
_READABLE = ("vidclip.index/1", FORMAT)
_MANIFEST_KEY = "vidclip.index"
_MANIFEST_SHA_KEY = "vidclip.index.sha256"  # so that no changed byte of the header goes unnoticed
_REBUILD = "rebuild it with `vidclip index build`"
_HASH_CHUNK = 1 << 24  # bytes hashed per step when streaming a large array


def sha256_array(array: np.ndarray) -> str:
    data = memoryview(np.ascontiguousarray(array)).cast("B")
    digest = hashlib.sha256()
    for start in range(0, len(data), _HASH_CHUNK):
        digest.update(data[start : start + _HASH_CHUNK])
    return digest.hexdigest()


def write_index_file(path, arrays: dict, manifest: dict) -> None:
    """Write `arrays` (name -> ndarray) and `manifest` to `path` atomically, with checksums."""
    from safetensors.numpy import save_file

    arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
    manifest = dict(manifest, format=FORMAT)
    manifest["arrays"] = {
        name: {"sha256": sha256_array(a), "shape": list(a.shape), "dtype": str(a.dtype)} for name, a in arrays.items()
    }
    text = json.dumps(manifest)
    with atomic_path(path) as tmp:
        save_file(arrays, str(tmp), metadata={_MANIFEST_KEY: text, _MANIFEST_SHA_KEY: _sha256_text(text)})


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _read_header(path: Path) -> dict:
    """The safetensors header, after checking the file is as long as the header says."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise IndexFileError(f"{path}: truncated index file ({size} bytes): rebuild it with `vidclip index build`")
        header_len = int.from_bytes(head, "little")
        if header_len > size - 8:
            raise IndexFileError(
                f"{path}: not a vidclip index, or a truncated one ({size} bytes, its header alone would need "
                f"{header_len + 8}): rebuild it with `vidclip index build`"
            )
        try:
            header = json.loads(f.read(header_len))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise IndexFileError(f"{path}: not a vidclip index (unreadable header: {error})") from None
    if not isinstance(header, dict) or not isinstance(header.get("__metadata__"), dict) \
            or _MANIFEST_KEY not in header["__metadata__"]:
        raise IndexFileError(f"{path}: not a vidclip index (no manifest in the header)")
    try:
        ends = [int(entry["data_offsets"][1]) for name, entry in header.items() if name != "__metadata__"]
    except (KeyError, IndexError, TypeError, ValueError):
        raise IndexFileError(f"{path}: corrupted index header (bad array offsets): {_REBUILD}") from None
    expected = 8 + header_len + max(ends, default=0)
    if size < expected:
        raise IndexFileError(
            f"{path}: truncated index file ({size} bytes, expected {expected}): "
            "rebuild it with `vidclip index build`"
        )
    if size > expected:
        raise IndexFileError(f"{path}: corrupted index file ({size - expected} unexpected trailing bytes)")
    return header


class IndexFileReader:
    """Read the arrays of an index file, each checked against its manifest checksum."""

    def __init__(self, path):
        from safetensors import safe_open

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no index file at {self.path}")
        header = _read_header(self.path)
        metadata = header["__metadata__"]
        text = metadata[_MANIFEST_KEY]
        try:
            self.manifest = json.loads(text)
        except (TypeError, json.JSONDecodeError) as error:
            raise IndexFileError(f"{self.path}: corrupted manifest ({error}): {_REBUILD}") from None
        if not isinstance(self.manifest, dict) or self.manifest.get("format") not in _READABLE:
            found = self.manifest.get("format") if isinstance(self.manifest, dict) else None
            raise IndexFileError(f"{self.path}: unsupported index format {found!r}, expected {FORMAT}")
        checksum = metadata.get(_MANIFEST_SHA_KEY)
        if (checksum is None and self.manifest["format"] != "vidclip.index/1") or \
                (checksum is not None and checksum != _sha256_text(text)) or set(metadata) - {_MANIFEST_KEY, _MANIFEST_SHA_KEY}:
            raise IndexFileError(f"{self.path}: the index header was modified or corrupted (manifest checksum): {_REBUILD}")
        _check_manifest(self.path, self.manifest, header)
        try:
            self._file = safe_open(str(self.path), framework="np")
        except Exception as error:  # safetensors' own error type
            raise IndexFileError(f"{self.path}: corrupted index file ({error}): {_REBUILD}") from None

    def names(self):
        return list(self.manifest["arrays"])

    def array(self, name: str, *, verify: bool = True) -> np.ndarray:
        """The whole array, verified against its sha256 unless verify=False."""
        if name not in self.manifest["arrays"]:
            raise IndexFileError(f"{self.path}: array {name!r} missing from the manifest")
        try:
            array = self._file.get_tensor(name)
        except Exception as error:  # safetensors' own error type
            raise IndexFileError(f"{self.path}: array {name!r} unreadable ({error}): {_REBUILD}") from None
        if verify:
            self.verify(name, array)
        return array

    def verify(self, name: str, array: np.ndarray) -> None:
        expected = self.manifest["arrays"][name]
        if list(array.shape) != expected["shape"] or str(array.dtype) != expected["dtype"] \
                or sha256_array(array) != expected["sha256"]:
            raise IndexFileError(
                f"{self.path}: checksum mismatch in array {name!r}: the file was modified or corrupted; "
                "rebuild it with `vidclip index build`"
            )


def _check_manifest(path, manifest: dict, header: dict) -> None:
    """The fields readers rely on are there, with the right types, and name the header's arrays."""
    arrays = manifest.get("arrays")
    ok = isinstance(arrays, dict) and isinstance(manifest.get("model"), dict) and isinstance(manifest.get("spec"), dict) \
        and isinstance(manifest.get("kind"), str) and set(arrays) == set(header) - {"__metadata__"} \
        and all(isinstance(entry, dict) and {"sha256", "shape", "dtype"} <= set(entry) for entry in arrays.values())
    if not ok:
        raise IndexFileError(f"{path}: corrupted manifest (fields missing or of the wrong type): {_REBUILD}")


def file_signature(path) -> dict:
    """What identifies a source file's version: resolved path, size and mtime (ns). For a video in a
    tar (`tar::member`): the resolved `tar::member`, the tar's size and mtime, and the member name."""
    from vidclip.video.tar_members import member_source, split_member, tar_signature

    if (parts := split_member(path)) is not None:
        tar = tar_signature(parts[0])
        return dict(tar, path=member_source(tar["path"], parts[1]), member=parts[1])
    stat = os.stat(path)
    return {"path": str(Path(path).resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
