"""Choose the Triton kernel or its PyTorch twin for each call (no work at import time)."""

import importlib.util
import os

import torch

from .frame_pool import reference as frame_pool_reference
from .temporal_attention import reference as temporal_attention_reference

_VALID = ("auto", "torch", "triton")


def kernel_backend(tensor: torch.Tensor) -> str:
    """'triton' or 'torch' for an op whose inputs live where `tensor` lives."""
    choice = os.environ.get("VIDCLIP_KERNELS", "auto").strip().lower() or "auto"
    if choice not in _VALID:
        raise ValueError(f"VIDCLIP_KERNELS={choice!r}: expected one of {', '.join(_VALID)}")
    triton_installed = importlib.util.find_spec("triton") is not None
    if choice == "triton":
        if not triton_installed:
            raise ImportError("VIDCLIP_KERNELS=triton needs triton: pip install 'vidclip[triton]'")
        interpreted = os.environ.get("TRITON_INTERPRET") == "1"
        if not (tensor.is_cuda or interpreted):
            raise ValueError("VIDCLIP_KERNELS=triton needs CUDA tensors (or TRITON_INTERPRET=1 on CPU)")
        return "triton"
    if choice == "torch":
        return "torch"
    return "triton" if tensor.is_cuda and triton_installed else "torch"


def temporal_attention(q, k, v, num_frames, *, scale=None, frame_mask=None):
    """Attention across the frames of each video, per token position and head.

    q, k, v: (B*T, N, H, Dh), frames folded into the batch as inside a ViT block.
    frame_mask: optional (B, T) bool, True for real frames; padding frames are never attended to.
    Returns (B*T, N, H, Dh).
    """
    if kernel_backend(q) == "triton":
        from .temporal_attention.triton import temporal_attention as op
    else:
        op = temporal_attention_reference.temporal_attention
    return op(q, k, v, num_frames, scale=scale, frame_mask=frame_mask)


def frame_pool_scores(text, frames, *, frame_mask=None, temperature):
    """GLSCL's text-conditioned frame pooling score for every (text, video) pair.

    text: (Nt, D), frames: (Nv, T, D), raw or L2-normalised (a cosine either way); frame_mask: (Nv, T) bool.
    score[i, j] = cos(text_i, sum_t w_ijt frames_jt), w_ij = softmax_t(text_i . frames_jt / temperature).
    Returns (Nt, Nv) without materialising (Nt, Nv, T, D). The Triton kernel is forward-only
    (retrieval, re-ranking): when autograd needs gradients the twin runs instead.
    """
    needs_grad = torch.is_grad_enabled() and (text.requires_grad or frames.requires_grad)
    if kernel_backend(text) == "triton" and not needs_grad:
        from .frame_pool.triton import frame_pool_scores as op
    else:
        op = frame_pool_reference.frame_pool_scores
    return op(text, frames, frame_mask=frame_mask, temperature=temperature)
