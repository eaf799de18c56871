"""vidclip: image-text CLIP towers (open_clip) adapted to video.

Only the public API lives here, resolved lazily so `import vidclip` stays cheap (no torch
import, no GPU probing, no optional backend).
"""

from importlib import import_module

__version__ = "0.1.0"

# public name -> module that defines it
_PUBLIC = {
    "read_frames": "vidclip.video",
    "VideoClip": "vidclip.video",
    "VideoDecodeError": "vidclip.errors",
    "VidclipError": "vidclip.errors",
    "Pipeline": "vidclip.pipeline",
    "create_model": "vidclip.factory",
    "list_models": "vidclip.factory",
    "load": "vidclip.api",
    "VideoCLIP": "vidclip.model",
    "VideoIndex": "vidclip.search.index",
    "export_hf": "vidclip.convert.hf",
    "import_clip4clip": "vidclip.convert.clip4clip",
}

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'vidclip' has no attribute {name!r}")
    value = getattr(import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
