"""Decoding backends, one module each, all with the same `decode(index, ids, *, device)`.

`resolve` turns the user's `backend=` into a module. Nothing here imports an optional
library until a backend is asked for.
"""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType

import torch

# Every backend vidclip knows, in order of preference on the CPU.
BACKENDS = ("pyav", "torchcodec", "decord")


def resolve(backend: str, device: str | torch.device = "cpu") -> tuple[str, ModuleType]:
    """(name, module) for `backend` ("auto" or a name in BACKENDS) on `device`.

    "auto" takes torchcodec for CUDA (the only GPU decoder) and pyav on the CPU: vidclip's PyAV
    loop skips non-reference frames and seeks only across keyframes, which makes it the fastest
    of the three there for sparse and dense requests alike (tools/bench_decode.py).
    Raises ImportError naming the extra to install when a named backend is missing.
    """
    cuda = torch.device(device).type == "cuda"
    if backend == "auto":
        backend = "torchcodec" if cuda else "pyav"
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose 'auto' or one of {BACKENDS}")
    if torch.device(device).type not in ("cpu", "cuda"):
        raise ValueError(f"videos decode on 'cpu' or 'cuda' (torchcodec), not on {device!r}")
    if cuda and backend != "torchcodec":
        raise ValueError(f"device={str(device)!r} needs backend='torchcodec' (NVDEC); {backend!r} decodes on the CPU")
    if cuda and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} asked for, but CUDA is not available")
    module = importlib.import_module(f"vidclip.video.backends.{backend}")
    if hasattr(module, "_import"):  # an optional library: fail now, naming the extra
        module._import()
    return backend, module


def fallback(name: str, module: ModuleType, index) -> tuple[str, ModuleType]:
    """Swap in pyav for a stream that `name` is known to decode wrongly (a warning says so)."""
    reason = module.unsafe(index) if hasattr(module, "unsafe") else None
    if reason is None:
        return name, module
    warnings.warn(f"{index.path}: {reason}; decoding it with pyav instead of {name}", stacklevel=3)
    return resolve("pyav")


def available() -> list[str]:
    """The backends that import on this machine."""
    names = []
    for name in BACKENDS:
        try:
            resolve(name)
        except ImportError:
            continue
        names.append(name)
    return names
