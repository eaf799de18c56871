"""CLIP4Clip's parameter-free meanP and its temporal-transformer variant seqTransf."""

import torch
from open_clip.transformer import Transformer
from torch import nn

from vidclip.adapters.base import Adapter, register
from vidclip.towers import embedding_dim, text_positions, text_transformer


@register
class MeanPooling(Adapter):
    """meanP: normalise each frame embedding, masked mean over time, normalise again.

    Identity at T=1 by construction; invariant to frame order by construction.
    """

    name = "meanp"


class TemporalTransformer(nn.Module):
    """frames (B, T, D) -> frames + out(transformer(frames + pos)).

    CLIP4Clip initialises the temporal transformer from the first text layers, and its frame
    positions from the text positional embedding (`modules/modeling.py`, `init_preweight`); we do
    the same when widths match (`init_from`, `init_positions`; rows past the text's context length
    stay random). The output projection is zero-initialised so the module starts as the identity
    (the identity-at-init principle) while the copied layers keep their CLIP weights.
    """

    def __init__(self, *, dim, layers=4, max_frames=128, init_from=None, init_positions=None, act_layer=nn.GELU):
        super().__init__()
        self.heads = max(1, dim // 64)
        self.max_frames = max_frames
        self.position = nn.Parameter(torch.randn(max_frames, dim) * 0.01)
        self.transformer = Transformer(width=dim, layers=layers, heads=self.heads, act_layer=act_layer)
        self.out = nn.Linear(dim, dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        if init_from is not None and init_from.width == dim and len(init_from.resblocks) >= layers:
            for mine, theirs in zip(self.transformer.resblocks, init_from.resblocks):
                if _same_shapes(mine, theirs):  # text blocks of another kind (qk-norm, ...) are not copied
                    mine.load_state_dict(theirs.state_dict())
        if init_positions is not None and init_positions.shape[-1] == dim:
            rows = min(max_frames, len(init_positions))
            with torch.no_grad():
                self.position[:rows].copy_(init_positions[:rows])  # (rows, D)

    def forward(self, frames, frame_mask, extra=None):
        batch, num_frames, _ = frames.shape
        assert num_frames <= self.max_frames, f"{num_frames} frames > max_frames={self.max_frames}"
        keys_pad = torch.zeros(batch, 1, num_frames, dtype=frames.dtype, device=frames.device)
        keys_pad = keys_pad.masked_fill(~frame_mask[:, None, :], float("-inf"))  # (B, 1, T)
        mask = keys_pad.expand(batch, num_frames, num_frames).repeat_interleave(self.heads, 0)  # (B*H, T, T)
        inputs = frames + self.position[:num_frames].to(frames.dtype)  # (B, T, D)
        if extra is not None:  # more per-frame evidence (VDI: spatial dynamics), seen by the transformer only
            inputs = inputs + extra
        hidden = self.transformer(inputs, attn_mask=mask)  # (B, T, D)
        return frames + self.out(hidden)


def _same_shapes(mine, theirs):
    ours, their_state = mine.state_dict(), theirs.state_dict()
    return ours.keys() == their_state.keys() and all(ours[k].shape == their_state[k].shape for k in ours)


def text_activation(clip):
    """The activation class of the CLIP text blocks (GELU or open_clip's QuickGELU; GELU for HF towers)."""
    transformer = text_transformer(clip)
    return nn.GELU if transformer is None else type(transformer.resblocks[0].mlp.gelu)


@register
class SeqTransf(Adapter):
    """seqTransf: temporal transformer over frame embeddings, residual, then meanP."""

    name = "seqtransf"

    def __init__(self, *, clip, num_frames, layers=4, max_frames=128):
        super().__init__(clip=clip, num_frames=num_frames, layers=layers, max_frames=max_frames)
        self.temporal = TemporalTransformer(
            dim=embedding_dim(clip), layers=layers, max_frames=max(max_frames, num_frames),
            init_from=text_transformer(clip), init_positions=text_positions(clip),
            act_layer=text_activation(clip),
        )

    def video(self, frames, frame_mask, patches=None):
        return super().video(self.temporal(frames, frame_mask), frame_mask, patches)
