"""Run open_clip's own towers, exposing what video heads need (per-frame, per-patch, per-word).

Nothing here re-implements a tower: the vision path calls the ViT's `_embeds`, its resblocks and
`_pool` in the same order as `VisionTransformer.forward`, with an optional per-block hook
(temporal prompts); the text path follows `CLIP.encode_text` but also keeps the token states.
"""

from functools import partial

import torch
import torch.nn.functional as F
from einops import rearrange
from open_clip.transformer import VisionTransformer, text_global_pool
from torch import nn
from torch.utils.checkpoint import checkpoint


def check_supported(clip: nn.Module) -> None:
    """Clear errors for towers this wrapper does not hook into (timm/HF towers, CoCa)."""
    visual = getattr(clip, "visual", None)
    if not isinstance(visual, VisionTransformer):
        raise TypeError(f"vidclip needs an open_clip ViT vision tower, got {type(visual).__name__}")
    if visual.attn_pool is not None:
        raise TypeError("vision towers with an attentional pooler (CoCa) are not supported")
    if not hasattr(clip, "token_embedding"):
        raise TypeError("vidclip needs open_clip's built-in text tower (CLIP class, not CustomTextCLIP)")
    if not visual.transformer.batch_first:
        raise TypeError("vidclip expects batch_first open_clip transformers (open_clip >= 2.24)")


def run_vision(visual: VisionTransformer, images, *, block_fn=None, return_patches=False):
    """images (N, 3, H, W) -> pooled (N, D) and, if asked, projected patch tokens (N, P, D).

    block_fn(index, block, x) replaces `block(x)` when given (x: (N, 1+P, W)).
    """
    x = visual._embeds(images)  # (N, 1+P, W)
    use_ckpt = visual.transformer.grad_checkpointing and torch.is_grad_enabled()
    for index, block in enumerate(visual.transformer.resblocks):
        if block_fn is None:
            step = block
        else:
            def step(h, index=index, block=block):
                return block_fn(index, block, h)
        x = checkpoint(step, x, use_reentrant=False) if use_ckpt else step(x)
    pooled, tokens = visual._pool(x)  # (N, W'), (N, P, W')
    if visual.proj is not None:
        pooled = pooled @ visual.proj  # (N, D)
    if not return_patches:
        return pooled, None
    patches = tokens @ visual.proj if visual.proj is not None else tokens  # (N, P, D)
    return pooled, patches


def run_text(clip: nn.Module, tokens, *, block_fn=None):
    """tokens (B, L) -> EOT embedding (B, D), projected word states (B, L', D), word mask (B, L').

    block_fn(index, block, x, attn_mask) replaces `block(x, attn_mask=attn_mask)` when given (EZ-CLIP's
    text adapters).

    With a causal text tower and EOT pooling, the columns after the last EOT of the batch are
    padding that no kept position attends to: they are dropped (L' <= L), which is exact and saves
    most of the tower's cost on short captions (CLIP pads every caption to 77 tokens).
    """
    end, found = _end_positions(clip, tokens)  # (B,), bool: every caption has its EOT
    if clip.attn_mask is not None and clip.text_pool_type in ("argmax", "eos") and found:
        tokens = tokens[:, : int(end.max()) + 1]  # (B, L')
    cast_dtype = clip.transformer.get_cast_dtype()
    length = tokens.shape[1]
    x = clip.token_embedding(tokens).to(cast_dtype)  # (B, L, W)
    x = x + clip.positional_embedding[:length].to(cast_dtype)
    mask = clip.attn_mask[:length, :length] if clip.attn_mask is not None else None
    if block_fn is None:
        x = clip.transformer(x, attn_mask=mask)  # (B, L, W)
    else:
        use_ckpt = clip.transformer.grad_checkpointing and torch.is_grad_enabled()
        for index, block in enumerate(clip.transformer.resblocks):
            step = partial(block_fn, index, block, attn_mask=mask)
            x = checkpoint(step, x, use_reentrant=False) if use_ckpt else step(x)
    x = clip.ln_final(x)  # (B, L, W)
    eos_id = getattr(clip, "text_eos_id", None)
    pooled = text_global_pool(x, tokens, clip.text_pool_type, eos_token_id=eos_id)  # (B, W)
    pooled, words = _project(clip.text_projection, pooled), _project(clip.text_projection, x)
    positions = torch.arange(length, device=tokens.device)
    word_mask = positions[None, :] <= end[:, None]  # (B, L): SOT .. EOT, padding excluded
    return pooled, words, word_mask


def _end_positions(clip: nn.Module, tokens):
    """(B,) index of each caption's EOT token, and whether every caption has one."""
    if clip.text_pool_type == "eos":
        is_eos = tokens == getattr(clip, "text_eos_id", None)  # (B, L)
        return is_eos.int().argmax(dim=-1), bool(is_eos.any(dim=1).all())
    return tokens.argmax(dim=-1), True  # EOT has the largest id in CLIP's vocabulary


def _project(projection, x):
    if projection is None:
        return x
    return projection(x) if isinstance(projection, nn.Linear) else x @ projection


class BlockParts:
    """The pieces of one open_clip residual block, for hooks that must act between them.

    Supports `ResidualAttentionBlock` (nn.MultiheadAttention) and `CustomResidualAttentionBlock`
    (open_clip `Attention`, with qk-norm / inner norm); refuses scaled-cosine and head-scale
    attention, whose logits this helper would not reproduce.
    """

    def __init__(self, block: nn.Module):
        attn = block.attn
        assert getattr(attn, "logit_scale", None) is None, "scaled cosine attention is not supported by block hooks"
        assert getattr(attn, "head_scale", None) is None, "scale_heads attention is not supported by block hooks"
        self.block, self.attn, self.heads = block, attn, attn.num_heads
        self.ln_q = getattr(attn, "ln_q", nn.Identity())
        self.ln_k = getattr(attn, "ln_k", nn.Identity())
        self.ln_inner = getattr(attn, "ln_inner", nn.Identity())
        self.post_attn = getattr(block, "ln_attn", nn.Identity())

    def qkv(self, h):
        """h (N, L, W) already layer-normed -> q, k, v each (N, L, H, Dh)."""
        q, k, v = F.linear(h, self.attn.in_proj_weight, self.attn.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (rearrange(t, "n l (h d) -> n l h d", h=self.heads) for t in (q, k, v))  # (N, L, H, Dh)
        return self.ln_q(q), self.ln_k(k), v

    def out(self, o):
        """o (N, L, H, Dh) -> attention branch output (N, L, W), before the block's residual."""
        o = rearrange(o, "n l h d -> n l (h d)")  # (N, L, W)
        return self.post_attn(self.attn.out_proj(self.ln_inner(o)))

    def feed_forward(self, x):
        """Second half of the block: x + ls_2(mlp(ln_2(x)))."""
        return x + self.block.ls_2(self.block.mlp(self.block.ln_2(x)))
