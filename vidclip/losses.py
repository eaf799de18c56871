"""Contrastive losses and small pieces shared by the adapters."""

import torch
import torch.nn.functional as F


def info_nce(logits):
    """Symmetric InfoNCE on a square (N, N) logit matrix whose diagonal holds the positive pairs."""
    assert logits.ndim == 2 and logits.shape[0] == logits.shape[1], f"need square logits, got {tuple(logits.shape)}"
    target = torch.arange(logits.shape[0], device=logits.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def clip_loss(similarity, logit_scale, *, max_scale=100.0):
    """InfoNCE on (N_text, N_video) similarities scaled by CLIP's learned temperature.

    logit_scale is CLIP's log-parameter; its exp is clamped at 100 as in CLIP training.
    """
    return info_nce(logit_scale.exp().clamp(max=max_scale) * similarity)


def sigmoid_loss(similarity, logit_scale, logit_bias, *, max_scale=100.0):
    """SigLIP's pairwise sigmoid loss on (N, N) similarities whose diagonal holds the positive pairs.

    Every pair is its own match / no-match decision on scale * similarity + bias (both learned), so no
    softmax over the batch: -sum log sigmoid(+-logit) / N, as in SigLIP (and open_clip's SigLipLoss).
    """
    assert similarity.ndim == 2 and similarity.shape[0] == similarity.shape[1], f"need square similarities, got {tuple(similarity.shape)}"
    logits = logit_scale.exp().clamp(max=max_scale) * similarity + logit_bias  # (N, N)
    signs = 2 * torch.eye(len(logits), device=logits.device, dtype=logits.dtype) - 1  # +1 positives, -1 the rest
    return -F.logsigmoid(signs * logits).sum() / len(logits)


def masked_mean(x, mask, dim):
    """Mean of x over `dim`, counting only positions where mask (broadcastable, bool) is True."""
    weight = mask.to(x.dtype)
    return (x * weight).sum(dim) / weight.sum(dim).clamp_min(1.0)


def attention_pool(query, keys, mask, temperature):
    """Per-row softmax pooling: query (B, D), keys (B, T, D), mask (B, T) -> (B, D)."""
    logits = torch.einsum("bd,btd->bt", query, keys) / temperature  # (B, T)
    weights = logits.masked_fill(~mask, float("-inf")).softmax(dim=-1)  # (B, T)
    return torch.einsum("bt,btd->bd", weights, keys)


def motion_loss(frames, mask):
    """EZ-CLIP's motion loss (`utils/KLLoss.py`, `Motion_loss`): 1 / (C + V + 1), to be minimised.

    frames (B, T, D) raw per-frame embeddings, mask (B, T) with each clip's frames first (as
    `collate_videos` pads). C: mean |x[t+1] - x[t-1]| / 2 over frames, channels and clips, the ends
    repeating their edge frame; V: the unbiased variance over time, averaged over channels and clips.
    Padded frames are left out (the official clips are never padded).
    """
    lengths = mask.sum(dim=1)  # (B,)
    last = (lengths - 1).clamp_min(0)[:, None]  # (B, 1)
    steps = torch.arange(frames.shape[1], device=frames.device)[None]  # (1, T)
    after = torch.minimum(steps + 1, last)[..., None].expand_as(frames)  # (B, T, D) index of x[t+1]
    before = torch.minimum((steps - 1).clamp_min(0), last)[..., None].expand_as(frames)  # index of x[t-1]
    central = (frames.gather(1, after) - frames.gather(1, before)).abs() / 2  # (B, T, D)
    change = masked_mean(central.mean(dim=-1), mask, dim=1).mean()
    centred = frames - masked_mean(frames, mask[..., None], dim=1)[:, None]  # (B, T, D)
    variance = (centred.square() * mask[..., None]).sum(dim=1) / (lengths - 1).clamp_min(1)[:, None]  # (B, D)
    return 1.0 / (change + variance.mean() + 1.0)


def soft_label_kl(logits, labels, *, sharpness=10.0):
    """ActionCLIP's KLLoss (EZ-CLIP `utils/KLLoss.py`): logits (B, B) of each clip against each clip's
    class text; the target row is softmax(10 * same_label), so every clip of the class counts as a
    positive. KLDivLoss's element mean times the batch size = the sum over rows / B."""
    same = (labels[:, None] == labels[None, :]).to(logits.dtype)  # (B, B)
    target = (sharpness * same).softmax(dim=1)
    return F.kl_div(logits.log_softmax(dim=1), target, reduction="sum") / logits.shape[0]
