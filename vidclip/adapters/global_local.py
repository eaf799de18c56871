"""GLSCL: parameter-free global interaction + K shared queries for local semantics.

Score s = s_g + local_weight * s_l.
- s_g = cos(t, sum_i w_i f_i), w = masked softmax_i(t . f_i / temperature) over a video's frames.
  Temperature: GLSCL's code divides logits already multiplied by CLIP's logit scale (100) by
  `--temp 3`; on cosine similarities that is 3 / 100, hence temperature=0.03 here, fixed (not tied
  to the learned logit scale, which is random in tiny models).
- s_l = mean_k <Q_t[k], Q_v[k]>: K learnable queries pass through one shared decoder that
  cross-attends to frame features (+ frame positions) or to word features (padding masked).
  A dot of flattened (K*D) vectors, so it can live in a vector index.

Identity at init covers the global path only: at T=1 the softmax weight is 1, s_g is CLIP's cosine
and `encode_video` (meanP) is CLIP's image embedding. The local path cannot be an identity: it adds
a second score computed by new randomly initialised queries, with no CLIP counterpart.
"""

import torch
import torch.nn.functional as F
from einops import repeat
from torch import nn

from vidclip.kernels import frame_pool_scores
from vidclip.adapters.base import Adapter, register
from vidclip.towers import embedding_dim


def pooled_cosine(text, frames, frame_mask, temperature):
    """Differentiable s_g for all pairs: text (Nt, D), frames (Nv, T, D) normalised -> (Nt, Nv).

    Same maths as `vidclip.kernels.frame_pool_scores` (forward only); |sum_t w_t f_t|^2 = w^T G w
    with each video's T x T Gram matrix, so no (Nt, Nv, T, D) tensor is built.
    """
    logits = torch.einsum("nd,vtd->nvt", text, frames)  # (Nt, Nv, T)
    weights = (logits / temperature).masked_fill(~frame_mask[None], float("-inf")).softmax(dim=-1)  # (Nt, Nv, T)
    gram = frames @ frames.transpose(1, 2)  # (Nv, T, T)
    pooled_sq = torch.einsum("nvt,vts,nvs->nv", weights, gram, weights)  # (Nt, Nv)
    return (weights * logits).sum(-1) / pooled_sq.clamp_min(1e-12).sqrt()


@register
class GlobalLocal(Adapter):
    name = "glscl"

    def __init__(self, *, clip, num_frames, num_queries=8, layers=3, max_frames=128, temperature=0.03,
                 local_weight=0.5, consistency_weight=1.0, diagonal_weight=1.0, diagonal_target=0.75,
                 diversity_weight=1e-4, diversity_margin=0.1):
        super().__init__(clip=clip, num_frames=num_frames, num_queries=num_queries, layers=layers,
                         max_frames=max_frames, temperature=temperature, local_weight=local_weight,
                         consistency_weight=consistency_weight, diagonal_weight=diagonal_weight,
                         diagonal_target=diagonal_target, diversity_weight=diversity_weight,
                         diversity_margin=diversity_margin)
        dim = embedding_dim(clip)
        self.temperature, self.local_weight = temperature, local_weight
        self.queries = nn.Parameter(torch.randn(num_queries, dim) * dim**-0.5)  # (K, D)
        self.position = nn.Parameter(torch.randn(max(max_frames, num_frames), dim) * 0.01)  # frame order for Q_v
        layer = nn.TransformerDecoderLayer(d_model=dim, nhead=max(1, dim // 64), dim_feedforward=4 * dim,
                                           dropout=0.0, batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, num_layers=layers, norm=nn.LayerNorm(dim))

    def _decode(self, memory, mask):
        """memory (B, L, D), mask (B, L) True = real -> normalised queries (B, K, D)."""
        queries = repeat(self.queries, "k d -> b k d", b=memory.shape[0])  # (B, K, D)
        return F.normalize(self.decoder(queries, memory, memory_key_padding_mask=~mask), dim=-1)

    def video(self, frames, frame_mask, patches=None):
        out = super().video(frames, frame_mask, patches)
        memory = out["frames"] + self.position[: frames.shape[1]].to(frames.dtype)  # (B, T, D)
        out["queries"] = self._decode(memory, frame_mask)
        return out

    def text(self, eot, words, word_mask):
        return {"embedding": F.normalize(eot, dim=-1), "queries": self._decode(F.normalize(words, dim=-1), word_mask)}

    def global_scores(self, text, video):
        args = (text["embedding"], video["frames"])
        if torch.is_grad_enabled() and any(a.requires_grad for a in args):
            return pooled_cosine(*args, video["frame_mask"], self.temperature)
        return frame_pool_scores(*args, frame_mask=video["frame_mask"], temperature=self.temperature)

    def local_scores(self, text, video):
        k = text["queries"].shape[1]
        return torch.einsum("ikd,jkd->ij", text["queries"], video["queries"]) / k  # (Nt, Nv)

    def similarity(self, text, video):
        return self.global_scores(text, video) + self.local_weight * self.local_scores(text, video)

    def losses(self, *, model, text, video, captions=None):
        q_t, q_v = text["queries"], video["queries"]  # (B, K, D)
        cfg = self.options
        cross = torch.einsum("bkd,bjd->kj", q_t, q_v) / q_t.shape[0]  # (K, K) batch-mean
        inter = F.mse_loss(q_v.mean(0), q_t.mean(0)) + cfg["diagonal_weight"] * ((cross.diagonal() - cfg["diagonal_target"]) ** 2).sum()
        gram = torch.einsum("bkd,bjd->kj", q_v, q_v) / q_v.shape[0]  # (K, K)
        off_diagonal = gram - torch.diag_embed(gram.diagonal())
        intra = F.relu(off_diagonal - cfg["diversity_margin"]).sum()
        return {"inter_consistency": cfg["consistency_weight"] * inter, "intra_diversity": cfg["diversity_weight"] * intra}
