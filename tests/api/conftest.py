import pytest
import torch

from fakes import COLOURS, TinyVideoModel, colour_frames


@pytest.fixture
def model():
    from vidclip.pipeline import Pipeline

    return Pipeline(TinyVideoModel())


@pytest.fixture
def collection(tmp_path, model):
    """(VideoEmbeddings with file sources, names): one placeholder file per colour."""
    names = list(COLOURS)
    found = model.embed_videos([colour_frames(name) for name in names], progress=False)
    paths = []
    for name in names:
        path = tmp_path / "videos" / f"{name}.mp4"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(name.encode())
        paths.append(str(path.resolve()))
    found.sources = paths
    return found, names
