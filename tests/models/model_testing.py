"""Shared helpers for the model tests (a unique module name: tests are not packages)."""

import torch

import vidclip
from vidclip.adapters import ADAPTERS

TINY_ARCHS = [name for name in vidclip.list_models() if name.startswith(("tiny-", "demo-"))]
ADAPTER_NAMES = ADAPTERS.names()
CAPTIONS = ["a red circle moves to the left", "a small blue square grows then fades"]


def image_size(model):
    return model.preprocess_config["image_size"]


def random_frames(model, batch=2, num_frames=3):
    size = image_size(model)
    return torch.randn(batch, num_frames, 3, size, size)


def perturb_new_parameters(model, scale=0.2):
    """Move the adapter off its identity init (zero gates / projections) so it can see time."""
    with torch.no_grad():
        for param in model.adapter.parameters():
            param.add_(torch.randn_like(param) * scale)


