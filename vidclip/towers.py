"""Run open_clip's own towers, exposing what video heads need (per-frame, per-patch, per-word).

The one module that knows tower families; adapters see only its outputs and `BlockParts`.
Vision: open_clip's `VisionTransformer` (its `_embeds`, blocks and `_pool`, in `forward`'s order); timm
trunks in open_clip's `TimmModel` (the trunk's own `forward_features` and `forward_head`: SigLIP's MAP
head, EVA02 and PE-Core with RoPE, MobileCLIP2's ViT, convolutional trunks); `ModifiedResNet` (pooled
only). A per-block hook reaches a timm block by standing in for the block's `forward` while the trunk
runs its own `forward_features`, so no tower's forward is copied.
Text: CLIP's built-in tower, `TextTransformer` (CustomTextCLIP: causal or not, any pooling) and
Hugging Face towers (`HFTextEncoder`); each gives its pooled embedding, word states and word mask.
"""

import contextlib
from functools import partial

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from open_clip.hf_model import HFTextEncoder
from open_clip.modified_resnet import ModifiedResNet
from open_clip.timm_model import TimmModel
from open_clip.transformer import TextTransformer, VisionTransformer, text_global_pool
from torch import nn
from torch.utils.checkpoint import checkpoint

from vidclip.errors import TowerError


def check_supported(clip: nn.Module, adapter=None) -> None:
    """Clear errors for towers (or tower + adapter pairs) this wrapper cannot run."""
    visual = getattr(clip, "visual", None)
    if not isinstance(visual, (VisionTransformer, TimmModel, ModifiedResNet)):
        raise TowerError(f"vidclip runs open_clip ViT, timm and ResNet vision towers, not {type(visual).__name__}")
    if isinstance(visual, VisionTransformer):
        if visual.attn_pool is not None:
            raise TowerError("vision towers with an attentional pooler (CoCa) are not supported")
        if not visual.transformer.batch_first:
            raise TowerError("vidclip expects batch_first open_clip transformers (open_clip >= 2.24)")
    text = getattr(clip, "text", None)
    if not hasattr(clip, "token_embedding") and not isinstance(text, (TextTransformer, HFTextEncoder)):
        raise TowerError(f"vidclip runs open_clip's text towers and Hugging Face ones, not {type(text).__name__}")
    if isinstance(text, TextTransformer) and text.cls_emb is not None:
        raise TowerError("text towers with an appended class token (CoCa) are not supported")
    if adapter is not None and adapter.hooks_vision_blocks:
        for block in vision_blocks(visual, adapter.name):
            BlockParts(block)  # refuses attention it cannot split
    if adapter is not None and adapter.needs_patches and isinstance(visual, ModifiedResNet):
        raise TowerError(f"the {adapter.name!r} adapter reads patch tokens, which a ResNet tower with attention "
                         "pooling does not give: use a ViT or timm tower, or another adapter")


# ---------------------------------------------------------------------------------------- vision


def vision_blocks(visual: nn.Module, adapter: str = "prompts") -> list:
    """The transformer blocks a per-block hook runs, in order; a TowerError for convolutional towers."""
    if isinstance(visual, VisionTransformer):
        return list(visual.transformer.resblocks)
    trunk = getattr(visual, "trunk", None)
    if hasattr(trunk, "blocks") and hasattr(trunk, "num_prefix_tokens"):
        return list(trunk.blocks)
    name = type(trunk or visual).__name__
    raise TowerError(f"the {adapter!r} adapter hooks ViT blocks, and this vision tower ({name}) has none: "
                     "use meanp, seqtransf, vdi or glscl with it, or a ViT tower")


def vision_width(visual: nn.Module, adapter: str = "prompts") -> int:
    """Width of the token stream the blocks see."""
    vision_blocks(visual, adapter)  # a TowerError for towers without blocks
    return visual.transformer.width if isinstance(visual, VisionTransformer) else visual.trunk.embed_dim


def embedding_dim(clip: nn.Module) -> int:
    """Size of the joint image-text embedding."""
    if getattr(clip.visual, "output_dim", None):
        return clip.visual.output_dim
    if hasattr(clip, "token_embedding"):  # CLIP's built-in text tower: its (W, D) projection
        return clip.text_projection.shape[1] if not isinstance(clip.text_projection, nn.Linear) else clip.text_projection.out_features
    return clip.text.output_dim


def run_vision(visual: nn.Module, images, *, block_fn=None, return_patches=False):
    """images (N, 3, H, W) -> pooled (N, D) and, if asked, projected patch tokens (N, P, D).

    block_fn(index, block, x) replaces `block(x)` when given (x: (N, prefix+P, W)); `block` called
    with x alone runs the block as its tower would (with EVA's RoPE), and `BlockParts(block)` splits it.
    """
    if isinstance(visual, VisionTransformer):
        return _run_open_clip_vit(visual, images, block_fn, return_patches)
    if isinstance(visual, ModifiedResNet):
        return visual(images), None  # (N, D)
    trunk = visual.trunk
    blocks = vision_blocks(visual) if block_fn is not None else []
    with _hooked(blocks, block_fn):
        features = trunk.forward_features(images)  # (N, prefix+P, W) tokens or (N, C, H, W) map
    pooled = visual.head(trunk.forward_head(features))  # (N, D), as TimmModel.forward
    return pooled, (_timm_patches(visual, features) if return_patches else None)


def _run_open_clip_vit(visual, images, block_fn, return_patches):
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


def _timm_patches(visual, features):
    """Each patch (or feature-map cell) through the tower's own head as if it were the whole image.

    A token repeated over every slot of a sequence pools to itself under token, mean or
    attention (MAP) pooling, so this is the head's reading of that one patch, in the embedding space.
    """
    trunk, batch = visual.trunk, features.shape[0]
    if features.ndim == 4 and getattr(trunk, "output_fmt", "NCHW") == "NHWC":  # a channels-last map (Swin)
        cells = rearrange(features, "n h w c -> (n h w) 1 1 c")  # (N*H*W, 1, 1, C)
    elif features.ndim == 4:  # a convolutional map
        cells = rearrange(features, "n c h w -> (n h w) c 1 1")  # (N*H*W, C, 1, 1)
    else:
        prefix = trunk.num_prefix_tokens
        cells = repeat(features[:, prefix:], "n p w -> (n p) k w", k=prefix + 1)  # (N*P, prefix+1, W)
    out = visual.head(trunk.forward_head(cells))  # (N*P, D)
    return rearrange(out, "(n p) d -> n p d", n=batch)  # (N, P, D)


class HookedBlock:
    """A timm block as a hook sees it: `block(x)` runs it with the extra arguments its tower passed."""

    def __init__(self, module, args, kwargs):
        self.module, self.args, self.kwargs = module, args, kwargs

    def __call__(self, x):
        return type(self.module).forward(self.module, x, *self.args, **self.kwargs)

    def __getattr__(self, name):
        return getattr(self.module, name)


def _hooked_forward(block_fn, index, block, x, *args, **kwargs):
    return block_fn(index, HookedBlock(block, args, kwargs), x)


@contextlib.contextmanager
def _hooked(blocks, block_fn):
    """While inside: calling block i runs block_fn(i, HookedBlock, x) (an instance `forward` shadows the class's)."""
    for index, block in enumerate(blocks):
        block.forward = partial(_hooked_forward, block_fn, index, block)
    try:
        yield
    finally:
        for block in blocks:
            del block.forward


_KNOWN_BLOCKS = {"ResidualAttentionBlock", "CustomResidualAttentionBlock", "Block", "EvaBlock"}  # open_clip, timm
_KNOWN_ATTENTION = {"MultiheadAttention", "Attention", "EvaAttention", "AttentionRope"}


class BlockParts:
    """The pieces of one pre-norm transformer block, for hooks that must act between them.

    Knows open_clip's `ResidualAttentionBlock` / `CustomResidualAttentionBlock` and timm's ViT
    `Block` and `EvaBlock` (fused or separate q/k/v, qk-norm, inner norm, RoPE on the patch tokens);
    refuses attention whose logits or output it would not reproduce (scaled cosine, head scale,
    gated, grouped-query).
    """

    def __init__(self, block):
        module = getattr(block, "module", block)  # a HookedBlock's block
        attn = module.attn
        self.block, self.attn, self.heads = module, attn, attn.num_heads
        self.rope = getattr(block, "kwargs", {}).get("rope")
        unsupported = [name for name in ("logit_scale", "head_scale", "gate") if getattr(attn, name, None) is not None]
        if getattr(attn, "num_kv_groups", 1) != 1:
            unsupported.append("grouped-query attention")
        if type(module).__name__ not in _KNOWN_BLOCKS or type(attn).__name__ not in _KNOWN_ATTENTION:
            unsupported.append(f"{type(attn).__name__} attention")
        if unsupported:
            raise TowerError(f"block hooks do not support {type(module).__name__} blocks with {', '.join(unsupported)}: "
                             "use an adapter that does not hook ViT blocks (meanp, seqtransf, vdi, glscl)")
        if hasattr(module, "ln_1"):  # open_clip
            self.norm1, self.ls1, self.norm2, self.ls2 = module.ln_1, module.ls_1, module.ln_2, module.ls_2
            self.weight, self.bias, self.proj = attn.in_proj_weight, attn.in_proj_bias, attn.out_proj
            self.ln_q, self.ln_k = getattr(attn, "ln_q", nn.Identity()), getattr(attn, "ln_k", nn.Identity())
            self.ln_inner, self.post_attn = getattr(attn, "ln_inner", nn.Identity()), getattr(module, "ln_attn", nn.Identity())
        else:  # timm
            self.norm1, self.norm2 = module.norm1, module.norm2
            self.ls1, self.ls2 = _layer_scale(module, "ls1", "gamma_1"), _layer_scale(module, "ls2", "gamma_2")
            self.weight, self.bias = _timm_qkv(attn)
            self.proj, self.ln_q, self.ln_k, self.ln_inner, self.post_attn = attn.proj, attn.q_norm, attn.k_norm, attn.norm, nn.Identity()

    def qkv(self, h):
        """h (N, L, W) already normed -> q, k, v each (N, L, H, Dh); RoPE rotates the patch tokens of a
        full token sequence (a sequence of another length, e.g. prompts, has no patch positions)."""
        q, k, v = F.linear(h, self.weight, self.bias).chunk(3, dim=-1)
        q, k, v = (rearrange(t, "n l (h d) -> n l h d", h=self.heads) for t in (q, k, v))  # (N, L, H, Dh)
        q, k = self.ln_q(q), self.ln_k(k)
        prefix = getattr(self.attn, "num_prefix_tokens", 0)
        if self.rope is not None and h.shape[1] == prefix + self.rope.shape[-2]:
            q, k = (self._rotate(t, prefix) for t in (q, k))
        return q, k, v

    def _rotate(self, t, prefix):
        from timm.layers import apply_rot_embed_cat

        t = rearrange(t, "n l h d -> n h l d")  # the layout RoPE broadcasts over
        rotated = apply_rot_embed_cat(t[:, :, prefix:], self.rope, half=getattr(self.attn, "rotate_half", False))
        return rearrange(torch.cat([t[:, :, :prefix], rotated.type_as(t)], dim=2), "n h l d -> n l h d")

    def out(self, o):
        """o (N, L, H, Dh) -> attention branch output (N, L, W), before the block's residual and layer scale."""
        o = rearrange(o, "n l h d -> n l (h d)")  # (N, L, W)
        return self.post_attn(self.proj(self.ln_inner(o)))

    def feed_forward(self, x):
        """Second half of the block: x + ls2(mlp(norm2(x)))."""
        return x + self.ls2(self.block.mlp(self.norm2(x)))


def _layer_scale(block, module_name, gamma_name):
    """timm ViT blocks scale a branch with a module (ls1), EVA blocks with a vector (gamma_1) or not at all."""
    if hasattr(block, module_name):
        return getattr(block, module_name)
    gamma = getattr(block, gamma_name, None)
    return nn.Identity() if gamma is None else (lambda x: gamma * x)


def _timm_qkv(attn):
    """(3*W, W) weight and (3*W,) bias or None of a timm attention's q, k, v projections, fused or not."""
    if attn.qkv is not None:
        if getattr(attn, "q_bias", None) is not None:  # EVA: q and v biases, a zero k bias
            return attn.qkv.weight, torch.cat((attn.q_bias, torch.zeros_like(attn.q_bias), attn.v_bias))
        return attn.qkv.weight, attn.qkv.bias
    projections = (attn.q_proj, attn.k_proj, attn.v_proj)
    weight = torch.cat([p.weight for p in projections])
    if all(p.bias is None for p in projections):
        return weight, None
    return weight, torch.cat([p.bias if p.bias is not None else p.weight.new_zeros(p.out_features) for p in projections])


# ------------------------------------------------------------------------------------------ text


def text_transformer(clip: nn.Module):
    """The text tower's open_clip `Transformer` (seqTransf copies its first layers), None for HF towers."""
    if hasattr(clip, "token_embedding"):
        return clip.transformer
    return clip.text.transformer if isinstance(clip.text, TextTransformer) else None


def text_positions(clip: nn.Module):
    """The text tower's positional embedding (context, W), None for HF towers."""
    if hasattr(clip, "token_embedding"):
        return clip.positional_embedding
    return clip.text.positional_embedding if isinstance(clip.text, TextTransformer) else None


def run_text(clip: nn.Module, tokens, *, block_fn=None):
    """tokens (B, L) -> pooled embedding (B, D), projected word states (B, L', D), word mask (B, L').

    block_fn(index, block, x, attn_mask) replaces `block(x, attn_mask=attn_mask)` when given (EZ-CLIP's
    text adapters; open_clip text towers only).

    With a causal text tower and EOT pooling, the columns after the last EOT of the batch are
    padding that no kept position attends to: they are dropped (L' <= L), which is exact and saves
    most of the tower's cost on short captions (CLIP pads every caption to 77 tokens).
    """
    if isinstance(getattr(clip, "text", None), HFTextEncoder):
        if block_fn is not None:
            raise TowerError("text-block hooks (EZ-CLIP's text adapters) need an open_clip text tower, "
                             "not a Hugging Face one: use another adapter or tower")
        return _run_hf_text(clip.text, tokens)
    tower = clip if hasattr(clip, "token_embedding") else clip.text
    pool = getattr(tower, "text_pool_type", getattr(tower, "pool_type", "argmax"))
    eos_id = getattr(tower, "text_eos_id", getattr(tower, "eos_id", None))
    end, found = _end_positions(pool, eos_id, tokens)  # (B,), bool: every caption has its EOT
    if tower.attn_mask is not None and pool in ("argmax", "eos") and found:
        tokens = tokens[:, : int(end.max()) + 1]  # (B, L')
    length = tokens.shape[1]
    if isinstance(tower, TextTransformer):
        x, mask = tower._embeds(tokens)  # (B, L, W); causal (num_pos, num_pos) or padding (B*H, L, L) mask
    else:
        x = tower.token_embedding(tokens).to(tower.transformer.get_cast_dtype())  # (B, L, W)
        x, mask = x + tower.positional_embedding[:length].to(x.dtype), tower.attn_mask
    if mask is not None and mask.ndim == 2:
        mask = mask[:length, :length]
    if block_fn is None:
        x = tower.transformer(x, attn_mask=mask)  # (B, L, W)
    else:
        use_ckpt = tower.transformer.grad_checkpointing and torch.is_grad_enabled()
        for index, block in enumerate(tower.transformer.resblocks):
            step = partial(block_fn, index, block, attn_mask=mask)
            x = checkpoint(step, x, use_reentrant=False) if use_ckpt else step(x)
    x = tower.ln_final(x)  # (B, L, W)
    pooled = text_global_pool(x, tokens, pool, eos_token_id=eos_id)  # (B, W)
    pooled, words = _project(tower.text_projection, pooled), _project(tower.text_projection, x)
    if pool in ("argmax", "eos") and found:
        word_mask = torch.arange(length, device=tokens.device)[None, :] <= end[:, None]  # (B, L): SOT .. EOT
    else:  # no EOT to stop at: every non-padding token
        word_mask = tokens != getattr(tower, "pad_id", 0)  # (B, L)
        word_mask[:, 0] = True
    return pooled, words, word_mask


def _run_hf_text(text, tokens):
    """`HFTextEncoder.forward`, keeping the last hidden states (each through the same projection)."""
    mask = (tokens != text.config.pad_token_id).long()  # (B, L)
    out = text.transformer(input_ids=tokens, attention_mask=mask)
    pooled = text.proj(text.pooler(out, mask))  # (B, D)
    return pooled, text.proj(out.last_hidden_state), mask.bool()  # (B, L, D), (B, L)


def _end_positions(pool, eos_id, tokens):
    """(B,) index of each caption's EOT token, and whether every caption has one."""
    if pool == "eos":
        is_eos = tokens == eos_id  # (B, L)
        return is_eos.int().argmax(dim=-1), bool(is_eos.any(dim=1).all())
    return tokens.argmax(dim=-1), True  # EOT has the largest id in CLIP's vocabulary


def _project(projection, x):
    if projection is None:
        return x
    return projection(x) if isinstance(projection, nn.Linear) else x @ projection
