"""The API, index and moments on a real (tiny, randomly initialised) VideoCLIP and real video files."""

import json

import pytest
import torch

import vidclip
from fakes import write_video
from vidclip.cli import main
from vidclip.search.index import VideoIndex


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from vidclip.checkpoint import save

    folder = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    save(vidclip.create_model("tiny-vit-16", adapter="glscl", num_frames=4), folder / "glscl")
    return folder / "glscl"


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("real")
    return [write_video(folder / f"{name}.mp4", [name] * 3 + ["blue"] * 3, size=64) for name in ("red", "green", "yellow")]


def test_checkpoint_loads_as_the_same_model(checkpoint, videos):
    a, b = vidclip.load(checkpoint), vidclip.load(str(checkpoint))
    assert a.identity == b.identity and a.identity["name"] == "tiny-vit-16"
    found = a.embed_videos(videos, progress=False)
    assert torch.allclose(found.embeddings, b.embed_videos(videos, progress=False).embeddings, atol=1e-6)
    assert set(found.features) == {"frames", "frame_mask", "frame_norms", "queries"}


def test_glscl_index_reranks_with_the_models_own_score(tmp_path, checkpoint, videos):
    model = vidclip.load(checkpoint)
    index = VideoIndex.build(model, videos)
    index.save(tmp_path / "g.index")
    loaded = VideoIndex.load(tmp_path / "g.index", model)
    results = loaded.search("a red square", k=3)
    found = model.embed_videos(videos, progress=False)
    text = model.text_features(["a red square"])
    expected = model.similarity(text, dict(found.features, embedding=found.embeddings))[0]
    by_path = dict(zip(found.sources, expected.tolist()))
    assert [p for p, _ in results] == sorted(by_path, key=by_path.get, reverse=True)
    for path, score in results:
        assert score == pytest.approx(by_path[path], abs=2e-3)  # frame features stored in float16


def test_cli_on_a_checkpoint(tmp_path, checkpoint, videos, capsys):
    out = tmp_path / "c.index"
    assert main(["index", "build", *videos, "--out", str(out), "--model", str(checkpoint)]) == 0
    capsys.readouterr()
    assert main(["index", "search", str(out), "a green thing", "--model", str(checkpoint), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["results"]) == 3
    other = tmp_path / "other"
    from vidclip.checkpoint import save

    save(vidclip.create_model("tiny-vit-16", adapter="glscl", num_frames=4), other)
    assert main(["index", "search", str(out), "a green thing", "--model", str(other)]) == 2
    assert "rebuild" in capsys.readouterr().err


def test_vdi_moment_head_gives_windows_inside_the_video(videos):
    model = vidclip.load("tiny-vit-16", adapter="vdi", num_frames=4)
    assert model.has_moment_head
    moments = model.find_moments(videos[0], "a red square", top_k=3, fps=2)
    assert 1 <= len(moments) <= 3
    assert all(0 <= start < end <= 6.0 + 1e-6 for start, end, _ in moments)
    assert [s for *_, s in moments] == sorted((s for *_, s in moments), reverse=True)
