import pytest
import torch

from fakes import COLOURS, TinyVideoModel


@pytest.fixture
def model():
    from vidclip.embedding import Embedder

    return Embedder(TinyVideoModel())


def colour_frames(name, num_frames=4, size=16):
    """Model-ready float frames (T, 3, S, S) of one colour (normalised with mean = std = 0.5)."""
    rgb = torch.tensor(COLOURS[name], dtype=torch.float32) / 127.5 - 1
    return rgb.view(1, 3, 1, 1).expand(num_frames, 3, size, size).clone()


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
