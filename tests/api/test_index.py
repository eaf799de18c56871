import os

import numpy as np
import pytest
import torch

from fakes import TinyVideoModel
from vidclip.pipeline import Pipeline
from vidclip.errors import IndexFileError, ModelMismatchError
from vidclip.search.index import VideoIndex


def _index(model, collection, **kw):
    found, _ = collection
    index = VideoIndex(model, **kw)
    index.add_embeddings(found, identity=model.identity)
    return index


def test_search_finds_each_colour(model, collection):
    index = _index(model, collection)
    for name in collection[1]:
        path, score = index.search(f"a {name} video", k=3)[0]
        assert path.endswith(f"{name}.mp4") and score == pytest.approx(1.0, abs=1e-3)
    # text features computed once by the caller give the same ranking and scores as the text itself
    text = model.text_features(["a red video"])
    assert index.search(text, k=3) == index.search("a red video", k=3)


def test_empty_query_is_refused(model, collection):
    with pytest.raises(ValueError, match="empty query"):
        _index(model, collection).search("  ")


def test_save_load_round_trip(tmp_path, model, collection):
    index = _index(model, collection)
    index.save(tmp_path / "my.index")
    loaded = VideoIndex.load(tmp_path / "my.index", model)
    assert loaded.paths == index.paths
    assert loaded.search("blue", k=6) == index.search("blue", k=6)
    features = loaded.features()
    assert features["frames"].dtype == np.float16 and features["frames"].shape[:2] == features["frame_mask"].shape


def test_incremental_add_matches_one_build(model, collection):
    found, _ = collection
    whole = _index(model, collection)
    parts = VideoIndex(model)
    for rows in (slice(0, 2), slice(2, None)):
        part = type(found)(found.embeddings[rows], {k: v[rows] for k, v in found.features.items()}, found.sources[rows])
        parts.add_embeddings(part, identity=model.identity)
    assert parts.paths == whole.paths
    assert parts.search("green", k=6) == whole.search("green", k=6)


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_rows_with_other_features_are_refused_and_change_nothing(model, collection, kind):
    found, _ = collection
    index = VideoIndex(model, kind=kind)
    first = type(found)(found.embeddings[:2], {k: v[:2] for k, v in found.features.items()}, found.sources[:2])
    index.add_embeddings(first, identity=model.identity)
    rest = slice(2, None)
    other = type(found)(found.embeddings[rest], {"frames": found.features["frames"][rest]}, found.sources[rest])
    with pytest.raises(ValueError, match="do not match the index's"):
        index.add_embeddings(other, identity=model.identity)  # flat: appended; ivf: a re-plan rebuilds
    assert len(index) == 2 and index.paths == [str(p) for p in found.sources[:2]]


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_kinds_round_trip(tmp_path, model, collection, kind):
    index = _index(model, collection, kind=kind)
    assert index.spec["kind"] == kind
    index.save(tmp_path / "a.index")
    loaded = VideoIndex.load(tmp_path / "a.index", model)
    assert loaded.search("red", k=1)[0][0].endswith("red.mp4")


def test_another_model_is_refused(tmp_path, model, collection):
    _index(model, collection).save(tmp_path / "my.index")
    other = Pipeline(TinyVideoModel(seed=1))  # same config, other weights
    with pytest.raises(ModelMismatchError, match="weights_hash"):
        VideoIndex.load(tmp_path / "my.index", other)
    index = VideoIndex.load(tmp_path / "my.index")
    with pytest.raises(ModelMismatchError, match="rebuild"):
        index.add_embeddings(collection[0], identity=other.identity)


def test_truncated_file_is_refused(tmp_path, model, collection):
    path = tmp_path / "my.index"
    _index(model, collection).save(path)
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) - 100)
    with pytest.raises(IndexFileError, match="truncated index file"):
        VideoIndex.load(path, model)


def test_tampered_array_is_refused(tmp_path, model, collection):
    path = tmp_path / "my.index"
    _index(model, collection).save(path)
    data = bytearray(path.read_bytes())
    data[-50] ^= 0xFF  # inside the last array's bytes
    path.write_bytes(bytes(data))
    with pytest.raises(IndexFileError, match="checksum mismatch"):
        VideoIndex.load(path, model)


def test_not_an_index_is_refused(tmp_path):
    path = tmp_path / "x.index"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(IndexFileError, match="not a vidclip index"):
        VideoIndex.load(path)


def test_failed_save_leaves_the_old_file_and_no_temp(tmp_path, model, collection, monkeypatch):
    path = tmp_path / "my.index"
    index = _index(model, collection)
    index.save(path)
    before = path.read_bytes()

    import safetensors.numpy

    def half_write(arrays, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.numpy, "save_file", half_write)
    with pytest.raises(OSError, match="disk full"):
        index.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my.index", "videos"]
    with pytest.raises(OSError):
        index.save(tmp_path / "new.index")
    assert not (tmp_path / "new.index").exists()


def test_glscl_reranks_with_frame_pooling(model, collection):
    glscl = Pipeline(TinyVideoModel(adapter="glscl"))
    found, _ = collection
    mixed = glscl.embed_videos([torch.cat([_colour("red", 1), _colour("blue", 3)]),  # mostly blue, a bit red
                                _colour("magenta", 4)], progress=False)
    mixed.sources = found.sources[:2]
    index = VideoIndex(glscl)
    index.add_embeddings(mixed, identity=glscl.identity)
    # the mean embedding prefers the magenta clip for "red"; frame pooling finds the red frame
    coarse = VideoIndex(identity=glscl.identity)
    coarse.add_embeddings(mixed, identity=glscl.identity)
    assert coarse.search(glscl.embed_texts(["red"])[0], k=1)[0][0] == found.sources[1]
    results = index.search("red", k=2)
    assert results[0][0] == found.sources[0] and results[0][1] == pytest.approx(1.0, abs=1e-2)


def _colour(name, frames):
    from fakes import colour_frames

    return colour_frames(name, frames)
