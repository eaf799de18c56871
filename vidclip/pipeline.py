"""`Pipeline`: what `vidclip.load` returns, a VideoCLIP with everything needed to use it.

It embeds videos and texts (decoding ahead of the model so the model never waits), finds moments,
classifies zero-shot, and applies the model's own preprocessing (`vidclip.video.model_input`).

Decoding (and resizing to the model's input size) runs in a thread pool a few batches ahead:
PyAV / torchcodec release the GIL while decoding, so threads overlap with the model without
pickling the model into worker processes. Unreadable videos are skipped and reported.
"""

import hashlib
import json
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from vidclip.errors import VideoDecodeError
from vidclip.video.files import find_videos

_DECODE_ERRORS = (ValueError, OSError, RuntimeError, EOFError)


@dataclass
class VideoEmbeddings:
    """What `embed_videos` returns: one row per video that could be read."""

    embeddings: torch.Tensor  # (N, D) float32, L2-normalised
    features: dict  # the model's other per-video features, for its own similarity head (re-ranking):
    #                 "frames" (N, T, D) float16, "frame_mask" (N, T) bool, GLSCL's "queries" (N, K, D) ...
    sources: list  # the inputs embedded, in order (paths, or input positions for frames)
    skipped: list = field(default_factory=list)  # (source, reason) for each unreadable video

    def __len__(self):
        return len(self.sources)

    @property
    def frame_features(self):
        return self.features.get("frames")

    @property
    def frame_mask(self):
        return self.features.get("frame_mask")


def stored_features(features: dict) -> dict:
    """The part of a model's video feature dict worth keeping per video, compact, on the CPU."""
    out = {}
    for name, value in features.items():
        # the embedding is stored apart; VDI's per-frame dynamics only serve its training losses
        if name in ("embedding", "dynamics") or not isinstance(value, torch.Tensor):
            continue
        out[name] = (value.to(torch.float16) if value.is_floating_point() else value).cpu()
    return out


def model_identity(model, num_frames: int) -> dict:
    """What must match for two embeddings to be comparable: name, config, weights, frames."""
    config = dict(model.config)
    config_json = json.dumps(config, sort_keys=True, default=str)
    weights = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        flat = tensor.detach().flatten()
        sample = flat[:: max(1, flat.numel() // 64)][:64].float().cpu().numpy()  # cheap, weight-sensitive
        weights.update(name.encode() + str(tuple(tensor.shape)).encode() + sample.tobytes())
    return {
        "name": str(config.get("name") or config.get("model") or type(model).__name__),
        "config_hash": hashlib.sha256(config_json.encode()).hexdigest()[:16],
        "weights_hash": weights.hexdigest()[:16],
        "num_frames": int(num_frames),
    }


def _on_device(features: dict, device) -> dict:
    """Feature dict on `device`, floating tensors as float32 (stored features are float16)."""
    return {k: v.to(device, torch.float32) if v.is_floating_point() else v.to(device) for k, v in features.items()}


def _uniform_indices(length: int, count: int) -> torch.Tensor:
    """`count` indices spread evenly over `length` frames (centres of equal segments)."""
    return ((torch.arange(count) + 0.5) * length / count).long().clamp_max(length - 1)


class Pipeline:
    """A model with everything needed to use it: preprocessing, batching, prefetching.

    `.model` is the VideoCLIP itself (for `tokenize`, `encode_video`, training, saving).
    """

    def __init__(self, model, *, device="cpu", num_frames=None):
        self.model = model.eval().to(device)
        self.device = torch.device(device)
        self.preprocess = dict(model.preprocess_config)
        size = self.preprocess["image_size"]
        self.image_size = int(size if isinstance(size, int) else size[0])  # square model input
        self.num_frames = int(num_frames or getattr(model, "num_frames", None) or 8)
        self._identity = None
        self._feature_cache = None
        self.decode_at_size = True  # scale frames in the decoder (see read_frames(short_side=)); False: full size

    @property
    def decode_options(self) -> dict:
        """Extra `read_frames` options for this model's input size (empty when decode_at_size is off)."""
        from vidclip.video.transforms import decode_options, resize_options

        return decode_options(self.image_size, **resize_options(self.preprocess)) if self.decode_at_size else {}

    @property
    def feature_cache(self):
        """Per-video frame features for moments (vidclip.moments.frame_features.FeatureCache)."""
        if self._feature_cache is None:
            from vidclip.moments.frame_features import FeatureCache

            self._feature_cache = FeatureCache()
        return self._feature_cache

    @feature_cache.setter
    def feature_cache(self, cache):
        self._feature_cache = cache

    @property
    def identity(self) -> dict:
        if self._identity is None:
            self._identity = model_identity(self.model, self.num_frames)
        return self._identity

    # ---- preprocessing ------------------------------------------------------------------
    def resize(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 (..., 3, H, W) -> uint8 (..., 3, S, S) as the model's preprocessing says (cheap to move)."""
        from vidclip.video.transforms import resize_options, resize_to_square

        return resize_to_square(frames, self.image_size, **resize_options(self.preprocess)).contiguous()

    def normalize(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 frames (..., 3, H, W) -> the model's float input on its device (resized if needed)."""
        from vidclip.video import model_input

        return model_input(frames, self.preprocess, self.device)

    # ---- encoding -----------------------------------------------------------------------
    @torch.inference_mode()
    def encode_clips(self, frames: torch.Tensor, frame_mask: torch.Tensor | None = None) -> dict:
        """Model-ready frames (B, T, 3, S, S) -> the model's feature dict: "embedding" (B, D),
        "frames" (B, T, D), "frame_mask" (B, T), and whatever its similarity head needs."""
        mask = None if frame_mask is None else frame_mask.to(self.device)
        features = self.model.video_features(frames.to(self.device), mask)
        return dict(features, embedding=F.normalize(features["embedding"].float(), dim=-1))

    @torch.inference_mode()
    def clip_features(self, frames: torch.Tensor, frame_mask: torch.Tensor | None = None, *, batch_size: int = 128) -> dict:
        """uint8 clips (N, T, 3, H, W) already in memory -> the model's feature dict on the CPU, float32."""
        parts = []
        for start in range(0, len(frames), batch_size):
            mask = None if frame_mask is None else frame_mask[start:start + batch_size]
            features = self.encode_clips(self.normalize(frames[start:start + batch_size]), mask)
            parts.append({k: v.float().cpu() if v.is_floating_point() else v.cpu() for k, v in features.items()})
        return {key: torch.cat([part[key] for part in parts]) for key in parts[0]}

    @torch.inference_mode()
    def text_features(self, texts, batch_size: int = 256) -> dict:
        """list[str] -> the model's text feature dict on the CPU ("embedding" (N, D) L2-normalised, ...)."""
        if isinstance(texts, str):
            texts = [texts]
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"empty query text {text!r}: give a sentence describing the video")
        parts = []
        for start in range(0, len(texts), batch_size):
            tokens = self.model.tokenize(list(texts[start : start + batch_size])).to(self.device)
            parts.append({k: v.float().cpu() for k, v in self.model.text_features(tokens).items()})
        if not parts:
            raise ValueError("no query text given")
        out = {name: torch.cat([part[name] for part in parts]) for name in parts[0]}
        out["embedding"] = F.normalize(out["embedding"], dim=-1)
        return out

    def embed_texts(self, texts, batch_size: int = 256) -> torch.Tensor:
        """list[str] -> (N, D) float32 on the CPU, L2-normalised."""
        return self.text_features(texts, batch_size)["embedding"]

    @torch.inference_mode()
    def similarity(self, text_features: dict, video_features: dict) -> torch.Tensor:
        """The model's own score (Nt, Nv) between feature dicts (e.g. GLSCL's global + local score)."""
        text, video = _on_device(text_features, self.device), _on_device(video_features, self.device)
        return self.model.similarity(text, video).float().cpu()

    # ---- videos -------------------------------------------------------------------------
    def _load(self, source, num_frames: int):
        """One input -> (frames (T', 3, S, S): uint8 pixels, or float already normalised; is_float)."""
        if isinstance(source, (str, os.PathLike)):
            from vidclip.video import read_frames
            from vidclip.video.tar_members import is_tar, member_file, split_member, tar_problem

            if split_member(source):  # a video inside a tar: the decoders want a path
                with member_file(source) as path:
                    try:
                        frames = read_frames(path, num_frames=num_frames, **self.decode_options).frames
                    except VideoDecodeError as error:  # name the member, not the temporary file
                        raise VideoDecodeError(str(source), error.reason) from None
                return self.resize(frames), False
            if is_tar(source) and Path(source).is_file():  # left unexpanded: damaged, or no video in it
                raise ValueError(tar_problem(source))
            if not Path(source).is_file():
                raise FileNotFoundError(f"no such video file: {source}")
            return self.resize(read_frames(str(source), num_frames=num_frames, **self.decode_options).frames), False
        frames = getattr(source, "frames", source)  # a VideoClip or a tensor
        if not isinstance(frames, torch.Tensor) or frames.dim() != 4 or frames.shape[1] != 3:
            raise ValueError(f"expected a path or frames (T, 3, H, W), got {type(frames).__name__}")
        if frames.dtype == torch.uint8:
            return self.resize(frames), False
        return frames, True  # float frames are taken as model-ready

    def _iter_loaded(self, sources, num_frames, num_workers):
        """Yield (position, source, frames or None, normalised, error) in order, decoding ahead."""
        lookahead = max(2, 4 * num_workers)
        with ThreadPoolExecutor(max_workers=num_workers, thread_name_prefix="vidclip-decode") as pool:
            todo = iter(enumerate(sources))

            def submit(item):
                return (*item, pool.submit(self._load, item[1], num_frames))

            pending = deque(map(submit, islice(todo, lookahead)))
            while pending:
                position, source, future = pending.popleft()
                pending.extend(map(submit, islice(todo, 1)))  # keep the pool `lookahead` videos ahead
                try:
                    frames, normalised = future.result()
                except _DECODE_ERRORS as error:
                    yield position, source, None, False, f"{type(error).__name__}: {error}"
                else:
                    yield position, source, frames, normalised, None

    def embed_videos(self, videos, *, batch_size: int = 8, num_frames=None, num_workers=None, progress=None):
        """Embed paths (or a folder), VideoClips or frame tensors. Returns VideoEmbeddings.

        Unreadable videos are skipped and listed in `.skipped`; `.sources` says which input each
        row is (the path, or the input's position for in-memory frames).
        """
        from tqdm.auto import tqdm

        if isinstance(videos, torch.Tensor) and videos.dim() == 5:
            videos = list(videos)
        elif isinstance(videos, (str, os.PathLike)) or (videos and isinstance(videos[0], (str, os.PathLike))):
            videos = find_videos(videos)
        num_frames = int(num_frames or self.num_frames)
        num_workers = num_workers or max(1, min(4, os.cpu_count() or 1))
        progress = len(videos) >= 16 if progress is None else progress
        rows, feature_rows, sources, skipped, batch = [], [], [], [], []

        def flush():
            clips = torch.zeros(len(batch), num_frames, 3, self.image_size, self.image_size, device=self.device)
            mask = torch.zeros(len(batch), num_frames, dtype=torch.bool)
            for i, (frames, normalised) in enumerate(batch):
                if len(frames) > num_frames:
                    frames = frames[_uniform_indices(len(frames), num_frames)]
                frames = frames.to(self.device)
                clips[i, : len(frames)] = frames if normalised else self.normalize(frames)
                mask[i, : len(frames)] = True
            features = self.encode_clips(clips, mask)
            rows.append(features["embedding"].cpu())
            feature_rows.append(stored_features(features))
            batch.clear()

        with tqdm(total=len(videos), unit="video", disable=not progress, desc="embedding") as bar:
            for position, source, frames, normalised, error in self._iter_loaded(videos, num_frames, num_workers):
                key = source if isinstance(source, (str, os.PathLike)) else position
                if error is not None:
                    skipped.append((str(key), error))
                elif len(frames) == 0:
                    skipped.append((str(key), "no frames decoded"))
                else:
                    batch.append((frames, normalised))
                    sources.append(str(key) if isinstance(key, os.PathLike) else key)
                    if len(batch) == batch_size:
                        flush()
                bar.update(1)
            if batch:
                flush()
        if not rows:
            return VideoEmbeddings(torch.empty(0, 0), {}, [], skipped)
        features = {name: torch.cat([part[name] for part in feature_rows]) for name in feature_rows[0]}
        return VideoEmbeddings(torch.cat(rows), features, sources, skipped)

    # ---- uses ---------------------------------------------------------------------------
    def find_moments(self, video, query, top_k: int = 5, **options):
        """[(start_s, end_s, score)] best first: see vidclip.moments.find.find_moments."""
        from vidclip.moments.find import find_moments

        return find_moments(self, video, query, top_k=top_k, **options)

    def label_probabilities(self, embeddings: torch.Tensor, labels, *, template: str = "a video of a person {}."):
        """(N, L) label probabilities for video embeddings (N, D); labels become sentences by `template`.

        As the towers were trained: a softmax over the labels (CLIP's loss), or each label's own
        sigmoid with the learned bias (SigLIP's loss scores every pair on its own; they need not sum to 1).
        """
        if not labels:
            raise ValueError("no labels given")
        texts = self.embed_texts([template.format(label.replace("_", " ")) for label in labels])
        logits = self.logit_scale * embeddings.float() @ texts.T  # (N, L)
        bias = self.logit_bias
        return logits.softmax(-1) if bias is None else torch.sigmoid(logits + bias)

    def classify(self, video, labels, *, template: str = "a video of a person {}."):
        """Zero-shot: [(label, probability)] most likely first, for one video."""
        found = self.embed_videos([video], progress=False)
        if found.skipped:
            raise ValueError(f"cannot read video {found.skipped[0][0]}: {found.skipped[0][1]}")
        probs = self.label_probabilities(found.embeddings, labels, template=template)[0].tolist()
        return sorted(zip(labels, probs), key=lambda pair: -pair[1])

    @property
    def has_moment_head(self) -> bool:
        """True for models with a trained localisation head (VDI): moments then come from it."""
        return getattr(getattr(self.model, "adapter", None), "moment_head", None) is not None

    @property
    def logit_bias(self) -> float | None:
        """The learned bias of a model trained with SigLIP's sigmoid loss; None for a softmax model."""
        bias = getattr(self.model, "sigmoid_bias", None)
        return float(bias.detach()) if isinstance(bias, torch.Tensor) else None

    @property
    def logit_scale(self) -> float:
        """CLIP's learned softmax scale (100 when the model has none)."""
        owner = getattr(self.model, "clip", self.model)
        scale = getattr(owner, "logit_scale", None)
        return float(scale.detach().exp()) if isinstance(scale, torch.Tensor) else 100.0
