"""Hugging Face `SiglipModel` folders -> open_clip's SigLIP layout: a timm ViT trunk with a MAP head
(`attn_pool`) and a `CustomTextCLIP` text tower (non-causal, last-token pooling, projection with bias).

open_clip names a timm vision trunk by its timm model name only, and timm's own SigLIP trunks have
fixed sizes and exact GELU where transformers' use the tanh approximation. So each folder's trunk is
registered with timm under a name that spells its shape, e.g.
`vidclip_siglip_w768_d12_h12_m3072_p16_i224_eps1e-06_gelu_tanh`; `register_siglip_trunk` registers it
again from the name alone when a saved vidclip checkpoint is rebuilt.
"""

import json
import re
from functools import partial
from pathlib import Path

import torch

from vidclip.convert.hf import hf_preprocess, read_hf_weights
from vidclip.errors import CheckpointError

_TRUNK = re.compile(r"vidclip_siglip_w(\d+)_d(\d+)_h(\d+)_m(\d+)_p(\d+)_i(\d+)_eps([0-9a-z+-]+)_(gelu|gelu_tanh)")
_TIMM_ACT = {"gelu_pytorch_tanh": "gelu_tanh", "gelu": "gelu"}  # transformers' hidden_act -> timm's act_layer
_GELU_KWARGS = {"gelu_pytorch_tanh": {"approximate": "tanh"}, "gelu": None}  # -> open_clip act_kwargs (nn.GELU)
_VISION_DEFAULTS = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12,
                    "image_size": 224, "patch_size": 16, "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6,
                    "vision_use_head": True, "num_channels": 3}  # SiglipVisionConfig's (save_pretrained omits them)
_TEXT_DEFAULTS = {"vocab_size": 32000, "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                  "num_attention_heads": 12, "max_position_embeddings": 64, "hidden_act": "gelu_pytorch_tanh",
                  "layer_norm_eps": 1e-6, "pad_token_id": 1, "projection_size": None}  # SiglipTextConfig's
SIGLIP_PREPROCESS = {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "interpolation": "bicubic", "resize_mode": "squash"}
_TIMM_BLOCK = (("layer_norm1", "norm1"), ("self_attn.out_proj", "attn.proj"), ("layer_norm2", "norm2"),
               ("mlp.fc1", "mlp.fc1"), ("mlp.fc2", "mlp.fc2"))  # HF encoder layer part -> timm Block part
_TEXT_BLOCK = (("layer_norm1", "ln_1"), ("self_attn.out_proj", "attn.out_proj"), ("layer_norm2", "ln_2"),
               ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj"))  # -> open_clip ResidualAttentionBlock part
_MAP_HEAD = (("attention.out_proj", "proj"), ("layernorm", "norm"), ("mlp.fc1", "mlp.fc1"), ("mlp.fc2", "mlp.fc2"))


def siglip_trunk_name(width, depth, heads, mlp, patch, image, eps, act):
    """The timm name vidclip registers a SigLIP trunk of this shape under ('.' is spelled 'p': timm reads
    'name.tag')."""
    return f"vidclip_siglip_w{width}_d{depth}_h{heads}_m{mlp}_p{patch}_i{image}_eps{eps:g}_{act}".replace(".", "p")


def register_siglip_trunk(name):
    """Register with timm the trunk a `siglip_trunk_name` spells; other names are left alone."""
    import timm
    from timm.layers import LayerNorm
    from timm.models import register_model

    match = _TRUNK.fullmatch(name or "")
    if match is None or timm.is_model(name):
        return
    width, depth, heads, mlp, patch, image = map(int, match.groups()[:6])
    eps, act = float(match[7].replace("p", ".")), match[8]
    shape = dict(img_size=image, patch_size=patch, embed_dim=width, depth=depth, num_heads=heads,
                 mlp_ratio=mlp_ratio(mlp, width), norm_layer=partial(LayerNorm, eps=eps), act_layer=act)

    def entrypoint(pretrained=False, **kwargs):  # timm's SigLIP ViT-B entrypoint: no class token, MAP head
        return timm.create_model("vit_base_patch16_siglip_224", pretrained=False, **{**shape, **kwargs})

    entrypoint.__name__, entrypoint.__module__ = name, __name__
    register_model(entrypoint)


def mlp_ratio(hidden, width):
    """A ratio whose `int(width * ratio)` is `hidden` (timm and open_clip size their MLPs so)."""
    ratio = hidden / width
    return ratio if int(width * ratio) == hidden else (hidden + 0.5) / width


def hf_siglip_to_open_clip(folder):
    """HF `SiglipModel` folder -> (open_clip model config, open_clip state dict, preprocess options)."""
    folder = Path(folder)
    cfg = siglip_config(json.loads((folder / "config.json").read_text()), folder)
    return cfg, _convert_keys(read_hf_weights(folder)), {**SIGLIP_PREPROCESS, **hf_preprocess(folder)}


def siglip_config(hf, folder):
    """A SiglipModel's config.json (dict) -> open_clip model config."""
    vision = {**_VISION_DEFAULTS, **hf.get("vision_config", {})}
    text = {**_TEXT_DEFAULTS, **hf.get("text_config", {})}
    embed_dim = text["projection_size"] or text["hidden_size"]
    refused = [f"vision_config.hidden_act={vision['hidden_act']!r}"] if vision["hidden_act"] not in _TIMM_ACT else []
    refused += [f"text_config.hidden_act={text['hidden_act']!r}"] if text["hidden_act"] not in _GELU_KWARGS else []
    refused += ["vision_config.vision_use_head=False (no pooled image embedding)"] if not vision["vision_use_head"] else []
    refused += [f"vision_config.num_channels={vision['num_channels']}"] if vision["num_channels"] != 3 else []
    if vision["hidden_size"] != embed_dim:
        refused.append(f"an image embedding of {vision['hidden_size']} but a text one of {embed_dim}")
    image, patch = (_square(vision, key, refused) for key in ("image_size", "patch_size"))
    if refused:
        raise CheckpointError(f"{folder}: vidclip cannot convert this SiglipModel ({'; '.join(refused)})")
    trunk = siglip_trunk_name(vision["hidden_size"], vision["num_hidden_layers"], vision["num_attention_heads"],
                              vision["intermediate_size"], patch, image, vision["layer_norm_eps"], _TIMM_ACT[vision["hidden_act"]])
    return {
        "embed_dim": embed_dim, "init_logit_bias": -10.0, "custom_text": True,
        "vision_cfg": {"image_size": image, "timm_model_name": trunk, "timm_model_pretrained": False,
                       "timm_pool": "map", "timm_proj": "none"},
        "text_cfg": {
            "context_length": text["max_position_embeddings"], "vocab_size": text["vocab_size"],
            "width": text["hidden_size"], "heads": text["num_attention_heads"], "layers": text["num_hidden_layers"],
            "mlp_ratio": mlp_ratio(text["intermediate_size"], text["hidden_size"]), "no_causal_mask": True,
            "proj_bias": True, "pool_type": "last", "pad_id": text["pad_token_id"] if text["pad_token_id"] is not None else 0,
            "norm_kwargs": {"eps": text["layer_norm_eps"]}, "act_kwargs": _GELU_KWARGS[text["hidden_act"]],
            # the folder's own tokenizer (read when first used: SigLIP's is sentencepiece, and save_pretrained of
            # a model alone writes none); open_clip's SigLIP configs clean text so
            "hf_tokenizer_name": str(Path(folder).resolve()), "tokenizer_kwargs": {"clean": "canonicalize"},
        },
    }


def name_differences(differs, named, converted):
    """Of `arch_differences(named, converted)` for a converted SigLIP config, those that are real: a timm
    trunk of the same shape is the same architecture, and so is GELU's tanh approximation (transformers')
    against the exact one (open_clip's SigLIP configs; the folder's own is what runs)."""
    ignored = {"text_cfg.act_kwargs", "text_cfg.pad_id"}  # open_clip's SigLIP towers do not read their pad_id
    if _text_mlp_width(named) == _text_mlp_width(converted):  # SO400M: open_clip's 3.7362 and 4304 / 1152 alike
        ignored.add("text_cfg.mlp_ratio")
    if _trunk_shape(named["vision_cfg"].get("timm_model_name")) == _trunk_shape(converted["vision_cfg"]["timm_model_name"]):
        ignored.add("vision_cfg.timm_model_name")
    return [line for line in differs if line.split(":")[0] not in ignored]


def _text_mlp_width(cfg):
    return int(cfg["text_cfg"].get("width", 512) * cfg["text_cfg"].get("mlp_ratio", 4.0))  # CLIPTextCfg's defaults


def _trunk_shape(name):
    """(width, depth, heads, MLP width, patch, image, eps) of a SigLIP timm trunk, None for other towers."""
    match = _TRUNK.fullmatch(name or "")
    if match:
        return tuple(map(int, match.groups()[:6])) + (float(match[7].replace("p", ".")),)
    import timm

    if not name or not timm.is_model(name):
        return None
    with torch.device("meta"):  # shapes only: no memory, no init
        trunk = timm.create_model(name, pretrained=False)
    if getattr(trunk, "global_pool", None) != "map" or getattr(trunk, "has_class_token", True):
        return None
    block = trunk.blocks[0]
    return (trunk.embed_dim, len(trunk.blocks), block.attn.num_heads, block.mlp.fc1.out_features,
            trunk.patch_embed.patch_size[0], trunk.patch_embed.img_size[0], trunk.norm.eps)


def _square(config, key, refused):
    value = config[key]
    if isinstance(value, (list, tuple)):
        if len(set(value)) > 1:
            refused.append(f"vision_config.{key}={value!r} (not square)")
        value = value[0]
    return int(value)


def _renamed(hf, src, dst, pairs):
    """{dst + ours.weight/bias: hf[src + theirs.weight/bias]} for each (theirs, ours) pair."""
    return {f"{dst}{ours}.{kind}": hf[f"{src}{theirs}.{kind}"] for theirs, ours in pairs for kind in ("weight", "bias")}


def _fused_qkv(hf, src):
    """q, k, v projections (HF) -> one (3W, W) weight and (3W,) bias, q first (timm's qkv, open_clip's in_proj)."""
    return [torch.cat([hf[f"{src}self_attn.{p}_proj.{kind}"] for p in "qkv"]) for kind in ("weight", "bias")]


def _layers(hf, tower):
    return sum(1 for key in hf if key.startswith(f"{tower}encoder.layers.") and key.endswith(".layer_norm1.weight"))


def _convert_keys(hf):
    v, t, trunk = "vision_model.", "text_model.", "visual.trunk."
    try:
        out = {"logit_scale": hf["logit_scale"].reshape(()), "logit_bias": hf["logit_bias"].reshape(()),  # (1,) -> ()
               trunk + "patch_embed.proj.weight": hf[v + "embeddings.patch_embedding.weight"],
               trunk + "patch_embed.proj.bias": hf[v + "embeddings.patch_embedding.bias"],
               trunk + "pos_embed": hf[v + "embeddings.position_embedding.weight"][None],  # (N, W) -> (1, N, W)
               trunk + "attn_pool.latent": hf[v + "head.probe"],  # (1, 1, W)
               "text.token_embedding.weight": hf[t + "embeddings.token_embedding.weight"],
               "text.positional_embedding": hf[t + "embeddings.position_embedding.weight"]}
        for layer in range(_layers(hf, v)):
            src, dst = f"{v}encoder.layers.{layer}.", f"{trunk}blocks.{layer}."
            out.update(_renamed(hf, src, dst, _TIMM_BLOCK))
            out[dst + "attn.qkv.weight"], out[dst + "attn.qkv.bias"] = _fused_qkv(hf, src)
        out.update(_renamed(hf, v, trunk, (("post_layernorm", "norm"),)))
        out.update(_renamed(hf, v + "head.", trunk + "attn_pool.", _MAP_HEAD))
        width = out[trunk + "pos_embed"].shape[-1]
        for kind in ("weight", "bias"):  # nn.MultiheadAttention's in_proj (3W, ...) -> the probe's q (W, ...), kv (2W, ...)
            q, kv = hf[f"{v}head.attention.in_proj_{kind}"].split([width, 2 * width])
            out[f"{trunk}attn_pool.q.{kind}"], out[f"{trunk}attn_pool.kv.{kind}"] = q, kv
        for layer in range(_layers(hf, t)):
            src, dst = f"{t}encoder.layers.{layer}.", f"text.transformer.resblocks.{layer}."
            out.update(_renamed(hf, src, dst, _TEXT_BLOCK))
            out[dst + "attn.in_proj_weight"], out[dst + "attn.in_proj_bias"] = _fused_qkv(hf, src)
        out.update(_renamed(hf, t, "text.", (("final_layer_norm", "ln_final"), ("head", "text_projection"))))
    except KeyError as missing:
        raise CheckpointError(f"the SiglipModel weights lack {missing} (another model type, or a damaged folder)") from None
    return out
