"""Hugging Face `CLIPModel` folders <-> open_clip's keys (plain JSON + tensors), in both directions
(`SiglipModel` folders, read only: vidclip.convert.siglip).

Reading: config.json + model.safetensors / pytorch_model.bin, or their shards with the index
(`model-00001-of-0000N.safetensors` + `model.safetensors.index.json`), and preprocessor_config.json's
mean, std and resampling. Writing: the same layout for towers whose open_clip config has a
transformers equivalent. `transformers` itself is needed by neither.
"""

import dataclasses
import json
from pathlib import Path

import open_clip
import torch

from vidclip.checkpoint import read_state_dict
from vidclip.errors import CheckpointError

_HF_WEIGHTS = ("model.safetensors", "pytorch_model.bin")  # each also sharded, with "<name>.index.json"
_RESAMPLE = {2: "bilinear", 3: "bicubic", 0: "nearest"}  # PIL codes in preprocessor_config.json
_PAIRS = (("self_attn.out_proj", "attn.out_proj"), ("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"),
          ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj"))  # HF layer part -> open_clip block part
_NORMS = {"vision_model": (("pre_layrnorm", "visual.ln_pre"), ("post_layernorm", "visual.ln_post")),
          "text_model": (("final_layer_norm", "ln_final"),)}
_TOWERS = (("vision_model", "visual.transformer"), ("text_model", "transformer"))
_EMBEDDINGS = (("vision_model.embeddings.class_embedding", "visual.class_embedding"),
               ("vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight"),
               ("vision_model.embeddings.position_embedding.weight", "visual.positional_embedding"),
               ("text_model.embeddings.token_embedding.weight", "token_embedding.weight"),
               ("text_model.embeddings.position_embedding.weight", "positional_embedding"))


def hf_model_type(path):
    """The `model_type` of a Hugging Face model folder ("clip", "siglip", ...), or None for anything else."""
    config = Path(path) / "config.json"
    if not config.is_file():
        return None
    try:
        data = json.loads(config.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or "model_type" not in data and not data.get("architectures"):
        return None  # a vidclip or other config.json
    return data.get("model_type") or data["architectures"][0]


_CONVERTED = {"clip": "clip", "CLIPModel": "clip", "siglip": "siglip", "SiglipModel": "siglip"}  # model_type -> family


def check_hf_convertible(folder):
    """A Hugging Face folder's family, "clip" or "siglip"; refuses, saying why, any other model."""
    kind = hf_model_type(folder)
    if kind in _CONVERTED:
        return _CONVERTED[kind]
    hint = {"siglip2": "SigLIP2 (NaFlex) towers load through open_clip instead: create_model('hf-hub:timm/ViT-B-16-SigLIP2'); "}
    raise CheckpointError(f"{folder} is a Hugging Face {kind!r} model; vidclip converts CLIPModel and SiglipModel folders "
                          f"only. {hint.get(kind, '')}open_clip repositories work as create_model('hf-hub:ORG/NAME')")


def hf_clip_to_open_clip(folder):
    """HF `CLIPModel` folder -> (open_clip model config, open_clip state dict, preprocess options)."""
    folder = Path(folder)
    hf = json.loads((folder / "config.json").read_text())
    vision, text = hf["vision_config"], hf["text_config"]
    eos = text.get("eos_token_id", 2)
    cfg = {
        "embed_dim": hf.get("projection_dim", 512),
        "quick_gelu": vision.get("hidden_act", "quick_gelu") == "quick_gelu",
        "vision_cfg": {
            "image_size": vision["image_size"], "patch_size": vision["patch_size"], "width": vision["hidden_size"],
            "layers": vision["num_hidden_layers"], "head_width": vision["hidden_size"] // vision["num_attention_heads"],
            "mlp_ratio": vision["intermediate_size"] / vision["hidden_size"],
        },
        "text_cfg": {
            "context_length": text["max_position_embeddings"], "vocab_size": text["vocab_size"],
            "width": text["hidden_size"], "heads": text["num_attention_heads"], "layers": text["num_hidden_layers"],
            "mlp_ratio": text["intermediate_size"] / text["hidden_size"],
            # HF pools at the first eos token, except the legacy eos_token_id == 2 (argmax, like open_clip)
            **({"pool_type": "argmax"} if eos == 2 else {"pool_type": "eos", "eos_id": eos}),
        },
    }
    return cfg, _convert_hf_keys(read_hf_weights(folder)), hf_preprocess(folder)


def read_hf_weights(folder):
    """All tensors of a HF folder: one weights file, or the shards its index lists."""
    folder = Path(folder)
    for name in _HF_WEIGHTS:
        if (folder / name).is_file():
            return read_state_dict(folder / name)
        index = folder / f"{name}.index.json"
        if index.is_file():
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            state = {}
            for shard in shards:
                state.update(read_state_dict(folder / shard))
            return state
    raise CheckpointError(f"{folder}: no weights ({', '.join(_HF_WEIGHTS)}, or their shards with an .index.json)")


def hf_preprocess(folder):
    """preprocessor_config.json -> vidclip preprocess options (mean, std, interpolation, resize_mode); {} if absent."""
    path = Path(folder) / "preprocessor_config.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    options = {"mean": data["image_mean"], "std": data["image_std"]} if "image_mean" in data else {}
    if data.get("resample") in _RESAMPLE:
        options["interpolation"] = _RESAMPLE[data["resample"]]
    # CLIPImageProcessor crops (its do_center_crop is saved); SiglipImageProcessor squashes, and has no crop keys
    options["resize_mode"] = "shortest" if data.get("do_center_crop", "crop_size" in data) else "squash"
    return options


def _renamed_keys(has_block):
    """(HF key, open_clip key) for every tensor that only changes name; `has_block(tower, layer)` says
    which blocks exist. The attention's q, k, v (HF) / in_proj (open_clip) are the one tensor that
    splits, per block: (HF block prefix, open_clip block prefix) pairs for those come second."""
    renamed = [("logit_scale", "logit_scale")] + [(theirs, ours) for theirs, ours in _EMBEDDINGS]
    blocks = []
    for tower, ours in _TOWERS:
        layer = 0
        while has_block(tower, layer):
            src, dst = f"{tower}.encoder.layers.{layer}.", f"{ours}.resblocks.{layer}."
            blocks.append((src, dst))
            renamed += [(src + f"{a}.{kind}", dst + f"{b}.{kind}") for a, b in _PAIRS for kind in ("weight", "bias")]
            layer += 1
        renamed += [(f"{tower}.{a}.{kind}", f"{b}.{kind}") for a, b in _NORMS[tower] for kind in ("weight", "bias")]
    return renamed, blocks


def _convert_hf_keys(hf):
    renamed, blocks = _renamed_keys(lambda tower, layer: f"{tower}.encoder.layers.{layer}.layer_norm1.weight" in hf)
    out = {ours: hf[theirs] for theirs, ours in renamed}
    out.update({"visual.proj": hf["visual_projection.weight"].t(), "text_projection": hf["text_projection.weight"].t()})
    for src, dst in blocks:
        for kind in ("weight", "bias"):
            out[dst + f"attn.in_proj_{kind}"] = torch.cat([hf[src + f"self_attn.{p}_proj.{kind}"] for p in "qkv"])
    return out


# ------------------------------------------------------------------------------------------ export
# open_clip options that transformers' CLIPModel has no equivalent for, with the value it assumes
_VISION_FIXED = {"ls_init_value": None, "attentional_pool": False, "no_ln_pre": False, "pos_embed_type": "learnable",
                 "final_ln_after_pool": False, "pool_type": "tok", "act_kwargs": None, "norm_kwargs": None,
                 "qk_norm": False, "scaled_cosine_attn": False, "scale_heads": False, "scale_attn_inner": False,
                 "scale_attn": False, "scale_fc": False, "timm_model_name": None}
_TEXT_FIXED = {"ls_init_value": None, "embed_cls": False, "no_causal_mask": False, "final_ln_after_pool": False,
               "proj_bias": False, "proj_type": "linear", "act_kwargs": None, "norm_kwargs": None, "qk_norm": False,
               "scaled_cosine_attn": False, "scale_heads": False, "scale_attn_inner": False, "scale_attn": False,
               "scale_fc": False, "hf_model_name": None}


def open_clip_to_hf_clip(clip_cfg, state):
    """open_clip CLIP config + state dict -> (HF CLIPModel config.json dict, HF state dict).

    Refuses configs transformers' CLIPModel cannot express (layer scale, attentional pooling, ...).
    """
    vision = dataclasses.asdict(open_clip.model.CLIPVisionCfg(**clip_cfg["vision_cfg"]))
    text = dataclasses.asdict(open_clip.model.CLIPTextCfg(**clip_cfg["text_cfg"]))
    differs = [f"vision_cfg.{k}={vision[k]!r}" for k, v in _VISION_FIXED.items() if vision[k] != v]
    differs += [f"text_cfg.{k}={text[k]!r}" for k, v in _TEXT_FIXED.items() if text[k] != v]
    if text["pool_type"] not in ("argmax", "eos") or (text["pool_type"] == "eos" and text["eos_id"] == 2):
        differs.append(f"text_cfg.pool_type={text['pool_type']!r}")
    if not isinstance(vision["image_size"], int) and len(set(vision["image_size"])) > 1:
        differs.append(f"vision_cfg.image_size={vision['image_size']!r}")
    if clip_cfg.get("init_logit_bias") is not None or "logit_bias" in state:
        differs.append("a logit_bias (SigLIP-style towers)")
    if differs:
        raise CheckpointError(f"transformers' CLIPModel has no equivalent of {', '.join(differs)}; "
                              "these towers cannot be exported as a Hugging Face CLIP folder")
    act = "quick_gelu" if clip_cfg.get("quick_gelu") else "gelu"
    size = vision["image_size"] if isinstance(vision["image_size"], int) else vision["image_size"][0]
    config = {
        "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": clip_cfg["embed_dim"],
        "logit_scale_init_value": float(state["logit_scale"]),
        "vision_config": {"model_type": "clip_vision_model", "hidden_size": vision["width"],
                          "intermediate_size": int(vision["width"] * vision["mlp_ratio"]),
                          "num_hidden_layers": vision["layers"], "num_attention_heads": vision["width"] // vision["head_width"],
                          "image_size": size, "patch_size": vision["patch_size"], "hidden_act": act,
                          "projection_dim": clip_cfg["embed_dim"], "layer_norm_eps": 1e-5},
        "text_config": {"model_type": "clip_text_model", "hidden_size": text["width"],
                        "intermediate_size": int(text["width"] * text["mlp_ratio"]), "num_hidden_layers": text["layers"],
                        "num_attention_heads": text["heads"], "max_position_embeddings": text["context_length"],
                        "vocab_size": text["vocab_size"], "hidden_act": act, "projection_dim": clip_cfg["embed_dim"],
                        "layer_norm_eps": 1e-5, "pad_token_id": text["pad_id"],
                        # 2 is transformers' legacy value: pool at the argmax token, as open_clip's "argmax"
                        "eos_token_id": 2 if text["pool_type"] == "argmax" else text["eos_id"]},
    }
    return config, _to_hf_keys(state)


def _to_hf_keys(ours):
    blocks_of = dict(_TOWERS)
    renamed, blocks = _renamed_keys(lambda tower, layer: f"{blocks_of[tower]}.resblocks.{layer}.ln_1.weight" in ours)
    hf = {theirs: ours[mine] for theirs, mine in renamed}
    hf.update({"visual_projection.weight": ours["visual.proj"].t(), "text_projection.weight": ours["text_projection"].t()})
    for src, dst in blocks:
        for kind in ("weight", "bias"):
            for name, part in zip("qkv", ours[dst + f"attn.in_proj_{kind}"].chunk(3)):  # (3W, ...) -> q, k, v
                hf[src + f"self_attn.{name}_proj.{kind}"] = part
    return {k: v.detach().cpu().contiguous().clone() for k, v in hf.items()}


def hf_preprocessor_config(preprocess):
    """vidclip preprocess options -> CLIPImageProcessor's preprocessor_config.json."""
    size = preprocess["image_size"] if isinstance(preprocess["image_size"], int) else preprocess["image_size"][0]
    resample = {name: code for code, name in _RESAMPLE.items()}.get(preprocess.get("interpolation"), 3)
    crop = preprocess.get("resize_mode", "shortest") == "shortest"
    return {"image_processor_type": "CLIPImageProcessor", "do_resize": True, "do_center_crop": crop,
            "do_normalize": True, "do_rescale": True, "rescale_factor": 1 / 255, "do_convert_rgb": True,
            "resample": resample, "image_mean": list(preprocess["mean"]), "image_std": list(preprocess["std"]),
            "size": {"shortest_edge": size} if crop else {"height": size, "width": size},
            "crop_size": {"height": size, "width": size}}


def export_hf(model, out):
    """Write `model`'s image and text towers as a Hugging Face CLIPModel folder; returns the folder.

    The temporal adapter is not written: transformers has no video model to hold it.
    """
    from safetensors.torch import save_file

    from vidclip.atomic import atomic_path, write_text_atomic

    config, state = open_clip_to_hf_clip(model.config["clip"], model.clip.state_dict())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "model.safetensors") as tmp:
        save_file(state, str(tmp), metadata={"format": "pt"})
    write_text_atomic(out / "config.json", json.dumps(config, indent=2) + "\n")
    write_text_atomic(out / "preprocessor_config.json", json.dumps(hf_preprocessor_config(model.preprocess_config), indent=2) + "\n")
    return out
