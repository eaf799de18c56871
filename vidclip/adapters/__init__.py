"""Adapters, one idea per file; each registers itself in `vidclip.registry.ADAPTERS` on import.

Imported in the order the CLI help and the demo list them.
"""

from vidclip.adapters import pooling, temporal_prompts, dynamic_injection, global_local  # noqa: F401  (register)
from vidclip.adapters.base import Adapter, build_adapter, register
from vidclip.registry import ADAPTERS

__all__ = ["ADAPTERS", "Adapter", "build_adapter", "register"]
