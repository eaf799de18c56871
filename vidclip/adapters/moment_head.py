"""Anchor-free moment head: per frame, a relevance logit, distances to the moment's edges and a
saliency score (highlight detection).

Positions are fractions of the clip: frame t of T valid frames sits at c_t = (t + 0.5) / T and
predicts the window [c_t - l_t, c_t + r_t]. Training: BCE on "inside a moment", and for inside
frames L1 on the edge distances plus 1 - IoU. A query may have several moments (QVHighlights'
`relevant_windows`): every one is a target, each inside frame regresses the window it lies in.
Inference: windows ranked by sigmoid score, NMS.

Saliency: a margin ranking loss as Moment-DETR's (jayleicn/moment_detr, `moment_detr/model.py`
`SetCriterion.loss_saliency`, pairs from `start_end_dataset.py` `get_saliency_labels`, margin 0.2
and weight 1 from `config.py`): a hard pair (highest- vs lowest-rated relevant clip) and an easy
pair (a random relevant clip vs a random clip outside them), loss = sum(relu(margin + s_neg -
s_pos)) / (N * pairs) * 2. Deviations:
- the sampled frames stand in for the official 2-second clips: a frame takes the summed annotator
  score of the clip it falls in (0 outside the relevant clips); the eval averages the frames'
  scores per 2-second clip (`pred_saliency_scores`); for YouTube Highlights' labelled windows a frame
  takes the mean label of the windows holding it and the eval averages per window
  (`vidclip.moments.targets.window_ratings`, `vidclip.moments.find.window_saliency`);
- a query with no saliency labels (Charades, ActivityNet, ...) uses its windows (inside 1, outside
  0), as the official `get_saliency_labels_sub_as_query` does for its pre-training data;
- a row whose sampled frames hit no relevant clip is left out (the official clips always do), and
  the sum is divided by the rows kept; no cross-video negatives (the official loss has none either).
"""

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from vidclip.moments.windows import temporal_nms


class MomentHead(nn.Module):
    def __init__(self, *, dim, hidden=None, kernel_size=3):
        super().__init__()
        hidden = hidden or dim
        self.frame_in, self.query_in = nn.Linear(dim, hidden), nn.Linear(dim, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.convs = nn.ModuleList(nn.Conv1d(hidden, hidden, kernel_size, padding=kernel_size // 2) for _ in range(2))
        self.score, self.edges = nn.Linear(hidden, 1), nn.Linear(hidden, 2)
        self.saliency = nn.Linear(hidden, 1)
        self._register_load_state_dict_pre_hook(self._without_saliency_head)

    def forward(self, frames, query):
        """frames (B, T, D), query (B, D) -> logits (B, T), edge distances (B, T, 2) >= 0, saliency
        (B, T) (None for a head loaded from a checkpoint without one)."""
        h = self.norm(self.frame_in(frames) * self.query_in(query)[:, None] + self.frame_in(frames))  # (B, T, H)
        for conv in self.convs:
            h = h + F.gelu(rearrange(conv(rearrange(h, "b t h -> b h t")), "b h t -> b t h"))  # (B, T, H)
        saliency = None if self.saliency is None else self.saliency(h)[..., 0]
        return self.score(h)[..., 0], F.softplus(self.edges(h)), saliency

    def _without_saliency_head(self, state, prefix, *args):
        """Checkpoints from before the saliency head load without one (the eval then falls back to
        the untrained cosine curve) instead of failing on its missing weights."""
        if prefix + "score.weight" in state and prefix + "saliency.weight" not in state:
            self.saliency = None


def frame_centres(frame_mask):
    """(B, T) bool -> (B, T) clip fractions of the valid frames (padding frames beyond 1)."""
    count = frame_mask.sum(dim=1, keepdim=True).clamp_min(1)  # (B, 1)
    index = torch.arange(frame_mask.shape[1], device=frame_mask.device)[None]  # (1, T)
    return (index + 0.5) / count


def temporal_iou(a, b):
    """a, b (..., 2) windows -> IoU (...)."""
    inter = (torch.minimum(a[..., 1], b[..., 1]) - torch.maximum(a[..., 0], b[..., 0])).clamp_min(0)
    union = (a[..., 1] - a[..., 0]) + (b[..., 1] - b[..., 0]) - inter
    return inter / union.clamp_min(1e-6)


def window_membership(frame_mask, windows):
    """windows (B, W, 2) clip fractions, NaN rows padding -> (B, T, W) bool: frame t lies in window w.

    The frame nearest each window's centre is always in it: a moment shorter than a frame still has one."""
    centres = frame_centres(frame_mask)[..., None]  # (B, T, 1)
    start, end = windows[:, None, :, 0], windows[:, None, :, 1]  # (B, 1, W)
    member = (centres >= start) & (centres <= end) & frame_mask[..., None]  # (B, T, W); NaN compares False
    real = ~torch.isnan(windows[..., 0])  # (B, W)
    distance = (centres - (start + end) / 2).abs().masked_fill(~frame_mask[..., None], float("inf"))  # (B, T, W)
    nearest = distance.nan_to_num(float("inf")).argmin(dim=1)  # (B, W)
    rows, cols = real.nonzero(as_tuple=True)
    member[rows, nearest[rows, cols], cols] = True
    return member


def moment_loss(logits, edges, frame_mask, windows):
    """windows (B, 2) or (B, W, 2) clip fractions, NaN rows padding -> {"moment_cls", "moment_l1",
    "moment_iou"}. A frame inside several windows regresses the first."""
    windows = windows[:, None] if windows.ndim == 2 else windows  # (B, W, 2)
    centres = frame_centres(frame_mask)  # (B, T)
    member = window_membership(frame_mask, windows)  # (B, T, W)
    inside = member.any(dim=-1)  # (B, T)
    owner = member.int().argmax(dim=-1)  # (B, T): the first window holding the frame
    own = windows.gather(1, owner[..., None].expand(-1, -1, 2))  # (B, T, 2)
    start, end = own[..., 0], own[..., 1]  # (B, T)
    cls = F.binary_cross_entropy_with_logits(logits[frame_mask], inside[frame_mask].float())
    target = torch.stack([centres - start, end - centres], dim=-1)[inside]  # (P, 2)
    pred = edges[inside]  # (P, 2)
    windows = torch.stack([-pred[:, 0], pred[:, 1]], -1), torch.stack([-target[:, 0], target[:, 1]], -1)
    return {"moment_cls": cls, "moment_l1": F.l1_loss(pred, target), "moment_iou": (1 - temporal_iou(*windows)).mean()}


def saliency_pairs(targets, frame_mask, *, generator=None):
    """Moment-DETR's `get_saliency_labels(max_n=1, add_easy_negative=True)` on frames.

    targets (B, T) per-frame ratings (> 0: a relevant clip, 0: outside, NaN: unlabelled) ->
    positives (B, 2), negatives (B, 2) frame indices (hard pair, easy pair) and the rows (B,) that
    have a relevant frame. Without a frame outside the relevant clips the easy pair copies the hard
    one, as the official code does. Ties go to the first frame."""
    relevant = (targets > 0) & frame_mask  # (B, T); NaN compares False
    outside = (targets == 0) & frame_mask  # (B, T)
    rated = targets.nan_to_num(0.0)
    hard_pos = rated.masked_fill(~relevant, -float("inf")).argmax(dim=1)  # (B,)
    hard_neg = rated.masked_fill(~relevant, float("inf")).argmin(dim=1)  # (B,)
    draw = torch.rand(targets.shape, generator=generator, device=targets.device if generator is None else "cpu")
    draw = draw.to(targets.device)  # (B, T) uniform: the argmax over a set is a uniform pick in it
    easy_pos = draw.masked_fill(~relevant, -1.0).argmax(dim=1)  # (B,)
    easy_neg = draw.masked_fill(~outside, -1.0).argmax(dim=1)  # (B,)
    has_outside = outside.any(dim=1)  # (B,)
    easy_pos, easy_neg = torch.where(has_outside, easy_pos, hard_pos), torch.where(has_outside, easy_neg, hard_neg)
    return torch.stack([hard_pos, easy_pos], 1), torch.stack([hard_neg, easy_neg], 1), relevant.any(dim=1)


def saliency_loss(scores, positives, negatives, *, margin=0.2):
    """scores (N, T), positives/negatives (N, P) frame indices -> Moment-DETR's `loss_saliency`:
    sum(relu(margin + s_neg - s_pos)) / (N * P) * 2 (the "* 2 to keep the loss the same scale")."""
    pos, neg = scores.gather(1, positives), scores.gather(1, negatives)  # (N, P)
    return (margin + neg - pos).clamp_min(0).sum() / max(positives.numel(), 1) * 2


def saliency_targets(frame_mask, windows, ratings=None):
    """Per-frame saliency targets (B, T): the ratings where a row has them (not NaN), else 1 inside
    the query's windows and 0 outside (Moment-DETR's `get_saliency_labels_sub_as_query`)."""
    windows = windows[:, None] if windows.ndim == 2 else windows  # (B, W, 2)
    inside = window_membership(frame_mask, windows).any(dim=-1).to(windows.dtype)  # (B, T)
    if ratings is None:
        return inside
    labelled = ~torch.isnan(ratings).all(dim=1, keepdim=True)  # (B, 1)
    return torch.where(labelled, ratings.to(inside.dtype), inside)


def decode_moments(logits, edges, frame_mask, *, top_k=5, nms_iou=0.5):
    """-> per clip a list of (start, end, score) in clip fractions, best first, after NMS."""
    centres = frame_centres(frame_mask)  # (B, T)
    windows = torch.stack([centres - edges[..., 0], centres + edges[..., 1]], -1).clamp(0, 1)  # (B, T, 2)
    scores = logits.sigmoid().masked_fill(~frame_mask, -1.0)  # (B, T)
    results = []
    for clip_windows, clip_scores in zip(windows.double().cpu().numpy(), scores.double().cpu().numpy()):
        valid = np.flatnonzero(clip_scores >= 0)  # real frames only
        kept = temporal_nms(clip_windows[valid], clip_scores[valid], iou_threshold=nms_iou, top_k=top_k)
        results.append([(*clip_windows[valid[j]].tolist(), float(clip_scores[valid[j]])) for j in kept])
    return results
