"""Loading a generated dataset as tensors in one go, so training never decodes video per step.

The .npy caches written at generation time hold exactly what the MP4s decode to (with PyAV);
without them (`frame_cache=False`, or `decode=True`) the MP4s are decoded here, once.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from vidclip.data.synthetic.encode import read_mp4


def read_manifest(root) -> dict:
    path = Path(root) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {root} is not a finished `vidclip synth` output")
    return json.loads(path.read_text())


def load_clip_tensor_cache(root, split: str, *, decode: bool = False):
    """(frames uint8 tensor (N, T, 3, H, W), [metadata per clip]) for split train/test/novel.

    Metadata: the MSR-VTT video entry (video_id, action, label, shape, colour, colour2, twin_of,
    reversed_from, novel, ...) plus "captions" (list of str). Rows follow `retrieval/<split>.csv`.
    """
    import torch

    root = Path(root)
    files = read_manifest(root)["files"]["retrieval"]
    if split not in files["splits"]:
        raise ValueError(f"split must be one of {sorted(files['splits'])}, got {split!r}")
    with open(root / files["splits"][split], newline="") as f:
        ids = [row["video_id"] for row in csv.DictReader(f)]
    data = json.loads((root / files["data"]).read_text())
    videos = {v["video_id"]: dict(v, captions=[]) for v in data["videos"]}
    for sentence in data["sentences"]:
        videos[sentence["video_id"]]["captions"].append(sentence["caption"])
    cache = files["frames"].get(split)
    if cache and not decode:
        frames = np.load(root / cache["path"])
    else:
        frames = np.stack([read_mp4(root / files["videos"] / f"{v}.mp4") for v in ids]).transpose(0, 1, 4, 2, 3)
    return torch.from_numpy(np.ascontiguousarray(frames)), [videos[v] for v in ids]


def load_moment_tensor_cache(root, split: str, *, decode: bool = False):
    """([frames uint8 tensor (F_i, 3, H, W) per video], [{"video_id", "duration", "fps", "queries"}]).

    Queries are QVHighlights entries of that video (qid, query, relevant_windows, ...).
    """
    import torch

    root = Path(root)
    manifest = read_manifest(root)
    files = manifest["files"]["moments"]
    if split not in files["qvhighlights"]:
        raise ValueError(f"split must be one of {sorted(files['qvhighlights'])}, got {split!r}")
    queries: dict[str, list[dict]] = {}
    for line in (root / files["qvhighlights"][split]).read_text().splitlines():
        entry = json.loads(line)
        queries.setdefault(entry["vid"], []).append(entry)
    cache = files.get("frames", {}).get(split)
    if cache and not decode:
        index = json.loads((root / cache["index"]).read_text())
        stacked = torch.from_numpy(np.load(root / cache["path"]))
        ids = index["video_ids"]
        clips = [stacked[o:o + n] for o, n in zip(index["offsets"], index["num_frames"])]
    else:
        ids = list(queries)  # without a cache, the videos with queries (all of them, except in novel)
        clips = [torch.from_numpy(read_mp4(root / files["videos"] / f"{v}.mp4").transpose(0, 3, 1, 2).copy())
                 for v in ids]
    fps = manifest["fps"]
    metadata = [{"video_id": v, "duration": len(c) / fps, "fps": fps, "queries": queries.get(v, [])}
                for v, c in zip(ids, clips)]
    return clips, metadata


def load_image_pairs(root):
    """(images uint8 tensor (N, 3, H, W), [caption per image]) for image-text pre-training."""
    import torch

    root = Path(root)
    files = read_manifest(root)["files"]["images"]
    captions = [json.loads(line)["caption"] for line in (root / files["captions"]).read_text().splitlines()]
    return torch.from_numpy(np.load(root / files["images"])), captions
