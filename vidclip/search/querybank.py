"""QB-Norm for a video index: a bank of other queries (e.g. the training captions) kept in the index.

The formula is `vidclip.eval.rerank.querybank_normalize`. A search sees only its candidates, but a
"hub" is a video that is some bank query's top-1 over the *whole* collection: so the bank keeps, per
bank query, its best row and score, found with the index's own search when the bank is set and
updated from the new rows alone when videos are added. The normaliser of a candidate (a sum over
the bank) is computed at search time for the candidates only. Scores are embedding cosines on both
sides (the bank's and the query's), so the scales match.
"""

from __future__ import annotations

import numpy as np
import torch

from vidclip.eval.rerank import querybank_normalize

BETA = 20.0  # QB-Norm's default inverse temperature (dynamic_inverted_softmax.py)
ARRAYS = ("embeddings", "top_score", "top_row")


class QueryBank:
    def __init__(self, embeddings: np.ndarray, top_score: np.ndarray, top_row: np.ndarray):
        self.embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)  # (Nb, D) L2-normalised
        self.top_score = np.asarray(top_score, dtype=np.float32)  # (Nb,) each bank query's best score
        self.top_row = np.asarray(top_row, dtype=np.int64)  # (Nb,) and the index row that holds it

    @classmethod
    def build(cls, embeddings, search) -> QueryBank:
        """embeddings (Nb, D); `search(queries, k)` -> (scores, rows), the index's own search."""
        embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or len(embeddings) == 0:
            raise ValueError("the query bank is empty: give it some captions (e.g. the training split's)")
        scores, rows = search(embeddings, 1)  # (Nb, 1) each
        return cls(embeddings, scores[:, 0], rows[:, 0])

    def extend(self, vectors: np.ndarray, first_row: int) -> None:
        """Rows first_row.. now hold `vectors` (n, D): a bank query's best may be among them."""
        if len(vectors) == 0:
            return
        scores = self.embeddings @ np.asarray(vectors, dtype=np.float32).T  # (Nb, n)
        best = scores.argmax(axis=1)  # (Nb,)
        better = scores[np.arange(len(best)), best] > self.top_score
        self.top_score[better] = scores[better, best[better]]
        self.top_row[better] = first_row + best[better]

    def normalize(self, scores: torch.Tensor, rows: np.ndarray, vectors: torch.Tensor) -> torch.Tensor:
        """(n,) cosine scores of one query for candidate `rows` with `vectors` (n, D) -> QB-Norm scores."""
        hubs = torch.from_numpy(np.isin(rows, self.top_row))  # (n,)
        bank_sim = torch.from_numpy(self.embeddings) @ vectors.float().T  # (Nb, n)
        return querybank_normalize(scores[None], bank_sim, beta=BETA, hubs=hubs)[0]

    def arrays(self) -> dict:
        return {f"querybank.{name}": getattr(self, name) for name in ARRAYS}

    @classmethod
    def from_arrays(cls, arrays: dict) -> QueryBank | None:
        if not all(f"querybank.{name}" in arrays for name in ARRAYS):
            return None
        return cls(*(arrays[f"querybank.{name}"] for name in ARRAYS))
