"""Adapters (one idea per file) and the registry that `create_model(adapter=...)` reads."""

from vidclip.modules import dynamic_injection, global_local, pooling, temporal_prompts  # noqa: F401  (register)
from vidclip.modules.adapters import ADAPTERS, Adapter, build_adapter, register

__all__ = ["ADAPTERS", "Adapter", "build_adapter", "register"]
