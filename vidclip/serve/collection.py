"""`Collection`: what the web page asks of an index and its model, by video id, never by path.

A video's id is its row in the index (its position in the manifest's `sources`). Every file the
server touches comes from that list, so no request can name a file the index does not hold.
Moments are computed once per (video, query) and kept; the frame features behind them are computed
once per video (the pipeline's FeatureCache), reporting progress a long video can be watched by.
"""

import threading
from collections import OrderedDict
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

import numpy as np
import torch

from vidclip.errors import InputError, UnknownVideoError
from vidclip.video.tar_members import member_file, source_exists, split_member


class LRU:
    """A thread-safe memo that forgets its least recently used entries beyond `size`."""

    def __init__(self, size: int):
        self.size = size
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
            return self._entries.get(key)

    def remember(self, key, value):
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value


class Collection:
    """Search, moments, zero-shot labels and files for the videos of one index (a VideoIndex with its Pipeline)."""

    def __init__(self, index, *, fps: float = 1.0, cache_size: int = 256):
        self.index = index
        self.pipeline = index.model
        self.fps = fps
        self._moments = LRU(cache_size)
        self._thumbnails = LRU(cache_size)
        self._progress = {}  # video id -> fraction of its frame features computed, while computing
        self._locks = {}  # video id -> lock, so two requests never compute one video twice
        self._guard = threading.Lock()
        self._rows = {source["path"]: row for row, source in enumerate(index.sources)}  # path -> id

    def __len__(self):
        return len(self.index)

    def name(self, video_id: int) -> str:
        return Path(self._source(video_id)["path"]).name

    def path(self, video_id: int) -> Path:
        """The file of an indexed video, refused when it was deleted or swapped for a link elsewhere.

        A video inside a tar (`tar::member`) has no file: playing it and its moments (which read it many
        times) are refused; thumbnails and labels go through `_check_present` instead.
        """
        source = self._source(video_id)["path"]
        if split_member(source):
            self._check_present(video_id)
            raise InputError(f"video {video_id} ({self.name(video_id)}) is inside a tar archive: playing it and "
                             "finding moments need a video file; extract it (tar -xf) and index the file")
        path = Path(source)  # resolved when indexed
        if not path.is_file() or path.resolve() != path:
            raise UnknownVideoError(f"video {video_id} ({path.name}) is no longer on disk: rebuild the index")
        return path

    def _check_present(self, video_id: int) -> None:
        """Refuse a video gone from disk (a file, or a tar member: its tar or its member gone)."""
        source = self._source(video_id)["path"]
        if not split_member(source):
            self.path(video_id)
        elif not source_exists(source):
            raise UnknownVideoError(f"video {video_id} ({self.name(video_id)}) is no longer in its tar archive: "
                                    "rebuild the index")

    @contextmanager
    def _readable(self, video_id: int):
        """A path the decoders can open: the file, or a tar member copied to a temporary file."""
        source = self._source(video_id)["path"]
        if split_member(source):
            with member_file(source) as path:
                yield path
        else:
            yield str(self.path(video_id))

    def _source(self, video_id: int) -> dict:
        if not 0 <= video_id < len(self.index):
            raise UnknownVideoError(f"no video {video_id} in this index (ids are 0 to {len(self.index) - 1})")
        return self.index.sources[video_id]

    # ---- search -------------------------------------------------------------------------
    def search(self, query: str, k: int) -> list:
        """[{"id", "name", "score", "at"}] best first; `at` is where (0-1 of the video) the query matches best."""
        text = self.pipeline.text_features([query])  # encoded once: the search and the thumbnails share it
        found = self.index.search(text, k=k)
        ids = [self._rows[path] for path, _ in found]
        at = self._best_positions(text["embedding"][0], ids)
        return [{"id": i, "name": self.name(i), "score": round(score, 4), "at": round(a, 4)}
                for i, (_, score), a in zip(ids, found, at)]

    def _best_positions(self, text: torch.Tensor, ids: list) -> list:
        """For each video, the centre of its sampled frame closest to `text` (the query's (D,) embedding),
        as 0-1 of the video, from the index's per-frame features (frames sampled at the centres of equal
        segments); the middle without them."""
        features = self.index.features()
        if "frames" not in features or not ids:
            return [0.5] * len(ids)
        frames = torch.from_numpy(features["frames"][ids]).float()  # (V, T, D)
        mask = torch.ones(frames.shape[:2], dtype=torch.bool)  # (V, T)
        if "frame_mask" in features:
            mask = torch.from_numpy(features["frame_mask"][ids])
        scores = (frames @ text).masked_fill(~mask, -torch.inf)  # (V, T)
        best, counts = scores.argmax(1), mask.sum(1).clamp_min(1)
        return ((best + 0.5) / counts).tolist()

    # ---- moments ------------------------------------------------------------------------
    def moments(self, video_id: int, query: str, top_k: int) -> dict:
        """Moments and the saliency curve of `query` in one video (QVHighlights windows, 2-second saliency)."""
        from vidclip.moments.find import SALIENCY_CLIP_SECONDS, qvhighlights_predictions

        path = self.path(video_id)  # first: a video deleted since is refused, even when remembered
        found = self._moments.get((video_id, query, top_k))
        if found is not None:
            return found
        features = self.frame_features(video_id)
        row = qvhighlights_predictions(self.pipeline, str(path), [{"query": query}], top_k=top_k, fps=self.fps)[0]
        return self._moments.remember((video_id, query, top_k), {
            "id": video_id, "query": query, "duration": round(features.duration, 3),
            "method": "moment head" if self.pipeline.has_moment_head else "similarity",
            "moments": [{"start": s, "end": e, "score": score} for s, e, score in row["pred_relevant_windows"]],
            "saliency": row["pred_saliency_scores"], "saliency_clip_seconds": SALIENCY_CLIP_SECONDS,
        })

    def frame_features(self, video_id: int):
        """The video's frame features, computed once (one thread per video; others wait for it)."""
        from vidclip.moments.frame_features import compute_frame_features

        path = str(self.path(video_id))
        cache = self.pipeline.feature_cache
        with self._guard:
            lock = self._locks.setdefault(video_id, threading.Lock())
        with lock:
            key = cache.key(path, self.pipeline.identity, self.fps)
            found = cache.get(key)
            if found is None:
                def report(fraction):
                    self._progress[video_id] = fraction

                report(0.0)
                try:
                    found = compute_frame_features(self.pipeline, path, fps=self.fps, progress=report)
                finally:
                    self._progress.pop(video_id, None)
                cache.put(key, found)
        return found

    def progress(self, video_id: int) -> dict:
        """How far the frame features of a video are: {"computing": bool, "fraction": 0-1}."""
        self._source(video_id)
        fraction = self._progress.get(video_id)
        return {"id": video_id, "computing": fraction is not None, "fraction": round(fraction or 0.0, 3)}

    # ---- zero-shot labels ---------------------------------------------------------------
    def classify(self, video_id: int, labels: list) -> list:
        """[{"label", "probability"}] most likely first, from the embedding already in the index."""
        self._check_present(video_id)
        probabilities = self.pipeline.label_probabilities(self.index.embeddings([video_id]), labels)[0]
        order = torch.argsort(probabilities, descending=True).tolist()
        return [{"label": labels[i], "probability": round(float(probabilities[i]), 4)} for i in order]

    # ---- thumbnails ---------------------------------------------------------------------
    def thumbnail(self, video_id: int, at: float, width: int = 320) -> bytes:
        """A JPEG of the frame shown at `at` (0-1 of the video), at most `width` pixels wide."""
        self._check_present(video_id)  # a deleted video has no thumbnail, even a remembered one
        key = (video_id, round(at, 3), width)
        return self._thumbnails.get(key) or self._thumbnails.remember(key, self._render_thumbnail(video_id, at, width))

    def _render_thumbnail(self, video_id: int, at: float, width: int) -> bytes:
        from PIL import Image

        from vidclip.video import read_frames
        from vidclip.video.frame_index import scan

        with self._readable(video_id) as path:
            span = scan(path)
            time = span.begin + min(max(at, 0.0), 1.0) * span.duration
            time = min(time, float(span.seconds[-1]))  # the last frame starts before the end
            frame = read_frames(path, timestamps=[time]).frames[0]  # (3, H, W) uint8
        image = Image.fromarray(np.ascontiguousarray(frame.permute(1, 2, 0).numpy()))
        image.thumbnail((width, width))
        buffer = BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=85)
        return buffer.getvalue()
