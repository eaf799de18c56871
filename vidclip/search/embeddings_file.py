"""`vidclip embed` output: embeddings, frame features and their sources in one safetensors file.

The header metadata holds JSON: the model identity (so an index built from the file can refuse
another model), the source paths in row order (absolute, so the file works from any folder), and
the videos that were skipped.
"""

import json
import os
from pathlib import Path

import torch

from vidclip.atomic import atomic_path
from vidclip.errors import InputError
from vidclip.pipeline import VideoEmbeddings
from vidclip.video.tar_members import absolute_source, source_exists

_KEY = "vidclip.embeddings"


def save_embeddings(path, found: VideoEmbeddings, identity: dict) -> None:
    from safetensors.torch import save_file

    tensors = {"embeddings": found.embeddings.float().contiguous()}
    tensors.update({f"features.{name}": value.contiguous() for name, value in found.features.items()})
    meta = {"model": identity, "sources": [_absolute(s) for s in found.sources], "skipped": found.skipped}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={_KEY: json.dumps(meta)})


def load_embeddings(path):
    """(VideoEmbeddings, model identity) from a file written by save_embeddings."""
    from safetensors import safe_open

    if not Path(path).is_file():
        raise FileNotFoundError(f"no embeddings file at {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            if _KEY not in metadata:
                raise InputError(f"{path}: not a `vidclip embed` output (no {_KEY!r} metadata)")
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
        meta = json.loads(metadata[_KEY])
    except InputError:
        raise
    except Exception as error:  # safetensors' own error type, bad JSON: a damaged file
        raise InputError(f"{path}: unreadable embeddings file ({error}); write it again with `vidclip embed`") from None
    features = {name[len("features."):]: value for name, value in tensors.items() if name.startswith("features.")}
    sources = [_resolve(source, Path(path).parent) for source in meta["sources"]]
    found = VideoEmbeddings(tensors["embeddings"], features, sources, [tuple(pair) for pair in meta["skipped"]])
    return found, meta["model"]


def _absolute(source):
    """A path source made absolute (frame tensors' integer positions stay as they are)."""
    return absolute_source(str(source)) if isinstance(source, (str, os.PathLike)) else source


def _resolve(source, folder: Path):
    """A stored source path; relative ones (files written before 0.3) are tried beside the file first."""
    if not isinstance(source, str) or os.path.isabs(source):
        return source
    beside = folder / source
    return str(beside.resolve()) if beside.exists() else os.path.abspath(source)


def drop_missing(found: VideoEmbeddings) -> VideoEmbeddings:
    """The rows whose source file (or tar member) still exists; the others join `skipped` ("source file missing")."""
    keep = [row for row, source in enumerate(found.sources) if source_exists(source)]
    if len(keep) == len(found):
        return found
    kept = set(keep)
    gone = [(source, "source file missing") for row, source in enumerate(found.sources) if row not in kept]
    rows = torch.tensor(keep, dtype=torch.long)
    return VideoEmbeddings(found.embeddings[rows], {name: value[rows] for name, value in found.features.items()},
                           [found.sources[row] for row in keep], list(found.skipped) + gone)


def merge(parts) -> VideoEmbeddings:
    """One VideoEmbeddings from (positions, VideoEmbeddings) parts, rows back in input order."""
    skipped = [pair for _, part in parts for pair in part.skipped]
    parts = [(positions, part) for positions, part in parts if len(part)]
    if not parts:
        return VideoEmbeddings(torch.empty(0, 0), {}, [], skipped)
    order = torch.argsort(torch.tensor([p for positions, _ in parts for p in positions]))
    features = {name: torch.cat([part.features[name] for _, part in parts])[order] for name in parts[0][1].features}
    sources = [source for _, part in parts for source in part.sources]
    embeddings = torch.cat([part.embeddings for _, part in parts])[order]
    return VideoEmbeddings(embeddings, features, [sources[i] for i in order.tolist()], skipped)
