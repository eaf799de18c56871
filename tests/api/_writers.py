"""vidclip's three big writers (index, embeddings file, training checkpoint) driven for fault tests.

As a script: `python _writers.py loop DIR` rewrites each target again and again, alternating two
versions, until it is killed; `python _writers.py full-disk DIR` (DIR on a small tmpfs) writes each
once, fills the disk and writes each again, printing one JSON line per writer about what happened.
"""

import errno
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vidclip.pipeline import VideoEmbeddings  # noqa: E402
from vidclip.search.embeddings_file import load_embeddings, save_embeddings  # noqa: E402
from vidclip.search.index import VideoIndex  # noqa: E402
from vidclip.train import run_state  # noqa: E402

IDENTITY = {"name": "fault-test"}
SIZES = (300, 400)  # rows of version 0 and version 1


def _found(version: int, folder: Path) -> VideoEmbeddings:
    rows = SIZES[version]
    vectors = torch.nn.functional.normalize(torch.randn(rows, 64, generator=torch.Generator().manual_seed(version)), dim=-1)
    sources = [str(folder / "videos" / f"{row}.mp4") for row in range(rows)]
    frames = vectors[:, None].expand(rows, 16, 64).to(torch.float16).contiguous()  # (N, T, D)
    return VideoEmbeddings(vectors, {"frames": frames}, sources)


def _model(version: int):
    model = torch.nn.Linear(256, 256)
    torch.nn.init.constant_(model.weight, float(version))
    return model


def write(target: str, folder: Path, version: int) -> None:
    if target == "index":
        index = VideoIndex(kind="flat", identity=IDENTITY)
        index.add_embeddings(_found(version, folder), identity=IDENTITY)
        index.save(folder / "my.index")
    elif target == "embeddings":
        save_embeddings(folder / "feats.safetensors", _found(version, folder), IDENTITY)
    else:
        model = _model(version)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)  # no step: torch's first one costs seconds
        run_state.save_run_state(folder / "run", model=model, optimizer=optimizer, progress={"step": version})


def read(target: str, folder: Path) -> int:
    """The version a target holds now, after checking it is complete (raises otherwise)."""
    if target == "index":
        return SIZES.index(len(VideoIndex.load(folder / "my.index")))
    if target == "embeddings":
        return SIZES.index(len(load_embeddings(folder / "feats.safetensors")[0]))
    checkpoint = run_state.resolve(folder / "run")
    model = _model(0)
    progress = run_state.restore_run_state(checkpoint, model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert torch.all(model.weight < progress["step"] + 0.5) and torch.all(model.weight > progress["step"] - 0.5)
    return progress["step"]


TARGETS = ("index", "embeddings", "checkpoint")


def _make_sources(folder: Path) -> None:
    (folder / "videos").mkdir(parents=True, exist_ok=True)
    for row in range(max(SIZES)):
        (folder / "videos" / f"{row}.mp4").write_bytes(b"")


def loop(folder: Path) -> None:
    _make_sources(folder)
    for target in TARGETS:
        write(target, folder, 0)
    print("ready", flush=True)
    version = 0
    while True:
        version = 1 - version
        for target in TARGETS:
            write(target, folder, version)


def full_disk(folder: Path) -> None:
    _make_sources(folder)
    for target in TARGETS:
        write(target, folder, 0)
    with open(folder / "filler", "wb") as filler:  # take every free byte
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError:
            pass
    for target in TARGETS:
        try:
            write(target, folder, 1)
            outcome = {"error": None}
        except OSError as error:
            outcome = {"error": error.errno, "filename": error.filename}
        except Exception as error:  # noqa: BLE001 - reported to the test
            outcome = {"error": repr(error)}
        temps = [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] + \
                [p.name for p in (folder / "run").iterdir() if p.name.endswith(".tmp")]
        print(json.dumps({"target": target, **outcome, "version": read(target, folder), "temps": temps}), flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    {"loop": loop, "full-disk": full_disk}[sys.argv[1]](Path(sys.argv[2]))
