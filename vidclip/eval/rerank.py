"""Inference-time re-ranking of a text-video score matrix, as recent retrieval papers report with.

Both use more than one query at a time, so neither applies to a single search: say which one a
number was measured with.

- **DSL** (dual softmax, CAMoE; inference form from its authors' DSL.py and issue #4): each score is
  multiplied by a softmax over the other direction, sim * softmax(sim / temperature) taken across
  texts for text->video and across videos for video->text. It assumes the test queries cover the
  gallery about once each (a prior that a repeated query breaks). CAMoE applies it to CLIP4Clip's
  logits (100 x cosine) at temperature 1; on cosine scores that is temperature 0.01, the default.
  The constant factor CAMoE also multiplies by (the number of texts) changes no rank and is left out.
- **QB-Norm** (querybank normalisation with the dynamic inverted softmax, Bogolin et al. 2022,
  `dynamic_inverted_softmax.py`): a bank of other queries (e.g. the training captions) marks the
  gallery videos that are some bank query's top-k ("hubs"); a test query whose own top-1 is a hub
  has its row replaced by exp(beta * sim) / sum over the bank of exp(beta * bank_sim), column by
  column; other rows keep their scores. Text->video only, as in the paper. Computed in log space
  (ranks within a row are the same), so no score overflows whatever the scale.
"""

from __future__ import annotations

import torch

RERANKERS = ("none", "dsl", "qbnorm")


def dual_softmax(sim: torch.Tensor, *, dim: int, temperature: float = 0.01) -> torch.Tensor:
    """(N_text, N_video) scores re-weighted by a softmax along `dim` (0: across texts, for t2v)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    sim = sim.float()
    return sim * torch.softmax(sim / temperature, dim=dim)


def querybank_normalize(sim: torch.Tensor, bank_sim: torch.Tensor, *, beta: float = 20.0, k: int = 1,
                        hubs: torch.Tensor | None = None) -> torch.Tensor:
    """(N_text, N_video) t2v scores after QB-Norm with `bank_sim` (N_bank, N_video) from the query bank.

    Normalised rows hold log(exp(beta * s) / sum_bank exp(beta * b)); the rest keep their scores:
    each row is ranked on its own, so the two scales never meet. `hubs` (N_video,) bool, when the
    columns are a subset of the gallery (an index's candidates): which of them are some bank query's
    top-k over the whole gallery; by default they are found in `bank_sim`.
    """
    if bank_sim.ndim != 2 or bank_sim.shape[1] != sim.shape[1] or len(bank_sim) == 0:
        raise ValueError(f"the query bank's scores must be (N_bank, {sim.shape[1]}) for the same videos, "
                         f"got {tuple(bank_sim.shape)}")
    if not 1 <= k <= sim.shape[1]:
        raise ValueError(f"k must be in [1, {sim.shape[1]}], got {k}")
    sim, bank_sim = sim.float(), bank_sim.float()
    if hubs is None:
        hubs = torch.zeros(sim.shape[1], dtype=torch.bool)
        hubs[bank_sim.topk(k, dim=1).indices.reshape(-1)] = True  # (Nv,): some bank query's top-k
    normalise = hubs[sim.argmax(dim=1)]  # (Nt,): rows whose own top-1 is a hub
    log_norm = torch.logsumexp(beta * bank_sim, dim=0)  # (Nv,)
    out = sim.clone()
    out[normalise] = beta * sim[normalise] - log_norm[None]
    return out
