import pytest
import torch

from fakes import COLOURS, write_video


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    paths = [write_video(folder / f"{name}.mp4", [name] * 2) for name in COLOURS]
    (folder / "broken.mp4").write_bytes(b"not a video at all")
    return folder, paths


def test_embed_folder_skips_unreadable_and_reports_it(model, videos):
    folder, paths = videos
    found = model.embed_videos(folder, batch_size=4, num_workers=2, progress=False)
    assert found.sources == sorted(paths)
    assert [path for path, _ in found.skipped] == [str(folder / "broken.mp4")]
    assert "broken.mp4" in found.skipped[0][1]
    assert torch.allclose(found.embeddings.norm(dim=-1), torch.ones(len(found)), atol=1e-5)
    assert found.frame_features.shape == (len(found), 4, 16) and found.frame_mask.all()
    scores = model.embed_texts(["a red video"]) @ found.embeddings.T
    assert found.sources[int(scores.argmax())].endswith("red.mp4")


def test_missing_file_is_skipped(model, videos):
    found = model.embed_videos([videos[1][0], "/nonexistent/clip.mp4"], progress=False)
    assert len(found) == 1 and found.skipped[0][0] == "/nonexistent/clip.mp4"


def test_frames_and_paths_agree(model, videos):
    import vidclip

    path = videos[1][0]
    from_path = model.embed_videos([path], progress=False).embeddings
    # a path is decoded straight to the model's size; the same frames given by hand embed the same
    frames = vidclip.read_frames(path, num_frames=4, **model.decode_options).frames  # uint8
    from_frames = model.embed_videos([frames], progress=False)
    assert from_frames.sources == [0]
    assert torch.allclose(from_path, from_frames.embeddings, atol=1e-5)
    # full-size frames, resized by embed_videos in torch: another filter, nearly the same embedding
    full = model.embed_videos([vidclip.read_frames(path, num_frames=4).frames], progress=False).embeddings
    assert float(full @ from_path.T) > 0.99


def test_short_clips_are_masked_not_padded_into_the_mean(model):
    from fakes import colour_frames

    two = model.embed_videos([colour_frames("red", 2)], progress=False)
    four = model.embed_videos([colour_frames("red", 4)], progress=False)
    assert two.frame_mask.tolist() == [[True, True, False, False]]
    assert torch.allclose(two.embeddings, four.embeddings, atol=1e-5)


def test_empty_text_is_refused(model):
    with pytest.raises(ValueError, match="empty query"):
        model.embed_texts(["a red ball", ""])


def test_classify(model, videos):
    labels = model.classify(videos[1][0], ["green", "red", "blue"], template="a {} video")
    assert labels[0][0] == "red" and sum(p for _, p in labels) == pytest.approx(1.0)
