"""The recipes (YAML), installed as `vidclip.configs` so the demo and `vidclip train` find them in a wheel.

`vidclip.configs.path("synthetic_pretrain.yaml")` is a recipe's file, wherever vidclip is installed.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def path(name: str) -> Path:
    """The shipped recipe `name` (relative to this folder)."""
    return ROOT / name
