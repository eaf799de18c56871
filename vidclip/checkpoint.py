"""Checkpoints: safetensors weights + JSON config, never pickle; foreign weights read safely.

A vidclip checkpoint is a folder holding `model.safetensors` (the config is also stored in its
metadata, so the file alone suffices) and `config.json`. Loading rebuilds the model from the JSON
config and needs no code from the run that saved it. `.pt`/`.bin` weights from elsewhere are read
with `torch.load(weights_only=True)`; a file that holds pickled objects is refused. Hugging Face
`CLIPModel` folders are converted to open_clip keys (plain JSON + tensors; `transformers` itself
is not needed).
"""

import json
import pickle
from pathlib import Path

import torch

from vidclip.atomic import atomic_path, write_text_atomic

WEIGHTS, CONFIG, META_KEY = "model.safetensors", "config.json", "vidclip_config"


class CheckpointError(ValueError):
    """A checkpoint that cannot or must not be loaded."""


def save(model, path):
    """Write `model` to a folder (or to a `.safetensors` file); returns the weights path."""
    from safetensors.torch import save_file

    path = Path(path)
    weights = path if path.suffix == ".safetensors" else path / WEIGHTS
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().cpu().contiguous().clone() for name, tensor in model.state_dict().items()}
    text = json.dumps(model.config, indent=2, sort_keys=True)
    with atomic_path(weights) as tmp:
        save_file(state, str(tmp), metadata={META_KEY: text})
    write_text_atomic(weights.with_suffix(".json") if path.suffix == ".safetensors" else path / CONFIG, text + "\n")
    return weights


def _weights_path(path):
    path = Path(path)
    return path / WEIGHTS if path.is_dir() else path


def read_config(path):
    """The vidclip config of a checkpoint folder or file, or None when it is not a vidclip checkpoint."""
    weights = _weights_path(path)
    if weights.suffix != ".safetensors" or not weights.is_file():
        return None
    from safetensors import safe_open

    with safe_open(str(weights), framework="pt") as handle:
        text = (handle.metadata() or {}).get(META_KEY)
    return json.loads(text) if text else None


def load_checkpoint(path, *, device="cpu"):
    """Rebuild a VideoCLIP from a vidclip checkpoint (folder or .safetensors)."""
    from vidclip.factory import build_model

    config = read_config(path)
    if config is None:
        raise CheckpointError(f"{path} is not a vidclip checkpoint (no {WEIGHTS} with a vidclip config)")
    model = build_model(config)
    model.load_state_dict(read_state_dict(_weights_path(path)), strict=True)
    return model.to(device)


def read_state_dict(path):
    """Tensors from .safetensors, or from .pt/.pth/.bin via torch.load(weights_only=True)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"{path} holds pickled Python objects, not just tensors; vidclip never unpickles them "
            f"(that can run arbitrary code). Re-save the tensors only, e.g. as safetensors. ({error})"
        ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}


# ---------------------------------------------------------------- Hugging Face CLIPModel folders
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
