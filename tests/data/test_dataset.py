"""VideoTextDataset + collate_videos: real tiny videos, a broken one, padding, workers."""

import math
import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from vidclip.data.dataset import VideoTextDataset, collate_videos
from vidclip.data.formats import load_annotations


def encode_video(path, *, frames=6, size=(32, 24), fps=4):
    """A tiny H.264 clip whose frame i is filled with the value 40 * i (so frames can be told apart)."""
    import av

    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            image = np.full((height, width, 3), min(40 * index, 255), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def pyav_reader(path, *, num_frames=None, fps=None, start=None, end=None, **_):
    """A stand-in for vidclip.video.read_frames: all frames, then `num_frames` picked uniformly."""
    import av

    try:
        with av.open(path) as container:
            decoded = [frame for frame in container.decode(video=0)]
    except (av.FFmpegError, OSError) as error:
        raise ValueError(f"{path}: {error}") from None
    times = [float(frame.time) for frame in decoded]
    if start is not None:
        decoded = [f for f, t in zip(decoded, times) if start <= t <= end]
        times = [t for t in times if start <= t <= end]
    if num_frames is not None and len(decoded) > num_frames:
        picks = np.linspace(0, len(decoded) - 1, num_frames).round().astype(int)
        decoded, times = [decoded[i] for i in picks], [times[i] for i in picks]
    frames = torch.from_numpy(np.stack([f.to_ndarray(format="rgb24") for f in decoded])).permute(0, 3, 1, 2)
    return SimpleNamespace(frames=frames, timestamps=torch.tensor(times), fps=4.0, duration=1.5, backend="test")


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    encode_video(root / "long.mp4", frames=8)
    encode_video(root / "short.mp4", frames=3)
    encode_video(root / "wide.mp4", frames=4, size=(48, 24))
    (root / "broken.mp4").write_text("this is not a video")
    lines = [
        '{"video": "long", "caption": "a long clip", "start": 0.0, "end": 1.0}',
        '{"video": "broken", "caption": "a broken clip"}',
        '{"video": "short", "caption": "a short clip"}',
        '{"video": "gone", "caption": "a missing clip"}',
    ]
    (root / "data.jsonl").write_text("\n".join(lines) + "\n")
    return root


def annotations(videos):
    return load_annotations(videos / "data.jsonl")


def sample(frames, **fields):
    base = {"frames": torch.full((frames, 3, 4, 4), 7, dtype=torch.uint8), "mask": torch.ones(frames, dtype=torch.bool),
            "timestamps": torch.arange(frames, dtype=torch.float32), "duration": 2.0, "caption": "c", "index": 0,
            "video_id": "v", "start": None, "end": None, "label": None}
    return base | fields


def test_collate_pads_and_masks_and_counts_skipped():
    batch = collate_videos([sample(3, index=0, start=1.0, end=2.0), None, sample(5, index=2, label=4)])
    assert batch["frames"].shape == (2, 5, 3, 4, 4) and batch["frames"].dtype == torch.uint8
    assert batch["mask"].shape == (2, 5) and batch["mask"].dtype == torch.bool
    assert batch["mask"].tolist() == [[True] * 3 + [False] * 2, [True] * 5]
    assert batch["frames"][0, 3:].eq(0).all() and batch["frames"][0, :3].eq(7).all()
    assert batch["skipped"] == 1 and batch["index"].tolist() == [0, 2]
    assert batch["start"][0] == 1.0 and math.isnan(batch["start"][1]) and batch["label"].tolist() == [-1, 4]
    assert batch["timestamps"].shape == (2, 5) and batch["caption"] == ["c", "c"]


def test_collate_of_only_bad_samples_is_an_empty_batch():
    batch = collate_videos([None, None])
    assert batch["frames"].shape[0] == 0 and batch["mask"].shape == (0, 0) and batch["skipped"] == 2


def test_collate_refuses_mixed_sizes_with_advice():
    with pytest.raises(ValueError, match="pass size="):
        collate_videos([sample(2), sample(2) | {"frames": torch.zeros(2, 3, 8, 8, dtype=torch.uint8)}])


def test_dataset_skips_broken_and_missing_videos_and_counts(videos):
    dataset = VideoTextDataset(annotations(videos), num_frames=4, reader=pyav_reader, skip_errors=(ValueError,))
    good = dataset[0]
    assert good["frames"].shape == (4, 3, 24, 32) and good["frames"].dtype == torch.uint8
    assert good["mask"].all() and good["caption"] == "a long clip" and good["index"] == 0
    assert dataset[1] is None and dataset[3] is None
    assert dataset[2]["frames"].shape[0] == 3  # a short video gives fewer frames
    assert dataset.num_skipped == 2


def test_dataset_passes_sampling_options_and_moment(videos):
    calls = []

    def spy(path, **options):
        calls.append(options)
        return pyav_reader(path, **options)

    records = annotations(videos)
    VideoTextDataset(records, fps=2.0, mode="keyframe", jitter=True, clip_to_moment=True, reader=spy)[0]
    assert calls[-1] == {"fps": 2.0, "mode": "keyframe", "backend": "auto", "jitter": True, "start": 0.0, "end": 1.0}
    VideoTextDataset(records, num_frames=2, reader=spy)[0]
    assert calls[-1] == {"num_frames": 2, "mode": "exact", "backend": "auto"}
    with pytest.raises(ValueError, match="not both"):
        VideoTextDataset(records, num_frames=2, fps=1.0)


def test_dataset_opens_nothing_in_init_and_pickles(tmp_path):
    records = load_annotations(_jsonl(tmp_path, "nowhere"))
    dataset = VideoTextDataset(records, num_frames=2)
    assert len(pickle.loads(pickle.dumps(dataset))) == 1


def _jsonl(tmp_path, video):
    path = tmp_path / "one.jsonl"
    path.write_text(f'{{"video": "{video}", "caption": "x"}}\n')
    return path


def test_size_lets_different_resolutions_share_a_batch(videos):
    records = [annotations(videos)[0]] + load_annotations(_wide(videos)).records
    dataset = VideoTextDataset(records, num_frames=3, size=16, reader=pyav_reader, skip_errors=(ValueError,))
    batch = collate_videos([dataset[0], dataset[1]])
    assert batch["frames"].shape == (2, 3, 3, 16, 16)


def _wide(videos):
    path = videos / "wide.jsonl"
    path.write_text('{"video": "wide", "caption": "a wide clip"}\n')
    return path


def test_dataloader_with_two_workers_sums_skipped(videos):
    dataset = VideoTextDataset(annotations(videos), num_frames=4, reader=pyav_reader, skip_errors=(ValueError,))
    loader = DataLoader(dataset, batch_size=2, num_workers=2, collate_fn=collate_videos)
    batches = list(loader)
    assert sum(batch["skipped"] for batch in batches) == 2
    assert sorted(i for batch in batches for i in batch["index"].tolist()) == [0, 2]
    assert batches[0]["frames"].shape == (1, 4, 3, 24, 32) and batches[1]["mask"].tolist() == [[True] * 3]


def test_with_vidclip_video_read_frames(videos):
    """The default reader: vidclip.video.read_frames, resolved inside the worker."""
    video = pytest.importorskip("vidclip.video")
    if not hasattr(video, "read_frames"):
        pytest.skip("vidclip.video.read_frames is not there yet")
    dataset = VideoTextDataset(annotations(videos), num_frames=3)
    loader = DataLoader(dataset, batch_size=4, num_workers=2, collate_fn=collate_videos)
    (batch,) = list(loader)
    assert batch["skipped"] == 2 and batch["frames"].shape == (2, 3, 3, 24, 32)
    assert batch["mask"].all() and batch["caption"] == ["a long clip", "a short clip"]
