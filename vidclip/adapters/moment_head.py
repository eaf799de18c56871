"""Anchor-free moment head: per frame, a relevance logit and distances to the moment's edges.

Positions are fractions of the clip: frame t of T valid frames sits at c_t = (t + 0.5) / T and
predicts the window [c_t - l_t, c_t + r_t]. Training: BCE on "inside the moment", and for inside
frames L1 on the edge distances plus 1 - IoU. Inference: windows ranked by sigmoid score, NMS.
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

    def forward(self, frames, query):
        """frames (B, T, D), query (B, D) -> logits (B, T), edge distances (B, T, 2) >= 0."""
        h = self.norm(self.frame_in(frames) * self.query_in(query)[:, None] + self.frame_in(frames))  # (B, T, H)
        for conv in self.convs:
            h = h + F.gelu(rearrange(conv(rearrange(h, "b t h -> b h t")), "b h t -> b t h"))  # (B, T, H)
        return self.score(h)[..., 0], F.softplus(self.edges(h))


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


def moment_loss(logits, edges, frame_mask, spans):
    """spans (B, 2) clip fractions -> {"moment_cls", "moment_l1", "moment_iou"}."""
    centres = frame_centres(frame_mask)  # (B, T)
    start, end = spans[:, :1], spans[:, 1:]  # (B, 1)
    inside = (centres >= start) & (centres <= end) & frame_mask  # (B, T)
    nearest = (centres - (start + end) / 2).abs().masked_fill(~frame_mask, float("inf")).argmin(dim=1)
    inside[torch.arange(len(inside)), nearest] = True  # a moment shorter than a frame still has one
    cls = F.binary_cross_entropy_with_logits(logits[frame_mask], inside[frame_mask].float())
    target = torch.stack([centres - start, end - centres], dim=-1)[inside]  # (P, 2)
    pred = edges[inside]  # (P, 2)
    windows = torch.stack([-pred[:, 0], pred[:, 1]], -1), torch.stack([-target[:, 0], target[:, 1]], -1)
    return {"moment_cls": cls, "moment_l1": F.l1_loss(pred, target), "moment_iou": (1 - temporal_iou(*windows)).mean()}


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
