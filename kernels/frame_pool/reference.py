"""PyTorch twin of the frame-pool scoring kernel, chunked over videos.

|sum_t w_t f_t|^2 = w^T G w with each video's T x T Gram matrix G, and text . sum_t w_t f_t =
sum_t w_t (text . f_t): so one (Nt x D) @ (D x Nv*T) product per chunk gives everything.
"""

import torch


def frame_pool_scores(text, frames, *, frame_mask=None, temperature, chunk_videos=None):
    num_texts, dim = text.shape
    num_videos, num_frames, frame_dim = frames.shape
    assert dim == frame_dim, f"text dim {dim} != frame dim {frame_dim}"
    if chunk_videos is None:  # keep the (Nt, chunk, T) logits block near 64M elements
        chunk_videos = max(1, (1 << 26) // max(1, num_texts * num_frames))
    out = torch.empty(num_texts, num_videos, dtype=torch.float32, device=text.device)
    text32 = text.float()
    for start in range(0, num_videos, chunk_videos):
        chunk = frames[start : start + chunk_videos].float()  # (V, T, D)
        videos = chunk.shape[0]
        logits = (text32 @ chunk.reshape(videos * num_frames, dim).T).view(num_texts, videos, num_frames)  # (Nt, V, T)
        scaled = logits / temperature
        if frame_mask is not None:
            valid = frame_mask[start : start + chunk_videos].to(torch.bool)  # (V, T)
            scaled = scaled.masked_fill(~valid, float("-inf"))
        weights = torch.softmax(scaled, dim=-1).nan_to_num_(0.0)  # (Nt, V, T); empty videos -> 0
        gram = chunk @ chunk.transpose(1, 2)  # (V, T, T)
        pooled_dot = (weights * logits).sum(-1)  # (Nt, V): text . pooled
        pooled_sq = torch.einsum("nvt,vts,nvs->nv", weights, gram, weights)  # (Nt, V): |pooled|^2
        text_norm = text32.norm(dim=-1, keepdim=True)  # (Nt, 1)
        out[:, start : start + videos] = pooled_dot / (pooled_sq.clamp_min(1e-12).sqrt() * text_norm.clamp_min(1e-12))
    return out.to(text.dtype)
