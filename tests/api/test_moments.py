import json

import pytest

from fakes import write_video
from vidclip.moments.frame_features import FeatureCache
from vidclip.moments.find import qvhighlights_predictions


@pytest.fixture(scope="module")
def long_video(tmp_path_factory):
    # 40 s: blue, red from 12 s to 20 s, green from 30 s to 34 s
    colours = ["blue"] * 12 + ["red"] * 8 + ["blue"] * 10 + ["green"] * 4 + ["blue"] * 6
    return write_video(tmp_path_factory.mktemp("long") / "long.mp4", colours, fps=4, size=16)


def test_find_moments_on_a_video(model, long_video):
    moments = model.find_moments(long_video, "a red scene", top_k=3, fps=1)
    assert moments[0][:2] == (12.0, 20.0)
    green = model.find_moments(long_video, "something green", top_k=1, fps=2)
    assert green[0][:2] == (30.0, 34.0)


def test_chunks_give_the_same_features_as_one_pass(model, long_video):
    from vidclip.moments.frame_features import compute_frame_features

    whole = compute_frame_features(model, long_video, fps=1, chunk_seconds=1000)
    chunked = compute_frame_features(model, long_video, fps=1, chunk_seconds=7)
    assert (whole.timestamps == chunked.timestamps).all() and whole.duration == chunked.duration == 40.0
    assert (whole.features - chunked.features).abs().max() < 1e-3


def test_features_are_cached_in_memory_and_on_disk(model, long_video, tmp_path, monkeypatch):
    import vidclip.moments.find

    model.feature_cache = FeatureCache(tmp_path / "cache")
    model.find_moments(long_video, "red", fps=1)
    assert len(list((tmp_path / "cache").glob("*.safetensors"))) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("features should come from the cache")

    monkeypatch.setattr(vidclip.moments.find, "compute_frame_features", no_decoding)
    assert model.find_moments(long_video, "red", fps=1)[0][:2] == (12.0, 20.0)
    model.feature_cache = FeatureCache(tmp_path / "cache")  # a new process: the disk copy
    assert model.find_moments(long_video, "green", fps=1)[0][:2] == (30.0, 34.0)


def test_missing_video_and_empty_query_are_errors(model, long_video, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such video file"):
        model.find_moments(tmp_path / "gone.mp4", "red")
    with pytest.raises(ValueError, match="empty query"):
        model.find_moments(long_video, " ")


def test_qvhighlights_format(model, long_video):
    rows = qvhighlights_predictions(model, long_video, [{"qid": 7, "query": "red"}, {"query": "green"}])
    assert [row["qid"] for row in rows] == [7, 1]
    row = json.loads(json.dumps(rows[0]))
    assert set(row) == {"qid", "query", "vid", "pred_relevant_windows", "pred_saliency_scores"}
    assert row["vid"] == "long" and row["pred_relevant_windows"][0][:2] == [12.0, 20.0]
    scores = [w[2] for w in row["pred_relevant_windows"]]
    assert scores == sorted(scores, reverse=True) and len(scores) <= 10
    assert len(row["pred_saliency_scores"]) == 20  # one per 2-second clip
    assert row["pred_saliency_scores"][6] > row["pred_saliency_scores"][0]  # 12-14 s is red


@pytest.fixture
def vdi_embedder():
    """A tiny VDI model whose temporal transformer already mixes frames (its output layer is 0 at init)."""
    import torch

    import vidclip
    from vidclip.pipeline import Pipeline

    torch.manual_seed(0)
    model = vidclip.create_model("tiny-vit-16", adapter="vdi", num_frames=4).eval()
    torch.nn.init.normal_(model.adapter.temporal.out.weight, std=0.2)
    return Pipeline(model)


def test_chunks_do_not_change_a_temporal_models_features(vdi_embedder, long_video):
    """Decoding chunks (7 frames) that do not line up with the model's clips (4 frames) change nothing."""
    from vidclip.moments.frame_features import compute_frame_features

    whole = compute_frame_features(vdi_embedder, long_video, fps=1, chunk_seconds=1000)
    chunked = compute_frame_features(vdi_embedder, long_video, fps=1, chunk_seconds=7)
    assert whole.features.shape == (40, vdi_embedder.model.clip.visual.output_dim)
    assert (whole.features.float() - chunked.features.float()).abs().max() < 1e-3


def test_every_frame_but_the_first_sees_its_predecessor(vdi_embedder, long_video):
    """VDI reads change since the previous frame: clips overlap by one frame, so no clip boundary
    leaves a frame without it."""
    from vidclip.moments.frame_features import compute_frame_features

    adapter, seen = vdi_embedder.model.adapter, []
    original = adapter.frame_dynamics

    def recording(patches, frame_mask):
        dynamics = original(patches, frame_mask)
        seen.append((dynamics.norm(dim=-1) > 0).cpu())  # (K, T) frames with a predecessor
        return dynamics

    adapter.frame_dynamics = recording
    compute_frame_features(vdi_embedder, long_video, fps=1, chunk_seconds=7)
    clips = [row for batch in seen for row in batch]  # (T,) per clip, in order
    # clip 0 keeps frames 0..3 (frame 0 has no predecessor); later clips drop their context frame
    flags = [bool(v) for v in clips[0]] + [bool(v) for clip in clips[1:] for v in clip[1:]]
    assert len(flags) == 40 and flags[0] is False and all(flags[1:])


def test_cache_key_changes_with_the_feature_layout(long_video, monkeypatch):
    """Features computed the old way are never served after the way of computing them changes."""
    import vidclip.moments.frame_features as frame_features

    identity = {"name": "tiny", "num_frames": 4}
    key = FeatureCache.key(long_video, identity, 1.0)
    assert key == FeatureCache.key(long_video, dict(identity), 1.0)
    assert key != FeatureCache.key(long_video, identity, 2.0)
    monkeypatch.setattr(frame_features, "FEATURES_LAYOUT", frame_features.FEATURES_LAYOUT + 1)
    assert key != FeatureCache.key(long_video, identity, 1.0)


def test_qvhighlights_saliency_comes_from_the_saliency_head(vdi_embedder, long_video, monkeypatch):
    """Each frame's head score, averaged over the sliding windows that hold it, then per 2 s clip."""
    from vidclip.model import VideoCLIP
    from vidclip.moments.find import cached_frame_features, saliency

    monkeypatch.setattr(VideoCLIP, "predict_saliency", lambda self, video, tokens: video["frames"][..., 0] * 10)
    row = qvhighlights_predictions(vdi_embedder, long_video, [{"query": "red"}])[0]
    features = cached_frame_features(vdi_embedder, long_video)
    expected = saliency(features.features[:, 0].double().numpy() * 10, features.timestamps, features.duration)
    assert row["pred_saliency_scores"] == pytest.approx(expected, abs=1e-3)
    assert max(abs(v) for v in expected) > 0.05  # not the cosine curve's range by accident


@pytest.mark.parametrize("embedder", ["model", "vdi_embedder"])
def test_each_query_is_embedded_once(embedder, long_video, request, monkeypatch):
    """With or without a moment head, windows and saliency share one text embedding per query."""
    from vidclip.moments.find import find_moments

    pipeline = request.getfixturevalue(embedder)
    texts = []
    embed = pipeline.embed_texts
    monkeypatch.setattr(pipeline, "embed_texts", lambda queries: texts.extend(queries) or embed(queries))
    rows = qvhighlights_predictions(pipeline, long_video, [{"query": "red"}, {"query": "green"}], top_k=3)
    assert texts == ["red", "green"] and len(rows) == 2 and rows[0]["pred_saliency_scores"]
    texts.clear()
    assert find_moments(pipeline, long_video, "red", top_k=3) and texts == ["red"]
