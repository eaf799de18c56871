"""CLIP4Clip's published checkpoints (meanP, seqTransf) -> vidclip checkpoints with the same outputs.

CLIP4Clip (github.com/ArrowLuo/CLIP4Clip) saves `pytorch_model.bin.N`, a state dict holding its CLIP
in OpenAI's layout under `clip.` (the keys open_clip's CLIP uses too) and, for seqTransf,
`frame_position_embeddings.weight` (one row per text position) and `transformerClip.resblocks.N.*`
(OpenAI residual blocks with QuickGELU, `width // 64` heads). Its seqTransf computes
frames + transformer(frames + positions); vidclip's temporal transformer computes
frames + out(transformer(frames + positions)), so `out` becomes the identity. Both then take
meanP: normalise each frame, masked mean, normalise. Weights are read with
torch.load(weights_only=True), never unpickled.
"""

from pathlib import Path

import torch

from vidclip.checkpoint import read_state_dict, save
from vidclip.errors import CheckpointError

# keys of CLIP4Clip options vidclip has no adapter for -> what they are
_UNSUPPORTED = {
    "clip.visual.conv2.weight": "--linear_patch 3d (a 3D patch embedding)",
    "lstm_visual.": "--sim_header seqLSTM",
    "cross.": "a cross-encoder (--sim_header tightTransf, or training without --loose_type)",
    "clip.visual.layer1.": "a ResNet image tower",
}


def import_clip4clip(path, out, *, num_frames=12, max_words=32):
    """Write CLIP4Clip checkpoint `path` as a vidclip checkpoint folder `out`; returns the model.

    meanP checkpoints become the `meanp` adapter, seqTransf ones `seqtransf` with the checkpoint's
    layers and frame positions. num_frames: frames per clip; max_words: text tokens, SOT and EOT
    included (CLIP4Clip's --max_frames and --max_words; 12 and 32 in its MSR-VTT runs). Its text
    tower reads the first max_words positions only, so the imported one keeps those rows.
    """
    state = read_state_dict(path)
    for prefix, option in _UNSUPPORTED.items():
        if any(key.startswith(prefix) for key in state):
            raise CheckpointError(f"{path} uses {option}, which vidclip has no adapter for; "
                                  "meanP and seqTransf checkpoints import")
    if not any(key.startswith("clip.") for key in state):
        raise CheckpointError(f"{path} is not a CLIP4Clip checkpoint (no clip.* keys)")
    clip_state = {k[len("clip."):]: v.float() for k, v in state.items()
                  if k.startswith("clip.") and k[len("clip."):] not in ("input_resolution", "context_length", "vocab_size")}
    clip_cfg = openai_clip_config(clip_state)
    if not 2 <= max_words <= clip_cfg["text_cfg"]["context_length"]:
        raise CheckpointError(f"max_words={max_words}: {path} has text positions for 2 to "
                              f"{clip_cfg['text_cfg']['context_length']} tokens")
    clip_state["positional_embedding"] = clip_state["positional_embedding"][:max_words]  # (max_words, W)
    clip_cfg["text_cfg"]["context_length"] = max_words
    seq = "frame_position_embeddings.weight" in state
    temporal = {k[len("transformerClip."):]: v.float() for k, v in state.items() if k.startswith("transformerClip.")}
    options = {}
    if seq:
        positions = state["frame_position_embeddings.weight"].float()  # (rows, D)
        if positions.shape[1] != clip_cfg["embed_dim"] or clip_cfg["text_cfg"]["width"] != clip_cfg["embed_dim"]:
            raise CheckpointError(f"{path}: its temporal transformer is {clip_cfg['text_cfg']['width']} wide but the "
                                  f"embeddings {clip_cfg['embed_dim']}; vidclip's seqtransf needs them equal")
        options = {"layers": _count_blocks(temporal, "resblocks."), "max_frames": positions.shape[0]}
        if num_frames > positions.shape[0]:
            raise CheckpointError(f"num_frames={num_frames} > the {positions.shape[0]} frame positions in {path}")
    model = _build(clip_cfg, "seqtransf" if seq else "meanp", options, num_frames, source=path)
    _load(model.clip, clip_state, path)
    if seq:
        width = clip_cfg["embed_dim"]
        temporal = {f"transformer.{k}": v for k, v in temporal.items()}
        temporal.update({"position": positions, "out.weight": torch.eye(width), "out.bias": torch.zeros(width)})
        _load(model.adapter.temporal, temporal, path)
    save(model, out)
    return model


def openai_clip_config(state):
    """open_clip config of an OpenAI-layout ViT CLIP state dict (as CLIP4Clip's own code reads it)."""
    try:
        patch = state["visual.conv1.weight"].shape[-1]
        grid = round((state["visual.positional_embedding"].shape[0] - 1) ** 0.5)
        width = state["ln_final.weight"].shape[0]
        return {
            "embed_dim": state["text_projection"].shape[1], "quick_gelu": True,
            "vision_cfg": {"image_size": patch * grid, "patch_size": patch, "width": state["visual.conv1.weight"].shape[0],
                           "layers": _count_blocks(state, "visual.transformer.resblocks.")},
            "text_cfg": {"context_length": state["positional_embedding"].shape[0],
                         "vocab_size": state["token_embedding.weight"].shape[0], "width": width, "heads": width // 64,
                         "layers": _count_blocks(state, "transformer.resblocks.")},
        }
    except KeyError as error:
        raise CheckpointError(f"not an OpenAI-layout CLIP: no {error}") from None


def _count_blocks(state, prefix):
    return len({key[len(prefix):].split(".")[0] for key in state if key.startswith(prefix)})


def _build(clip_cfg, adapter, options, num_frames, *, source):
    from vidclip.factory import _preprocess, build_model

    config = {"model": model_name(clip_cfg), "clip": clip_cfg, "adapter": adapter, "adapter_options": options,
              "num_frames": num_frames, "preprocess": _preprocess(clip_cfg, {}), "source": str(source)}
    return build_model(config)


def model_name(clip_cfg):
    """'clip4clip-ViT-B-32-quickgelu' when the towers are that architecture's (CLIP4Clip's shorter text aside)."""
    from vidclip.factory import arch_differences, list_models, model_config

    for name in list_models():
        named = model_config(name)
        named = {**named, "text_cfg": {**named["text_cfg"], "context_length": clip_cfg["text_cfg"]["context_length"]}}
        if not arch_differences(named, clip_cfg):
            return f"clip4clip-{name}"
    return "clip4clip-vit"


def _load(module, state, path):
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise CheckpointError(f"{path}: the weights do not fit a CLIP4Clip model as vidclip rebuilds it "
                              f"({str(error).splitlines()[1].strip()})") from None
