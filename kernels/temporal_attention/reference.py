"""PyTorch twin of the temporal attention kernel: permute, SDPA over frames, permute back."""

import torch
import torch.nn.functional as F
from einops import rearrange


def temporal_attention(q, k, v, num_frames, *, scale=None, frame_mask=None):
    batch_frames, tokens, heads, _ = q.shape
    assert batch_frames % num_frames == 0, f"leading dim {batch_frames} is not a multiple of num_frames={num_frames}"
    batch = batch_frames // num_frames
    q, k, v = (rearrange(x, "(b t) n h d -> (b n h) t d", t=num_frames) for x in (q, k, v))  # (B*N*H, T, Dh)
    attn_mask = None
    if frame_mask is not None:
        assert frame_mask.shape == (batch, num_frames), f"frame_mask {tuple(frame_mask.shape)} != {(batch, num_frames)}"
        keys_valid = frame_mask.to(torch.bool)
        # a video with no valid frame would give NaN: let it attend to all (its output is padding anyway)
        keys_valid = keys_valid | ~keys_valid.any(dim=1, keepdim=True)
        attn_mask = keys_valid[:, None, None, None, :].expand(batch, tokens, heads, 1, num_frames)
        attn_mask = attn_mask.reshape(batch * tokens * heads, 1, num_frames)  # (B*N*H, 1, T)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, scale=scale)  # (B*N*H, T, Dh)
    return rearrange(out, "(b n h) t d -> (b t) n h d", b=batch, n=tokens, h=heads)
