"""The demo's data: the synthetic dataset, generated once, served from its decoded-frame caches.

Training never decodes video: `vidclip synth` writes every split's frames as .npy next to the MP4s,
and the datasets here index those tensors. Items look like what `vidclip.data.dataset` yields
(uint8 "frames" (T, 3, H, W), "mask", "caption", "start", ...), so the tasks of `vidclip.train.tasks`
work on them unchanged.

While a stage keeps the vision tower frozen and the adapter does not hook its blocks, a frame's
tower output never changes: `embed_frames` computes it once per frame ("frame_features" (T, D),
"patches" (T, P, D)) and the datasets serve those instead of pixels (see `vidclip.demo.tasks`).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from vidclip.moments.targets import frame_ratings, pad_windows, query_windows

def synthesize(root, *, seed=0, log=print, **counts) -> dict:
    """Generate the synthetic dataset into `root`, or reuse it when a finished one with the same
    seed and counts is there (its manifest is written last, so its presence means complete)."""
    from vidclip.data.synthetic import generate, read_manifest

    root = Path(root)
    if (root / "manifest.json").is_file():
        manifest = read_manifest(root)
        if manifest["seed"] == seed and _counts_match(manifest, counts):
            log(f"reusing the synthetic data in {root}")
            return manifest
        log(f"{root} holds synthetic data of other settings: regenerating it")
    return generate(root, seed=seed, overwrite=True, **counts)


def _counts_match(manifest, counts) -> bool:
    have = manifest["counts"]
    wanted = {
        "num_train": have["clips"]["train"], "num_test": have["clips"]["test"], "num_novel": have["clips"]["novel"],
        "num_moment_train": have["moment_videos"]["train"], "num_moment_test": have["moment_videos"]["test"],
        "num_moment_novel": have["moment_videos"]["novel"], "num_images": have["images"],
    }
    return all(wanted[key] == value for key, value in counts.items() if key in wanted)


def uniform_frame_indices(length: int, count: int, *, jitter: bool, generator=None) -> torch.Tensor:
    """`count` indices over `length` frames: segment centres, or a random frame per segment (TSN)."""
    edges = torch.arange(count + 1, dtype=torch.float64) * length / count  # (count + 1,)
    if jitter:
        offsets = torch.rand(count, generator=generator, dtype=torch.float64)
    else:
        offsets = torch.full((count,), 0.5, dtype=torch.float64)
    index = (edges[:-1] + offsets * (edges[1:] - edges[:-1])).long()  # (count,)
    return index.clamp(0, length - 1)


@torch.no_grad()
def embed_frames(model, frames: torch.Tensor, *, patches: bool, batch_size: int = 512) -> dict:
    """uint8 frames (N, 3, H, W) -> {"frame_features": (N, D), "patches": (N, P, D) if asked}, float32 CPU.

    `VideoCLIP.frame_embeddings` one frame at a time: valid for a frozen tower without block hooks,
    whose per-frame output does not depend on the rest of the clip.
    """
    from vidclip.train.tasks import model_device
    from vidclip.video import model_input

    assert not model.adapter.hooks_vision_blocks, f"{model.adapter.name!r} hooks the vision blocks: no frame cache"
    was_training = model.training
    model.eval()
    pooled, tokens = [], []
    for start in range(0, len(frames), batch_size):
        chunk = model_input(frames[start:start + batch_size, None], model.preprocess_config, model_device(model))  # (B, 1, 3, S, S)
        out, _, patch = model.frame_embeddings(chunk, patches=patches)  # (B, 1, D), _, (B, 1, P, D)
        pooled.append(out[:, 0].float().cpu())
        if patches:
            tokens.append(patch[:, 0].float().cpu())
    model.train(was_training)
    features = {"frame_features": torch.cat(pooled)}
    if patches:
        features["patches"] = torch.cat(tokens)
    return features


class StillPairs(Dataset):
    """Still image-caption pairs as one-frame items {"images": (3, H, W) uint8, "caption"}."""

    def __init__(self, images: torch.Tensor, captions: list[str]):
        assert images.ndim == 4 and len(images) == len(captions), "images (N, 3, H, W) with one caption each"
        self.images, self.captions = images, captions
        self.description = f"{len(captions)} still image-caption pairs"

    def __len__(self):
        return len(self.captions)

    def __getitem__(self, index):
        return {"images": self.images[index], "caption": self.captions[index]}


def collate_stills(items: list[dict]) -> dict:
    return {"images": torch.stack([item["images"] for item in items]), "caption": [item["caption"] for item in items]}


class _Draws:
    """A fresh, reproducible generator per draw (the loader runs in-process: no worker seeding)."""

    def __init__(self, seed: int):
        self.seed, self.count = seed, 0

    def __call__(self) -> torch.Generator:
        self.count += 1
        return torch.Generator().manual_seed(self.seed * 1_000_003 + self.count)


class ClipCaptions(Dataset):
    """Cached clips, each with one of its captions drawn at random.

    `tracks` maps item keys to per-clip tensors (N, T, ...): {"frames": uint8 (N, T, 3, H, W)}, or
    the frame cache {"frame_features": (N, T, D), "patches": (N, T, P, D)}.
    With `with_twins`, item i is clip i *and* its temporal twin when it has one (a list of one or
    two samples; `collate_samples` flattens them). Random batches almost never hold both twins (48 of
    2,000 clips: ~2%), so without this the contrastive loss never has to tell "grows" from "shrinks"
    on the same frames; with it, every twin in a batch is the hardest negative of its partner.
    """

    def __init__(self, tracks: dict, clips: list[dict], *, with_twins: bool = False, seed: int = 0):
        assert all(len(t) == len(clips) for t in tracks.values()), "one row per clip in every track"
        self.tracks, self.clips, self.with_twins = tracks, clips, with_twins
        self.captions = [clip["captions"] for clip in clips]
        row = {clip["video_id"]: i for i, clip in enumerate(clips)}
        self.twin = [row.get(clip.get("twin_of")) for clip in clips]
        self.draw = _Draws(seed)
        self.description = f"{len(clips)} cached clips" + (" (with their twins)" if with_twins else "")

    def __len__(self):
        return len(self.clips)

    def sample(self, index):
        captions = self.captions[index]
        sample = {key: track[index] for key, track in self.tracks.items()}
        num_frames = len(next(iter(sample.values())))
        sample.update(mask=torch.ones(num_frames, dtype=torch.bool), duration=None, start=None, end=None,
                      caption=captions[int(torch.randint(len(captions), (1,), generator=self.draw()))],
                      video_id=self.clips[index]["video_id"], index=index)
        return sample

    def __getitem__(self, index):
        if not self.with_twins:
            return self.sample(index)
        twin = self.twin[index]
        return [self.sample(index)] + ([] if twin is None else [self.sample(twin)])


class MomentQueries(Dataset):
    """One item per (untrimmed video, query): `num_frames` frames sampled over the whole video, the
    query's windows in seconds ("windows", the first as "start"/"end"; "duration") and the frames'
    saliency ratings ("saliency"), as `MomentTask` expects.

    `tracks` maps item keys to per-video tensors (F_i, ...) (see `ClipCaptions`).
    """

    def __init__(self, tracks: dict, metadata: list[dict], *, num_frames: int, jitter: bool, seed: int = 0):
        self.tracks, self.metadata, self.num_frames, self.jitter = tracks, metadata, num_frames, jitter
        self.lengths = [len(t) for t in next(iter(tracks.values()))]
        self.queries = [(v, query) for v, meta in enumerate(metadata) for query in meta["queries"]]
        self.draw = _Draws(seed)
        self.description = f"{len(self.queries)} moment queries in {len(metadata)} cached videos"

    def __len__(self):
        return len(self.queries)

    def frame_times(self, video: int, *, jitter: bool, generator=None):
        """(indices (T,) of the sampled frames, their centres (T,) in seconds)."""
        index = uniform_frame_indices(self.lengths[video], self.num_frames, jitter=jitter, generator=generator)
        return index, (index.double() + 0.5) / self.metadata[video]["fps"]

    def __getitem__(self, index):
        video, query = self.queries[index]
        frames, times = self.frame_times(video, jitter=self.jitter, generator=self.draw())
        start, end = query["relevant_windows"][0]
        sample = {key: track[video][frames] for key, track in self.tracks.items()}
        sample.update(mask=torch.ones(self.num_frames, dtype=torch.bool), duration=self.metadata[video]["duration"],
                      caption=query["query"], video_id=self.metadata[video]["video_id"], index=index,
                      start=start, end=end, windows=query_windows(query["relevant_windows"]),
                      saliency=frame_ratings(times, query.get("relevant_clip_ids"), query.get("saliency_scores")))
        return sample


class ClipsAndMoments(Dataset):
    """For VDI: item i is moment query i plus a clip (with its twin), so one step trains both the
    contrastive video-text alignment (clips) and the moment head (untrimmed videos)."""

    def __init__(self, clips: ClipCaptions, moments: MomentQueries, *, seed: int = 0):
        self.clips, self.moments = clips, moments
        self.draw = _Draws(seed)
        self.description = f"{clips.description} + {moments.description}"

    def __len__(self):
        return len(self.moments)

    def __getitem__(self, index):
        clip = int(torch.randint(len(self.clips), (1,), generator=self.draw()))
        return {"clip": self.clips[clip], "moment": self.moments[index]}


def _flatten(items) -> list[dict]:
    """Items (samples or lists of samples) -> samples, each clip once (a pair drawn twice in one
    batch would make a clip its own negative)."""
    seen, samples = set(), []
    for item in items:
        for sample in item if isinstance(item, list) else [item]:
            if sample["video_id"] not in seen:
                seen.add(sample["video_id"])
                samples.append(sample)
    return samples


def collate_samples(items) -> dict:
    """Samples of equal length -> a batch: tensors stacked, "caption"/"video_id" listed, numbers as
    float tensors (None -> NaN), "index" as long; "skipped" 0 (cached data has no broken videos)."""
    samples = _flatten(items)
    batch = {"skipped": 0, "caption": [s["caption"] for s in samples], "video_id": [s["video_id"] for s in samples],
             "index": torch.tensor([s["index"] for s in samples], dtype=torch.long)}
    for key in ("start", "end", "duration"):
        batch[key] = torch.tensor([float("nan") if s[key] is None else float(s[key]) for s in samples])
    for key, value in samples[0].items():
        if torch.is_tensor(value):
            batch[key] = pad_windows([s[key] for s in samples]) if key == "windows" else torch.stack([s[key] for s in samples])
    return batch


def collate_clips_and_moments(items: list[dict]) -> dict:
    return {"clips": collate_samples([item["clip"] for item in items]),
            "moments": collate_samples([item["moment"] for item in items])}
