"""EZ-CLIP temporal visual prompts: one learnable prompt per frame per ViT layer.

In every block: prompt_t = P[l, t] + mean of frame t's tokens; the T prompts of a video attend to
each other over time through the block's own LN + attention (`vidclip.kernels.temporal_attention`);
each frame's tokens then attend to their prompt as one extra key/value in spatial attention; the
prompt is dropped after the block. A zero-init bottleneck adapter follows the attention.

Identity at init: an extra key changes every softmax denominator, so the prompt's share is gated.
Softmax over N real keys + the prompt key splits exactly into (real-only attention, prompt weight
alpha); the block uses real + g * alpha * (v_prompt - real) with per-channel gates g = 0 at init.
g = 1 is exactly EZ-CLIP's appended token. The split is computed in one pass over the (N x N)
logits plus one (N x 1) column for the prompt key, not a second attention.
"""

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import nn

from vidclip.kernels import temporal_attention
from vidclip.losses import masked_mean
from vidclip.adapters.base import Adapter, register
from vidclip.adapters.bottleneck import Bottleneck
from vidclip.towers import BlockParts, vision_blocks, vision_width


@register
class TemporalPrompts(Adapter):
    name = "prompts"
    default_freeze = "towers"
    hooks_vision_blocks = True

    def __init__(self, *, clip, num_frames, reduction=4, motion_weight=0.1):
        super().__init__(clip=clip, num_frames=num_frames, reduction=reduction, motion_weight=motion_weight)
        width, layers = vision_width(clip.visual, self.name), len(vision_blocks(clip.visual, self.name))
        self.motion_weight = motion_weight
        self.prompts = nn.Parameter(torch.randn(layers, num_frames, width) * 0.02)  # (L, T, W)
        self.gates = nn.Parameter(torch.zeros(layers, width))  # (L, W): prompt share, 0 = identity
        self.adapters = nn.ModuleList(Bottleneck(dim=width, reduction=reduction) for _ in range(layers))

    def _frame_prompts(self, index, num_frames):
        prompts = self.prompts[index]  # (T0, W)
        if num_frames != prompts.shape[0]:  # other clip lengths: resample the prompts over time
            prompts = F.interpolate(prompts.t()[None], size=num_frames, mode="linear", align_corners=True)[0].t()
        return prompts  # (T, W)

    def vision_block(self, index, block, x, *, num_frames, frame_mask):
        parts = BlockParts(block)
        batch = x.shape[0] // num_frames
        prompt = repeat(self._frame_prompts(index, num_frames), "t w -> (b t) w", b=batch) + x.mean(dim=1)  # (B*T, W)
        prompt = prompt[:, None] + parts.ls1(self._temporal(parts, prompt[:, None], num_frames, frame_mask))  # (B*T, 1, W)
        x = x + parts.ls1(self._spatial(parts, self.gates[index], x, prompt))
        x = x + self.adapters[index](x)
        return parts.feed_forward(x)

    @staticmethod
    def _temporal(parts, prompt, num_frames, frame_mask):
        q, k, v = parts.qkv(parts.norm1(prompt))  # (B*T, 1, H, Dh)
        return parts.out(temporal_attention(q, k, v, num_frames, frame_mask=frame_mask))  # (B*T, 1, W)

    @staticmethod
    def _spatial(parts, gate, x, prompt):
        q, k, v = (rearrange(t, "n l h d -> n h l d") for t in parts.qkv(parts.norm1(x)))  # (B*T, H, N, Dh)
        _, k_p, v_p = (rearrange(t, "n l h d -> n h l d") for t in parts.qkv(parts.norm1(prompt)))  # (B*T, H, 1, Dh)
        scale = q.shape[-1] ** -0.5
        logits = (q @ k.transpose(-1, -2)) * scale  # (B*T, H, N, N)
        logits_p = (q @ k_p.transpose(-1, -2)) * scale  # (B*T, H, N, 1)
        top = torch.maximum(logits.amax(dim=-1, keepdim=True), logits_p)  # (B*T, H, N, 1)
        weights, weight_p = (logits - top).exp(), (logits_p - top).exp()
        real_total = weights.sum(dim=-1, keepdim=True)  # (B*T, H, N, 1)
        real = (weights @ v) / real_total  # (B*T, H, N, Dh): attention over the frame's own tokens
        alpha = weight_p / (real_total + weight_p)  # (B*T, H, N, 1): the prompt's softmax share
        g = rearrange(gate, "(h d) -> h 1 d", h=q.shape[1])  # (H, 1, Dh)
        mixed = real + g * alpha * (v_p - real)  # g = 1: the prompt as one more key/value
        return parts.out(rearrange(mixed, "n h l d -> n l h d"))  # (B*T, N, W)

    def losses(self, *, model, text, video, captions=None):
        frames, mask = video["frames"], video["frame_mask"]  # (B, T, D) normalised, (B, T)
        if frames.shape[1] < 2:
            return {}
        step = (frames[:, 1:] - frames[:, :-1]).norm(dim=-1)  # (B, T-1), in [0, 2]: scale-invariant
        valid = mask[:, 1:] & mask[:, :-1]  # (B, T-1)
        mean = masked_mean(step, valid, dim=1)  # (B,)
        var = masked_mean((step - mean[:, None]) ** 2, valid, dim=1)  # (B,)
        return {"motion": self.motion_weight * (1.0 / (mean + var + 1.0)).mean()}
