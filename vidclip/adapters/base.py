"""The adapter contract: one adapter per VideoCLIP, chosen by name from `vidclip.registry.ADAPTERS`.

An adapter sees the towers' outputs (never their insides, except through `vision_block`) and
turns them into the features its similarity head needs. Feature sets are dicts of tensors so
training code can all-gather them key by key; every dict has an L2-normalised "embedding".
"""

import torch.nn.functional as F
from torch import nn

from vidclip.losses import masked_mean
from vidclip.registry import ADAPTERS

register = ADAPTERS.register  # class decorator: `create_model(adapter=cls.name)` and configs can choose it


def build_adapter(name, *, clip, num_frames, **options):
    return ADAPTERS[name](clip=clip, num_frames=num_frames, **options)


class Adapter(nn.Module):
    """Base adapter: meanP video pooling, plain text embedding, cosine similarity, no extra loss."""

    name = "base"
    default_freeze = "none"  # which towers stay frozen unless the caller says otherwise
    hooks_vision_blocks = False  # True: `vision_block` runs every ViT block
    hooks_text_blocks = False  # True: `text_block` runs every text block
    needs_patches = False  # True: `video` reads the projected patch tokens (B, T, P, D)

    def __init__(self, *, clip, num_frames, **options):
        super().__init__()
        self.num_frames = num_frames
        self.options = dict(options)  # JSON-able constructor arguments, saved in checkpoints

    def vision_block(self, index, block, x, *, num_frames, frame_mask):
        return block(x)

    def text_block(self, index, block, x, *, attn_mask):
        return block(x, attn_mask=attn_mask)

    def video(self, frames, frame_mask, patches=None):
        """frames (B, T, D) projected per-frame embeddings -> feature dict."""
        normed = F.normalize(frames, dim=-1)  # (B, T, D)
        pooled = masked_mean(normed, frame_mask[..., None], dim=1)  # (B, D)
        return {"embedding": F.normalize(pooled, dim=-1), "frames": normed, "frame_mask": frame_mask}

    def text(self, eot, words, word_mask):
        return {"embedding": F.normalize(eot, dim=-1)}

    def similarity(self, text, video):
        return text["embedding"] @ video["embedding"].t()  # (Nt, Nv)

    def losses(self, *, model, text, video, captions=None):
        return {}
