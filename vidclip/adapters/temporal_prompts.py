"""EZ-CLIP temporal visual prompts and adapters, after the official `clip/model.py`
(`ResidualAttentionBlock.forward`, `Transformer.__init__`/`forward`, `Adapter`) and `train.py`.

Vision blocks: prompt_t = dropout(P[l, t]) + mean of frame t's tokens; the T prompts of a video
attend to each other over time through the block's own LN + attention
(`vidclip.kernels.temporal_attention`), and that output *replaces* the prompt; each frame's tokens
attend to their prompt as one extra key/value in spatial attention; the prompt is dropped after the
attention, a bottleneck adapter follows it (x + up(gelu(down(x)))), then the block's MLP. Text blocks
get the same adapter after their attention. P starts uniform in +-sqrt(6 / (3 * 16 * 16 + width)) (the
official init, its 16 x 16 patch hard-coded); only prompts and adapters train. The motion loss
(`vidclip.losses.motion_loss`, weight 1) acts on the raw per-frame embeddings.

Identity at init: an extra key changes every softmax denominator, so the prompt's share is gated.
Softmax over N real keys + the prompt key splits exactly into (real-only attention, prompt weight
alpha); the block uses real + g * alpha * (v_prompt - real) with per-channel gates g = 0 at init.
g = 1 is exactly EZ-CLIP's appended token. The split is computed in one pass over the (N x N)
logits plus one (N x 1) column for the prompt key, not a second attention. The adapters' up
projections start at zero (official: PyTorch's default init), for the same reason.

Deliberate deviations, each an option or a necessity:
- prompt_residual=False (official); True adds the temporal output to the prompt, keeping each prompt
  tied to its own frame: through frozen attention the replaced prompt is nearly the same mix of all
  frames for every frame, and learnt no order in the demo's budget (50% twin accuracy vs 78.6%).
- padded frames are masked out of the temporal attention and the motion loss (official clips are
  never padded); other clip lengths resample the learned prompts over time.
- no stochastic depth (official drop_path up to 0.1 over the vision layers): the demo's tiny towers
  have 3 layers.
"""

import math

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import nn

from vidclip.kernels import temporal_attention
from vidclip.losses import motion_loss
from vidclip.adapters.base import Adapter, register
from vidclip.adapters.bottleneck import Bottleneck
from vidclip.towers import BlockParts, text_transformer, vision_blocks, vision_width


@register
class TemporalPrompts(Adapter):
    name = "prompts"
    default_freeze = "towers"
    hooks_vision_blocks = True
    hooks_text_blocks = True

    def __init__(self, *, clip, num_frames, reduction=4, motion_weight=1.0, prompt_dropout=0.1, prompt_residual=False):
        super().__init__(clip=clip, num_frames=num_frames, reduction=reduction, motion_weight=motion_weight,
                         prompt_dropout=prompt_dropout, prompt_residual=prompt_residual)
        width, layers = vision_width(clip.visual, self.name), len(vision_blocks(clip.visual, self.name))
        self.motion_weight, self.prompt_residual = motion_weight, prompt_residual
        bound = math.sqrt(6.0 / (3 * 16 * 16 + width))
        self.prompts = nn.Parameter(torch.empty(layers, num_frames, width).uniform_(-bound, bound))  # (L, T, W)
        self.prompt_dropout = nn.Dropout(prompt_dropout)
        self.gates = nn.Parameter(torch.zeros(layers, width))  # (L, W): prompt share, 0 = identity
        self.adapters = nn.ModuleList(Bottleneck(dim=width, reduction=reduction) for _ in range(layers))
        text = text_transformer(clip)  # None for Hugging Face text towers: no text adapters there
        self.hooks_text_blocks = text is not None
        text_width, text_layers = (text.width, len(text.resblocks)) if text is not None else (0, 0)
        self.text_adapters = nn.ModuleList(Bottleneck(dim=text_width, reduction=reduction) for _ in range(text_layers))

    def _frame_prompts(self, index, num_frames):
        prompts = self.prompts[index]  # (T0, W)
        if num_frames != prompts.shape[0]:  # other clip lengths: resample the prompts over time
            prompts = F.interpolate(prompts.t()[None], size=num_frames, mode="linear", align_corners=True)[0].t()
        return prompts  # (T, W)

    def vision_block(self, index, block, x, *, num_frames, frame_mask):
        parts = BlockParts(block)
        batch = x.shape[0] // num_frames
        learned = self.prompt_dropout(self._frame_prompts(index, num_frames))  # (T, W): one mask for the batch
        prompt = repeat(learned, "t w -> (b t) 1 w", b=batch) + x.mean(dim=1, keepdim=True)  # (B*T, 1, W)
        temporal = parts.ls1(self._temporal(parts, prompt, num_frames, frame_mask))  # (B*T, 1, W)
        prompt = prompt + temporal if self.prompt_residual else temporal
        x = x + parts.ls1(self._spatial(parts, self.gates[index], x, prompt))
        x = x + self.adapters[index](x)
        return parts.feed_forward(x)

    def text_block(self, index, block, x, *, attn_mask):
        x = x + block.ls_1(block.attention(q_x=block.ln_1(x), attn_mask=attn_mask))
        x = x + self.text_adapters[index](x)
        return x + block.ls_2(block.mlp(block.ln_2(x)))

    def video(self, frames, frame_mask, patches=None):
        out = super().video(frames, frame_mask, patches)
        out["frame_norms"] = frames.norm(dim=-1)  # (B, T): the raw embeddings are frames * norms (motion loss)
        return out

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
        if not self.motion_weight:
            return {}
        raw = video["frames"] * video["frame_norms"][..., None]  # (B, T, D)
        return {"motion": self.motion_weight * motion_loss(raw, video["frame_mask"])}
