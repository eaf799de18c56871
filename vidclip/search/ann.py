"""FAISS behind the video index: exact search while small, IVF or HNSW once large, IVF-PQ past RAM.

All indexes use inner product on L2-normalised vectors (= cosine). Row i of the FAISS index is
video i of the VideoIndex; FAISS holds the only copy of the vectors, which any index kind here
can give back (`vectors`; IVF-PQ only approximately), so an index can be rebuilt in another kind
when it grows. Building is `new` + `train` (on a sample) + adds, so vectors can come in parts.
"""

import math

import numpy as np

EXACT_MAX = 50_000  # auto: exact search up to this many videos (a few ms per query on 2 cores)
FULL_VECTORS_MAX = 2_000_000  # auto: full vectors (IVF) up to this many (4 GB at D = 512), IVF-PQ codes beyond
KINDS = ("auto", "flat", "ivf", "ivfpq", "hnsw")
PQ_MIN = 256  # fewer vectors cannot train IVF-PQ's codebooks (and need no compression)
TRAIN_PER_LIST = 64  # training sample: this many vectors per IVF list


def import_faiss():
    try:
        import faiss
    except ImportError:
        raise ImportError("the video index needs FAISS: pip install 'vidclip[faiss]'") from None
    return faiss


def plan(num_vectors: int, kind: str = "auto", *, dim: int | None = None) -> dict:
    """The index spec for a collection size: {'kind': ..., and the kind's parameters}.

    IVF-PQ needs `dim` (its sub-quantizers split the vector).
    """
    if kind not in KINDS:
        raise ValueError(f"index kind {kind!r}: expected one of {', '.join(KINDS)}")
    if kind == "auto":
        kind = "flat" if num_vectors <= EXACT_MAX else "ivf" if num_vectors <= FULL_VECTORS_MAX else "ivfpq"
    if kind == "flat":
        return {"kind": "flat"}
    if kind == "hnsw":
        return {"kind": "hnsw", "m": 32, "ef_construction": 80, "ef_search": 128}
    # about sqrt(N) lists (a power of two), probing 1/16 of them: recall@10 >= 0.95 on clustered data
    nlist = max(16, 2 ** round(math.log2(max(1.0, math.sqrt(num_vectors)))))
    spec = {"kind": kind, "nlist": nlist, "nprobe": max(8, nlist // 16), "trained_on": num_vectors}
    if kind == "ivfpq":
        if dim is None:
            raise ValueError("an IVF-PQ plan needs the vectors' dimension")
        if num_vectors < PQ_MIN:
            raise ValueError(f"an IVF-PQ index needs at least {PQ_MIN} videos to train on, not {num_vectors}: "
                             "use --kind flat (exact) for a collection this small")
        # 8-bit codes of one byte per 8 dimensions (64 bytes a vector at D = 512, 1/32 of float32)
        spec["m"] = next(m for m in (dim // 8, dim // 4, dim // 2, dim) if m >= 1 and dim % m == 0)
        spec["nbits"] = 8 if num_vectors >= 100 * 256 else 4  # k-means of 2**nbits codes wants ~100 points each
    return spec


def training_size(spec: dict, num_vectors: int) -> int:
    """How many vectors `train` wants (0: the kind needs no training)."""
    if spec["kind"] not in ("ivf", "ivfpq"):
        return 0
    codes = 2 ** spec["nbits"] if spec["kind"] == "ivfpq" else 0
    return min(num_vectors, TRAIN_PER_LIST * max(spec["nlist"], codes))


def sample_rows(spec: dict, num_vectors: int, *, seed: int = 0) -> np.ndarray:
    """Sorted rows (of `num_vectors`) to train on, the same for one array or the same rows in parts."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(num_vectors, training_size(spec, num_vectors), replace=False))


def build(vectors: np.ndarray, spec: dict, *, seed: int = 0):
    """A FAISS index of `spec` holding `vectors` (N, D) float32."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = new(spec, vectors.shape[1], len(vectors))
    train(index, spec, vectors[sample_rows(spec, len(vectors), seed=seed)], seed=seed)
    index.add(vectors)
    return index


def new(spec: dict, dim: int, num_vectors: int):
    """An empty FAISS index of `spec` for `num_vectors` vectors of `dim` (IVF: untrained)."""
    faiss = import_faiss()
    if spec["kind"] == "flat":
        return faiss.IndexFlatIP(dim)
    if spec["kind"] == "hnsw":
        index = faiss.IndexHNSWFlat(dim, spec["m"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = spec["ef_construction"]
        return index
    spec["nlist"] = min(spec["nlist"], max(1, training_size(spec, num_vectors)))  # k-means needs a point a list
    if spec["kind"] == "ivfpq":
        return faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, spec["nlist"], spec["m"], spec["nbits"],
                               faiss.METRIC_INNER_PRODUCT)
    return faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, spec["nlist"], faiss.METRIC_INNER_PRODUCT)


def train(index, spec: dict, sample: np.ndarray, *, seed: int = 0) -> None:
    """Train an IVF index on `sample` (rows chosen by `sample_rows`) and set its search parameters."""
    if spec["kind"] in ("ivf", "ivfpq"):
        index.cp.seed = seed
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
    configure(index, spec)


def configure(index, spec: dict) -> None:
    """Apply the spec's search-time parameters (after a build or a load)."""
    if spec["kind"] in ("ivf", "ivfpq"):
        index.nprobe = spec["nprobe"]
        index.make_direct_map()  # so the vectors can be read back
    elif spec["kind"] == "hnsw":
        index.hnsw.efSearch = spec["ef_search"]


def vectors(index) -> np.ndarray:
    """All vectors of the index, in row order, (N, D) float32."""
    if index.ntotal == 0:
        return np.empty((0, index.d), dtype=np.float32)
    return index.reconstruct_n(0, index.ntotal)


def search(index, queries: np.ndarray, k: int):
    """(scores, rows), each (Nq, k'); k' = min(k, N); missing hits (IVF/HNSW) have row -1."""
    k = min(k, index.ntotal)
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)


def to_bytes(index) -> np.ndarray:
    return import_faiss().serialize_index(index)


def from_bytes(data: np.ndarray, spec: dict):
    index = import_faiss().deserialize_index(np.ascontiguousarray(data, dtype=np.uint8))
    configure(index, spec)
    return index
