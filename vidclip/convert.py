"""Weights published in other layouts, converted to open_clip's keys (plain JSON + tensors).

Hugging Face `CLIPModel` folders: config.json + model.safetensors / pytorch_model.bin. `transformers`
itself is not needed.
"""

import json
from pathlib import Path

import torch

from vidclip.checkpoint import read_state_dict
from vidclip.errors import CheckpointError


def is_hf_clip(path):
    config = Path(path) / "config.json"
    if not config.is_file():
        return False
    data = json.loads(config.read_text())
    return data.get("model_type") == "clip" or "CLIPModel" in data.get("architectures", [])


def hf_clip_to_open_clip(folder):
    """HF `CLIPModel` folder -> (open_clip model config, open_clip state dict)."""
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
    files = [folder / "model.safetensors", folder / "pytorch_model.bin"]
    weights = next((f for f in files if f.is_file()), None)
    if weights is None:
        raise CheckpointError(f"{folder}: no model.safetensors or pytorch_model.bin")
    return cfg, _convert_hf_keys(read_state_dict(weights))


def _convert_hf_keys(hf):
    out = {"logit_scale": hf["logit_scale"], "visual.proj": hf["visual_projection.weight"].t(),
           "text_projection": hf["text_projection.weight"].t()}
    for tower, prefix, blocks in (("vision_model", "visual.", "visual.transformer"), ("text_model", "", "transformer")):
        layer = 0
        while f"{tower}.encoder.layers.{layer}.layer_norm1.weight" in hf:
            src, dst = f"{tower}.encoder.layers.{layer}.", f"{blocks}.resblocks.{layer}."
            for kind in ("weight", "bias"):
                out[dst + f"attn.in_proj_{kind}"] = torch.cat([hf[src + f"self_attn.{p}_proj.{kind}"] for p in "qkv"])
                for a, b in (("self_attn.out_proj", "attn.out_proj"), ("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"),
                             ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")):
                    out[dst + f"{b}.{kind}"] = hf[src + f"{a}.{kind}"]
            layer += 1
        norm_pairs = {"vision_model": (("pre_layrnorm", "visual.ln_pre"), ("post_layernorm", "visual.ln_post")),
                      "text_model": (("final_layer_norm", "ln_final"),)}[tower]
        for a, b in norm_pairs:
            for kind in ("weight", "bias"):
                out[f"{b}.{kind}"] = hf[f"{tower}.{a}.{kind}"]
    emb = "vision_model.embeddings."
    out["visual.class_embedding"] = hf[emb + "class_embedding"]
    out["visual.conv1.weight"] = hf[emb + "patch_embedding.weight"]
    out["visual.positional_embedding"] = hf[emb + "position_embedding.weight"]
    out["token_embedding.weight"] = hf["text_model.embeddings.token_embedding.weight"]
    out["positional_embedding"] = hf["text_model.embeddings.position_embedding.weight"]
    return out
