"""GLSCL, after the official `tvr/models/modeling.py` (`DiCoSA.__init__`, `agg_video_feat`,
`similarity`, `_score`, `margin_ranking_loss`) with its `train_msrvtt.sh` settings.

Frames first pass through the seqTransf aggregation module (`--agg_module seqTransf`, 4 layers,
copied from the text tower like CLIP4Clip's: `vidclip.adapters.pooling.TemporalTransformer`); the
aggregated frames f_i feed both scores. Score s = s_g + local_weight * s_l.
- s_g = cos(t, sum_i w_i f_i), w = softmax_i(<t, f_i> / temperature) over a video's frames, on the
  projected, unnormalised EOT and frame features, temperature 3 (`--temp 3`). The raw norms travel
  as "norm" (text) and "frame_norms" (video) beside the normalised features.
- s_l = mean_k <Q_t[k], Q_v[k]>: K learnable queries (uniform init) pass through one shared 3-layer
  post-norm PyTorch decoder (8 heads, feed-forward 2048, dropout 0.1) that cross-attends to the
  aggregated frames or to the word features; queries are then L2-normalised. A dot of flattened
  (K*D) vectors, so it can live in a vector index.
Losses (`similarity`, training branch), on the paired text/video queries of a batch:
- inter_consistency = MSE(batch-mean Q_v, batch-mean Q_t) + 0.02 * sum_k (C_kk - 0.75)^2, with
  C = sum over the batch of Q_v Q_t^T, divided by K (`--beta 0.02`);
- intra_diversity = 1e-4 * margin ranking of the batch-mean video query Gram matrix S against its
  diagonal, both directions: sum_{i != j} relu(0.1 + S_ij - S_ii) + relu(0.1 + S_ij - S_jj), divided
  by K (K - 1) (`--alpha 1e-4`); with unit queries, twice the mean of relu(S_ij - 0.9).

Identity at init covers the global path: the aggregation's output projection starts at zero, so at
T=1 the softmax weight is 1, s_g is CLIP's cosine and `encode_video` (meanP of the aggregated
frames) is CLIP's image embedding. The local path cannot be an identity: it adds a second score
computed by new randomly initialised queries, with no CLIP counterpart.

Deliberate deviations, each an option:
- aggregation="none" skips seqTransf (the official `--agg_module None`): an order-blind ablation.
- frame_logits="cosine" puts the frame softmax on cosines (then temperature ~0.03): its sharpness then
  does not depend on the tower's feature norms, which in small or fresh towers are arbitrary.
- mask_padding=True keeps padded frames and words out of the decoder's keys (the official passes no
  mask): a clip's or caption's score must not depend on how much padding its batch carries.
"""

import torch
import torch.nn.functional as F
from einops import repeat
from torch import nn

from vidclip.kernels import frame_pool_scores
from vidclip.adapters.base import Adapter, register
from vidclip.adapters.pooling import TemporalTransformer, text_activation
from vidclip.towers import embedding_dim, text_positions, text_transformer

FRAME_LOGITS = ("dot", "cosine")
AGGREGATIONS = ("seqtransf", "none")


def pooled_cosine(text, frames, frame_mask, temperature):
    """Differentiable s_g for all pairs: text (Nt, D), frames (Nv, T, D), raw or normalised -> (Nt, Nv).

    Same maths as `vidclip.kernels.frame_pool_scores` (forward only); |sum_t w_t f_t|^2 = w^T G w
    with each video's T x T Gram matrix, so no (Nt, Nv, T, D) tensor is built.
    """
    logits = torch.einsum("nd,vtd->nvt", text, frames)  # (Nt, Nv, T)
    weights = (logits / temperature).masked_fill(~frame_mask[None], float("-inf")).softmax(dim=-1)  # (Nt, Nv, T)
    gram = frames @ frames.transpose(1, 2)  # (Nv, T, T)
    pooled_sq = torch.einsum("nvt,vts,nvs->nv", weights, gram, weights)  # (Nt, Nv)
    text_norm = text.norm(dim=-1, keepdim=True).clamp_min(1e-12)  # (Nt, 1)
    return (weights * logits).sum(-1) / (pooled_sq.clamp_min(1e-12).sqrt() * text_norm)


def consistency_loss(q_t, q_v, *, diagonal_target=0.75, diagonal_weight=0.02):
    """Official inter-consistency on paired queries (B, K, D): MSE of the batch means + weighted diagonal term."""
    cross = torch.einsum("bkd,bjd->kj", q_v, q_t) / q_v.shape[1]  # (K, K): batch sum / K
    diagonal = (cross.diagonal() - diagonal_target).square().sum()
    return F.mse_loss(q_v.mean(0), q_t.mean(0)) + diagonal_weight * diagonal


def diversity_loss(q_v, *, margin=0.1):
    """Official intra-diversity: margin ranking of the batch-mean (K, K) query Gram matrix against its diagonal."""
    gram = torch.einsum("bkd,bjd->kj", q_v, q_v) / q_v.shape[0]  # (K, K)
    k = gram.shape[0]
    diagonal = gram.diagonal()
    off = ~torch.eye(k, dtype=torch.bool, device=gram.device)
    rows = F.relu(margin + gram - diagonal[:, None])[off].sum()  # each query against its own row
    cols = F.relu(margin + gram - diagonal[None, :])[off].sum()
    return (rows + cols) / (k * (k - 1))


@register
class GlobalLocal(Adapter):
    name = "glscl"

    def __init__(self, *, clip, num_frames, num_queries=8, layers=3, heads=8, feedforward=2048, dropout=0.1,
                 aggregation="seqtransf", aggregation_layers=4, max_frames=128, frame_logits="dot", temperature=3.0,
                 local_weight=0.5, diagonal_weight=0.02, diagonal_target=0.75, diversity_weight=1e-4,
                 diversity_margin=0.1, mask_padding=True):
        super().__init__(clip=clip, num_frames=num_frames, num_queries=num_queries, layers=layers, heads=heads,
                         feedforward=feedforward, dropout=dropout, aggregation=aggregation,
                         aggregation_layers=aggregation_layers, max_frames=max_frames, frame_logits=frame_logits,
                         temperature=temperature, local_weight=local_weight, diagonal_weight=diagonal_weight,
                         diagonal_target=diagonal_target, diversity_weight=diversity_weight,
                         diversity_margin=diversity_margin, mask_padding=mask_padding)
        if frame_logits not in FRAME_LOGITS:
            raise ValueError(f"glscl frame_logits={frame_logits!r}: expected one of {', '.join(FRAME_LOGITS)}")
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"glscl aggregation={aggregation!r}: expected one of {', '.join(AGGREGATIONS)}")
        dim = embedding_dim(clip)
        self.temperature, self.local_weight, self.mask_padding = temperature, local_weight, mask_padding
        self.temporal = None
        if aggregation == "seqtransf":
            self.temporal = TemporalTransformer(
                dim=dim, layers=aggregation_layers, max_frames=max(max_frames, num_frames),
                init_from=text_transformer(clip), init_positions=text_positions(clip),
                act_layer=text_activation(clip),
            )
        self.queries = nn.Parameter(torch.rand(num_queries, dim))  # (K, D), official torch.rand
        layer = nn.TransformerDecoderLayer(d_model=dim, nhead=heads, dim_feedforward=feedforward, dropout=dropout,
                                           batch_first=True)
        self.decoder = nn.TransformerDecoder(layer, num_layers=layers)

    def _decode(self, memory, mask):
        """memory (B, L, D), mask (B, L) True = real -> normalised queries (B, K, D)."""
        queries = repeat(self.queries, "k d -> b k d", b=memory.shape[0])  # (B, K, D)
        padding = ~mask if self.mask_padding else None
        return F.normalize(self.decoder(queries, memory, memory_key_padding_mask=padding), dim=-1)

    def video(self, frames, frame_mask, patches=None):
        if self.temporal is not None:
            frames = self.temporal(frames, frame_mask)  # (B, T, D) aggregated, order-aware
        out = super().video(frames, frame_mask, patches)
        out["frame_norms"] = frames.norm(dim=-1)  # (B, T)
        out["queries"] = self._decode(frames, frame_mask)
        return out

    def text(self, eot, words, word_mask):
        queries = self._decode(words, word_mask)
        return {"embedding": F.normalize(eot, dim=-1), "norm": eot.norm(dim=-1), "queries": queries}

    def global_scores(self, text, video):
        text_features, frames = text["embedding"], video["frames"]  # (Nt, D), (Nv, T, D) normalised
        if self.options["frame_logits"] == "dot":  # the raw features: <t, f_i> = |t| |f_i| cos
            text_features = text_features * text["norm"][:, None].to(text_features.dtype)
            frames = frames * video["frame_norms"][..., None].to(frames.dtype)
        args = (text_features, frames)
        if torch.is_grad_enabled() and any(a.requires_grad for a in args):
            return pooled_cosine(*args, video["frame_mask"], self.temperature)
        return frame_pool_scores(*args, frame_mask=video["frame_mask"], temperature=self.temperature)

    def local_scores(self, text, video):
        k = text["queries"].shape[1]
        return torch.einsum("ikd,jkd->ij", text["queries"], video["queries"]) / k  # (Nt, Nv)

    def similarity(self, text, video):
        return self.global_scores(text, video) + self.local_weight * self.local_scores(text, video)

    def losses(self, *, model, text, video, captions=None):
        q_t, q_v = text["queries"], video["queries"]  # (B, K, D), rows paired
        cfg = self.options
        inter = consistency_loss(q_t, q_v, diagonal_target=cfg["diagonal_target"],
                                 diagonal_weight=cfg["diagonal_weight"])
        intra = cfg["diversity_weight"] * diversity_loss(q_v, margin=cfg["diversity_margin"])
        return {"inter_consistency": inter, "intra_diversity": intra}
