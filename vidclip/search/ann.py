"""FAISS behind the video index: exact search while small, IVF or HNSW once large.

All indexes use inner product on L2-normalised vectors (= cosine). Row i of the FAISS index is
video i of the VideoIndex; FAISS holds the only copy of the vectors, which any index kind here
can give back (`vectors`), so an index can be rebuilt in another kind when it grows.
"""

import math

import numpy as np

EXACT_MAX = 50_000  # auto: exact search up to this many videos (a few ms per query on 2 cores)
KINDS = ("auto", "flat", "ivf", "hnsw")


def import_faiss():
    try:
        import faiss
    except ImportError:
        raise ImportError("the video index needs FAISS: pip install 'vidclip[faiss]'") from None
    return faiss


def plan(num_vectors: int, kind: str = "auto") -> dict:
    """The index spec for a collection size: {'kind': ..., and the kind's parameters}."""
    if kind not in KINDS:
        raise ValueError(f"index kind {kind!r}: expected one of {', '.join(KINDS)}")
    if kind == "auto":
        kind = "flat" if num_vectors <= EXACT_MAX else "ivf"
    if kind == "flat":
        return {"kind": "flat"}
    if kind == "hnsw":
        return {"kind": "hnsw", "m": 32, "ef_construction": 80, "ef_search": 128}
    # about sqrt(N) lists (a power of two), probing 1/16 of them: recall@10 >= 0.95 on clustered data
    nlist = max(16, 2 ** round(math.log2(max(1.0, math.sqrt(num_vectors)))))
    return {"kind": "ivf", "nlist": nlist, "nprobe": max(8, nlist // 16), "trained_on": num_vectors}


def build(vectors: np.ndarray, spec: dict, *, seed: int = 0):
    """A FAISS index of `spec` holding `vectors` (N, D) float32."""
    faiss = import_faiss()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    if spec["kind"] == "flat":
        index = faiss.IndexFlatIP(dim)
    elif spec["kind"] == "hnsw":
        index = faiss.IndexHNSWFlat(dim, spec["m"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = spec["ef_construction"]
    else:
        nlist = min(spec["nlist"], len(vectors))
        spec["nlist"] = nlist
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        sample = vectors[rng.choice(len(vectors), min(len(vectors), 64 * nlist), replace=False)]
        index.cp.seed = seed
        index.train(sample)
    configure(index, spec)
    index.add(vectors)
    return index


def configure(index, spec: dict) -> None:
    """Apply the spec's search-time parameters (after a build or a load)."""
    if spec["kind"] == "ivf":
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
