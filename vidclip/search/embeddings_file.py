"""`vidclip embed` output: embeddings, frame features and their sources in one safetensors file.

The header metadata holds JSON: the model identity (so an index built from the file can refuse
another model), the source paths in row order, and the videos that were skipped.
"""

import json

import torch

from vidclip.atomic import atomic_path
from vidclip.pipeline import VideoEmbeddings

_KEY = "vidclip.embeddings"


def save_embeddings(path, found: VideoEmbeddings, identity: dict) -> None:
    from safetensors.torch import save_file

    tensors = {"embeddings": found.embeddings.float().contiguous()}
    tensors.update({f"features.{name}": value.contiguous() for name, value in found.features.items()})
    meta = {"model": identity, "sources": [str(s) for s in found.sources], "skipped": found.skipped}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={_KEY: json.dumps(meta)})


def load_embeddings(path):
    """(VideoEmbeddings, model identity) from a file written by save_embeddings."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
        if _KEY not in metadata:
            raise ValueError(f"{path}: not a `vidclip embed` output (no {_KEY!r} metadata)")
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    meta = json.loads(metadata[_KEY])
    features = {name[len("features."):]: value for name, value in tensors.items() if name.startswith("features.")}
    found = VideoEmbeddings(tensors["embeddings"], features, meta["sources"], [tuple(pair) for pair in meta["skipped"]])
    return found, meta["model"]


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
