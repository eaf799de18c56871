"""Checkpoints: safetensors weights + JSON config, never pickle; foreign weights read safely.

A vidclip checkpoint is a folder holding `model.safetensors` (the config is also stored in its
metadata, so the file alone suffices) and `config.json`. Loading rebuilds the model from the JSON
config and needs no code from the run that saved it. `.pt`/`.bin` weights from elsewhere are read
with `torch.load(weights_only=True)`; a file that holds pickled objects is refused. Rebuilding a
model from a checkpoint is `vidclip.factory.load_checkpoint`; other layouts (Hugging Face) are
converted in `vidclip.convert` (Hugging Face, CLIP4Clip); a training run's resumable state is `vidclip.train.run_state`.
"""

import hashlib
import json
import pickle
from pathlib import Path

import torch

from vidclip.atomic import atomic_path, write_text_atomic
from vidclip.errors import CheckpointError

WEIGHTS, CONFIG, META_KEY = "model.safetensors", "config.json", "vidclip_config"
META_SHA_KEY = "vidclip_config_sha256"  # a changed byte of the config is refused, not built into another model


def save(model, path):
    """Write `model` to a folder (or to a `.safetensors` file); returns the weights path.

    A module without a vidclip `config` (a test model, say) is saved as plain safetensors.
    """
    from safetensors.torch import save_file

    path = Path(path)
    weights = path if path.suffix == ".safetensors" else path / WEIGHTS
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().cpu().contiguous().clone() for name, tensor in model.state_dict().items()}
    config = getattr(model, "config", None)
    text = None if config is None else json.dumps(config, indent=2, sort_keys=True)
    with atomic_path(weights) as tmp:
        save_file(state, str(tmp), metadata=None if text is None else {META_KEY: text, META_SHA_KEY: _sha256(text)})
    if text is not None:
        write_text_atomic(weights.with_suffix(".json") if path.suffix == ".safetensors" else path / CONFIG, text + "\n")
    return weights


def weights_path(path):
    path = Path(path)
    return path / WEIGHTS if path.is_dir() else path


def read_config(path):
    """The vidclip config of a checkpoint folder or file, or None when it is not a vidclip checkpoint."""
    weights = weights_path(path)
    if weights.suffix != ".safetensors" or not weights.is_file():
        return None
    from safetensors import safe_open

    try:
        with safe_open(str(weights), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except Exception as error:  # safetensors' own error type: a truncated or damaged header
        raise CheckpointError(f"{weights} is truncated or corrupted ({error}); save it again or use another "
                              "checkpoint (a run keeps the previous one in last.old/ while it saves)") from None
    text = metadata.get(META_KEY)
    if not text:
        return None
    checksum = metadata.get(META_SHA_KEY)
    extra = set(metadata) - {META_KEY, META_SHA_KEY}
    if (checksum is not None and checksum != _sha256(text)) or (checksum is None and extra):
        raise CheckpointError(f"{weights}: its config was modified or corrupted (checksum mismatch); "
                              "save the checkpoint again")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{weights}: its config is not valid JSON ({error})") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{weights}: its config is not a JSON object")
    return config


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def read_state_dict(path):
    """Tensors from .safetensors, or from .pt/.pth/.bin via torch.load(weights_only=True)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as error:  # safetensors' own error type
            raise CheckpointError(f"{path} is truncated or corrupted ({error})") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"{path} holds pickled Python objects, not just tensors; vidclip never unpickles them "
            f"(that can run arbitrary code). Re-save the tensors only, e.g. as safetensors. ({error})"
        ) from None
    except Exception as error:  # torch raises many types for a file in no format of its own (KeyError, EOFError, ...)
        raise CheckpointError(f"{path} is not a PyTorch weights file, or it is truncated "
                              f"({type(error).__name__}: {error})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}


_ARCH_KEYS = ("model", "adapter", "num_frames", "clip")  # VideoCLIP config keys that fix the weights' shapes


def _describe(config):
    """'ViT-B-32 + glscl, 12 frames' from a VideoCLIP config dict."""
    return f"{config.get('model')} + {config.get('adapter')}, {config.get('num_frames')} frames"


def load_weights(model, path):
    """Load a checkpoint's weights into `model` (strict), refusing another architecture by name.

    For resuming a run into a model that is already built; `vidclip.factory.load_checkpoint`
    builds the model from the checkpoint's own config instead.
    """
    saved = read_config(path)
    if saved is not None and isinstance(getattr(model, "config", None), dict):
        differs = [key for key in _ARCH_KEYS if saved.get(key) != model.config.get(key)]
        if differs:
            raise CheckpointError(
                f"checkpoint {path} holds a {_describe(saved)} model but this run builds "
                f"{_describe(model.config)} (they differ in {', '.join(differs)})")
    state = read_state_dict(weights_path(path))
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong_shape = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong_shape:
        raise CheckpointError(
            f"checkpoint {path} does not fit this model ({type(model).__name__}): "
            f"{len(missing)} missing keys {missing[:3]}, {len(unexpected)} unexpected {unexpected[:3]}, "
            f"{len(wrong_shape)} of another shape {wrong_shape[:3]}"
        )
    model.load_state_dict(state, strict=True)
