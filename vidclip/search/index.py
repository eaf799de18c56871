"""VideoIndex: text-to-video search over a collection, from a folder to a million videos.

Coarse search runs in FAISS (vidclip.search.ann) on the video embeddings; the top candidates are then
re-scored with the model's own similarity head from the per-video features kept beside the vectors
(GLSCL: text-conditioned frame pooling through vidclip.kernels.frame_pool_scores plus the local
query score; meanP: the same cosine, so the order is unchanged). With a query bank
(`set_querybank`, vidclip.search.querybank) a search can be re-ranked by QB-Norm instead. Saved as one
checksummed file (vidclip.search.index_file); the manifest names the model so an index is never searched
or extended with another model's embeddings.
"""

import json

import numpy as np
import torch

from vidclip.search import ann
from vidclip.search.querybank import QueryBank
from vidclip.search.index_file import IndexFileReader, file_signature, write_index_file
from vidclip.errors import IndexFileError, ModelMismatchError


def check_same_model(expected: dict, given: dict, where) -> None:
    if expected != given:
        diff = ", ".join(f"{key}: {expected.get(key)!r} vs {given.get(key)!r}"
                         for key in sorted(set(expected) | set(given)) if expected.get(key) != given.get(key))
        raise ModelMismatchError(
            f"{where} was built with model {expected.get('name')!r} but the given model is "
            f"{given.get('name')!r} ({diff}): use the same model, or rebuild with `vidclip index build`"
        )


class VideoIndex:
    """Search videos by text. Build with `VideoIndex.build(model, folder_or_paths)`."""

    def __init__(self, model=None, *, kind: str = "auto", identity: dict | None = None):
        self.model = model  # a Pipeline (vidclip.load); None for an index loaded without one
        self.identity = identity or (model.identity if model is not None else None)
        self.kind = kind
        self.spec = None
        self._ann = None
        self.sources = []  # file_signature of each video, row order
        self.skipped = []  # (path, reason) of videos that could not be read, latest add
        self._features = {}  # name -> chunks of per-video features ("frames" (N, T, D) float16, ...)
        self.querybank = None  # QueryBank for QB-Norm re-ranking, when set

    # ---- building -----------------------------------------------------------------------
    @classmethod
    def build(cls, model, videos, *, kind: str = "auto", **embed_options):
        """Index a folder (recursively) or a list of video files with `model` (a Pipeline)."""
        index = cls(model, kind=kind)
        index.add(videos, **embed_options)
        return index

    def add(self, videos, **embed_options) -> list:
        """Embed and add videos not yet indexed; returns the (path, reason) pairs skipped."""
        from vidclip.video.files import find_videos
        from vidclip.video.tar_members import resolve_source

        self._require_model("add videos")
        known = {source["path"] for source in self.sources}
        paths, already = [], []
        for path in find_videos(videos):
            resolved = resolve_source(path)
            (already if resolved in known else paths).append(path)
            known.add(resolved)
        found = self.model.embed_videos(paths, **embed_options)
        self.add_embeddings(found, identity=self.model.identity)
        self.skipped = list(found.skipped) + [(path, "already in the index") for path in already]
        return self.skipped

    def add_embeddings(self, found, *, identity: dict) -> None:
        """Add precomputed VideoEmbeddings whose sources are file paths (e.g. `vidclip embed`)."""
        if self.identity is None:
            self.identity = identity
        check_same_model(self.identity, identity, "this index")
        if len(found) == 0:
            return
        vectors = found.embeddings.float().numpy()
        wanted = ann.plan(len(self.sources) + len(vectors), self.kind, dim=vectors.shape[1])
        if self._ann is None or _needs_rebuild(self.spec, wanted):
            self._check_features(found)
            signatures = [file_signature(path) for path in found.sources]  # before any change: may raise
            old = ann.vectors(self._ann) if self._ann is not None else np.empty((0, vectors.shape[1]), np.float32)
            self._ann, self.spec = ann.build(np.concatenate([old, vectors]), wanted), wanted
            self._keep(signatures, found.features, vectors)
        else:
            self._append(found)

    @classmethod
    def from_parts(cls, model, parts, *, count: int, identity: dict, kind: str = "auto", seed: int = 0):
        """Index precomputed embeddings that come in parts (the shards of `vidclip embed`), one part
        in memory at a time beside FAISS: `parts()` iterates VideoEmbeddings, twice when the kind
        trains (a first pass draws the training sample). `count` sizes the plan: the number of rows
        in all parts. With all rows in one part this builds the same index as add_embeddings.
        """
        index = cls(model, kind=kind, identity=None if model is not None else identity)
        check_same_model(index.identity, identity, "this index")
        sample, offset = [], 0
        for part in parts():
            if not len(part):
                continue
            if index._ann is None:
                index.spec = ann.plan(count, kind, dim=part.embeddings.shape[1])
                index._ann = ann.new(index.spec, part.embeddings.shape[1], count)
                rows = ann.sample_rows(index.spec, count, seed=seed)
            if not len(rows):
                break  # nothing to train
            inside = rows[(rows >= offset) & (rows < offset + len(part))] - offset
            sample.append(part.embeddings[torch.from_numpy(inside)].float().numpy())
            offset += len(part)
        if index._ann is None:
            return index
        ann.train(index._ann, index.spec, np.concatenate(sample) if sample else None, seed=seed)
        for part in parts():
            index._append(part)
        return index

    def _append(self, found) -> None:
        """Add rows to the FAISS index as it is (no re-planning), their sources and features."""
        if len(found) == 0:
            return
        self._check_features(found)
        signatures = [file_signature(path) for path in found.sources]  # before any change: may raise
        vectors = np.ascontiguousarray(found.embeddings.float().numpy())
        self._ann.add(vectors)
        self._keep(signatures, features=found.features, vectors=vectors)

    def _check_features(self, found) -> None:
        if self.sources and set(found.features) != set(self._features):
            raise ValueError(f"features {sorted(found.features)} do not match the index's {sorted(self._features)}")

    def _keep(self, signatures, features, vectors) -> None:
        if self.querybank is not None:
            self.querybank.extend(vectors, first_row=len(self.sources))
        self.sources.extend(signatures)
        for name, value in features.items():
            self._features.setdefault(name, []).append(value.numpy())

    # ---- searching ----------------------------------------------------------------------
    def __len__(self):
        return len(self.sources)

    @property
    def paths(self) -> list:
        return [source["path"] for source in self.sources]

    def features(self) -> dict:
        """name -> (N, ...) array of the per-video features kept for re-ranking."""
        for name, chunks in self._features.items():
            if len(chunks) > 1:  # consolidate the chunks added so far
                self._features[name] = [np.concatenate(chunks)]
        return {name: chunks[0] for name, chunks in self._features.items()}

    def embeddings(self, rows) -> torch.Tensor:
        """(len(rows), D) float32: the stored vectors of the videos at `rows` (row = position in `sources`)."""
        return torch.from_numpy(self._ann.reconstruct_batch(np.asarray(rows, dtype=np.int64)))

    def set_querybank(self, bank) -> None:
        """Keep a bank of queries for QB-Norm: texts (embedded with the index's model) or (Nb, D) vectors.

        Use captions of the same kind as the searches (the training split's, as the paper does).
        """
        if len(self) == 0:
            raise ValueError("add videos before the query bank: its hubs are found among them")
        if not torch.is_tensor(bank) and not isinstance(bank, np.ndarray):
            self._require_model("embed the query bank")
            bank = self.model.embed_texts(list(bank))
        bank = torch.nn.functional.normalize(torch.as_tensor(bank, dtype=torch.float32), dim=-1).numpy()
        self.querybank = QueryBank.build(bank, lambda queries, k: ann.search(self._ann, queries, k))

    def search(self, query, k: int = 5, *, candidates: int | None = None, rerank: str | None = None) -> list:
        """[(path, score)] best first for a text, its features (`Pipeline.text_features([text])`, when the
        caller needs them too) or a (D,) query vector (coarse scores only).

        The `candidates` best by embedding (default 10 k) are re-scored by the model's head, or, with
        rerank="qbnorm", by QB-Norm on their embedding cosines (the bank's scores are embedding
        cosines too; the head's re-scoring is not used then).
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if rerank not in (None, "none", "qbnorm"):
            raise ValueError(f"rerank {rerank!r}: an index search re-ranks with 'qbnorm' or not at all "
                             "(dual softmax needs all test queries at once: `vidclip eval --rerank dsl`)")
        if rerank == "qbnorm" and self.querybank is None:
            raise ValueError("this index has no query bank for QB-Norm: build it with --querybank ANNOTATIONS "
                             "(e.g. the training captions)")
        text = None
        if isinstance(query, str):
            self._require_model("search by text")
            query = self.model.text_features([query])
        if isinstance(query, dict):
            self._require_model("search by text features")
            text, query = query, query["embedding"][0]
        query = torch.as_tensor(query, dtype=torch.float32).flatten()
        if len(self) == 0:
            return []
        features = self.features()
        qbnorm = rerank == "qbnorm"
        pool = max(candidates or 10 * k, k) if (text is not None and features) or qbnorm else k
        scores, rows = ann.search(self._ann, query[None].numpy(), pool)
        keep = rows[0] >= 0
        scores, rows = torch.from_numpy(scores[0][keep]), rows[0][keep]
        if qbnorm:
            vectors = torch.from_numpy(self._ann.reconstruct_batch(rows))  # (n, D)
            scores = self.querybank.normalize(vectors @ torch.nn.functional.normalize(query, dim=0), rows, vectors)
        elif text is not None and features:
            video = {name: torch.from_numpy(value[rows]) for name, value in features.items()}
            video["embedding"] = torch.from_numpy(self._ann.reconstruct_batch(rows))
            scores = self.model.similarity(text, video)[0]
        order = torch.argsort(scores, descending=True, stable=True)[:k]
        return [(self.sources[rows[i]]["path"], float(scores[i])) for i in order.tolist()]

    def stale(self) -> list:
        """Paths whose file (or tar, for a tar member) changed (size or mtime) or vanished since it was indexed."""
        out = []
        for source in self.sources:
            try:
                now = file_signature(source["path"])
            except FileNotFoundError:
                out.append(source["path"])
                continue
            if now != source:
                out.append(source["path"])
        return out

    # ---- storage ------------------------------------------------------------------------
    def save(self, path) -> None:
        """Write atomically: a crash or error leaves the previous file (or none), never half of one."""
        if self._ann is None:
            raise ValueError("cannot save an empty index: add videos first")
        arrays = {"ann": ann.to_bytes(self._ann),
                  "sources": np.frombuffer(json.dumps(self.sources).encode(), dtype=np.uint8)}
        arrays.update({f"features.{name}": value for name, value in self.features().items()})
        if self.querybank is not None:
            arrays.update(self.querybank.arrays())
        manifest = {"model": self.identity, "kind": self.kind, "spec": self.spec, "count": len(self)}
        write_index_file(path, arrays, manifest)

    @classmethod
    def load(cls, path, model=None, *, verify: bool = True):
        """Read an index; with `model`, refuse it when it was built by another model."""
        reader = IndexFileReader(path)
        manifest = reader.manifest
        if model is not None:
            check_same_model(manifest["model"], model.identity, f"index {path}")
        index = cls(model, kind=manifest["kind"], identity=manifest["model"])
        index.spec = manifest["spec"]
        index.sources = json.loads(reader.array("sources", verify=verify).tobytes())
        for name in reader.names():
            if name.startswith("features."):
                index._features[name[len("features."):]] = [reader.array(name, verify=verify)]
        index.querybank = QueryBank.from_arrays({name: reader.array(name, verify=verify)
                                                 for name in reader.names() if name.startswith("querybank.")})
        try:
            index._ann = ann.from_bytes(reader.array("ann", verify=verify), index.spec)
        except (RuntimeError, KeyError, TypeError) as error:  # FAISS refuses the bytes, or the spec is unusable
            raise IndexFileError(f"{path}: the FAISS index in it cannot be read ({error}): rebuild the index") from None
        if index._ann.ntotal != len(index.sources):
            raise IndexFileError(f"{path}: {index._ann.ntotal} vectors for {len(index.sources)} videos: rebuild the index")
        return index

    def _require_model(self, action: str) -> None:
        if self.model is None:
            raise ValueError(f"to {action}, load the index with its model: VideoIndex.load(path, model)")


def _needs_rebuild(current: dict, wanted: dict) -> bool:
    """Rebuild when the planned kind changed, or an IVF index outgrew its lists 4x."""
    if current["kind"] != wanted["kind"]:
        return True
    return current["kind"] == "ivf" and wanted["nlist"] >= 2 * current["nlist"]
