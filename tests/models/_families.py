"""Tiny random towers of every open_clip family, built from open_clip's own JSON configs.

timm towers are named by `timm_model_name` only, so each tiny trunk is registered with timm under a
test name: the base model's entrypoint with small widths and depths (timm merges the keyword
arguments over the entrypoint's own). The text towers shrink through the config keys themselves.
"""

from functools import partial

import timm
from torch import nn
from timm.models import register_model

import vidclip

_TINY_TRUNKS = {  # test name -> (timm base model, keyword arguments that shrink it)
    "vidclip_tiny_siglip": ("vit_base_patch16_siglip_224", dict(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2)),
    "vidclip_tiny_pe_core": ("vit_pe_core_base_patch16_224", dict(img_size=32, patch_size=8, embed_dim=32, depth=2,
                                                                 num_heads=2, ref_feat_shape=(4, 4))),
    "vidclip_tiny_eva02": ("eva02_base_patch16_clip_224", dict(img_size=32, patch_size=8, embed_dim=32, depth=2,
                                                              num_heads=2, ref_feat_shape=(4, 4))),
    "vidclip_tiny_mci_vit": ("vit_base_mci_224", dict(img_size=32, depth=1)),  # its conv stem fixes the width (768)
    "vidclip_tiny_convnext": ("convnext_tiny", dict(depths=(1, 1, 1, 1), dims=(8, 16, 24, 32))),
}


def _entrypoint(base, small, pretrained=False, **kwargs):
    return timm.create_model(base, pretrained=False, **{**small, **kwargs})


for _name, (_base, _small) in _TINY_TRUNKS.items():
    _fn = partial(_entrypoint, _base, _small)
    _fn.__name__, _fn.__module__ = _name, __name__
    register_model(_fn)

# family -> (open_clip config it starts from, tiny timm trunk or None for open_clip's own ViT, image size)
FAMILIES = {
    "clip": ("ViT-B-32", None, 32),
    "siglip": ("ViT-B-16-SigLIP", "vidclip_tiny_siglip", 32),
    "pe_core": ("PE-Core-B-16", "vidclip_tiny_pe_core", 32),
    "eva02": ("EVA02-B-16", "vidclip_tiny_eva02", 32),
    "mobileclip2_vit": ("MobileCLIP2-B", "vidclip_tiny_mci_vit", 32),
    "convnext": ("convnext_base", "vidclip_tiny_convnext", 64),
}
HOOKABLE = [family for family in FAMILIES if family != "convnext"]


def tiny_overrides(family):
    """create_model overrides that shrink `family`'s open_clip config: small images, 2-layer towers of width 32."""
    _, trunk, size = FAMILIES[family]
    if trunk is None:
        vision = dict(image_size=size, patch_size=8, width=32, layers=2, head_width=16)
    else:
        vision = dict(timm_model_name=trunk, image_size=size)
    # open_clip's BPE tokenizer (nothing to download), hence its vocabulary
    text = dict(width=32, heads=2, layers=2, context_length=16, vocab_size=49408, hf_tokenizer_name=None, tokenizer_kwargs=None)
    return {"embed_dim": 32, "vision_cfg": vision, "text_cfg": text}


def tiny_model(family, adapter="meanp", num_frames=1, **options):
    model = vidclip.create_model(FAMILIES[family][0], adapter=adapter, num_frames=num_frames, **tiny_overrides(family), **options)
    head = getattr(getattr(model.clip.visual, "trunk", None), "head", None)
    if isinstance(head, nn.Linear):  # timm starts classifier heads near zero (1e-6 embeddings): a trained projection's scale
        nn.init.normal_(head.weight, std=head.in_features**-0.5)
    return model
