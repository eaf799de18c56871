"""Tiny random towers of every open_clip family, built from open_clip's own JSON configs.

timm towers are named by `timm_model_name` only, so each tiny trunk is registered with timm under a
test name: the base model's entrypoint with small widths and depths (timm merges the keyword
arguments over the entrypoint's own). The text towers shrink through the config keys themselves.
"""

import copy
from functools import partial

import open_clip
import timm
from timm.models import register_model

_TINY_TRUNKS = {  # test name -> (timm base model, keyword arguments that shrink it)
    "vidclip_tiny_siglip": ("vit_base_patch16_siglip_224", dict(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2)),
    "vidclip_tiny_pe_core": ("vit_pe_core_base_patch16_224", dict(img_size=32, patch_size=8, embed_dim=32, depth=2,
                                                                 num_heads=2, ref_feat_shape=(4, 4))),
    "vidclip_tiny_eva02": ("eva02_base_patch16_clip_224", dict(img_size=32, patch_size=8, embed_dim=32, depth=2,
                                                              num_heads=2, ref_feat_shape=(4, 4))),
    "vidclip_tiny_mci_vit": ("vit_base_mci_224", dict(img_size=64, depth=1)),  # its conv stem fixes the width (768)
    "vidclip_tiny_convnext": ("convnext_tiny", dict(depths=(1, 1, 1, 1), dims=(8, 16, 24, 32))),
}


def _entrypoint(base, small, pretrained=False, **kwargs):
    return timm.create_model(base, pretrained=False, **{**small, **kwargs})


for _name, (_base, _small) in _TINY_TRUNKS.items():
    _fn = partial(_entrypoint, _base, _small)
    _fn.__name__, _fn.__module__ = _name, __name__
    register_model(_fn)

# family -> (open_clip config it starts from, tiny timm trunk or None for open_clip's own ViT)
FAMILIES = {
    "clip": ("ViT-B-32", None),
    "siglip": ("ViT-B-16-SigLIP", "vidclip_tiny_siglip"),
    "pe_core": ("PE-Core-B-16", "vidclip_tiny_pe_core"),
    "eva02": ("EVA02-B-16", "vidclip_tiny_eva02"),
    "mobileclip2_vit": ("MobileCLIP2-B", "vidclip_tiny_mci_vit"),
    "convnext": ("convnext_base", "vidclip_tiny_convnext"),
}
TEXT_WIDTH = 32


def tiny_config(family):
    """open_clip config of `family`, shrunk: 32-pixel images, 2-layer towers of width 32."""
    name, trunk = FAMILIES[family]
    cfg = copy.deepcopy(open_clip.get_model_config(name))
    cfg["embed_dim"] = TEXT_WIDTH
    vision = cfg["vision_cfg"]
    if trunk is None:
        vision.update(image_size=32, patch_size=8, width=32, layers=2, head_width=16)
    else:
        size = _TINY_TRUNKS[trunk][1].get("img_size", 32)
        vision.update(timm_model_name=trunk, timm_model_pretrained=False, image_size=size)
    text = cfg["text_cfg"]
    text.update(width=TEXT_WIDTH, heads=2, layers=2, context_length=16, vocab_size=49408)
    text.pop("hf_tokenizer_name", None)  # open_clip's BPE tokenizer: nothing to download
    text.pop("tokenizer_kwargs", None)
    return cfg
