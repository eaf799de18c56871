"""Synthetic video-text data: coloured shapes that move, grow, fade, recolour and turn, with captions.

Clips need temporal understanding to be told apart: many come with a temporal twin holding the
same frames in reverse order and the reversed action's caption. `generate` writes MP4s with
annotations in MSR-VTT, Charades-STA, Charades-CG, QVHighlights, Kinetics and generic-jsonl form
plus still image-caption pairs; the loaders return the decoded frames as tensors in one call.

    from vidclip.data.synthetic import generate, load_clip_tensor_cache
    manifest = generate("synth", seed=0)
    frames, clips = load_clip_tensor_cache("synth", "train")  # (N, T, 3, H, W) uint8
"""

from importlib import import_module

_PUBLIC = {
    "generate": "vidclip.data.synthetic.build",
    "load_clip_tensor_cache": "vidclip.data.synthetic.cache",
    "load_moment_tensor_cache": "vidclip.data.synthetic.cache",
    "load_image_pairs": "vidclip.data.synthetic.cache",
    "read_manifest": "vidclip.data.synthetic.cache",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'vidclip.data.synthetic' has no attribute {name!r}")
    return getattr(import_module(_PUBLIC[name]), name)


def __dir__():
    return __all__
