"""Fused ops for video CLIP, installed as `vidclip.kernels`.

Each op has a Triton kernel and a plain PyTorch twin with the same signature; `dispatch`
picks Triton for CUDA tensors when triton is installed, the twin otherwise, and
`VIDCLIP_KERNELS=torch|triton` forces one.
"""

from .dispatch import frame_pool_scores, kernel_backend, temporal_attention

__all__ = ["temporal_attention", "frame_pool_scores", "kernel_backend"]
