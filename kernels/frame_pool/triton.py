"""Triton frame-pool scoring: text-conditioned softmax pooling over frames, fused per (text, video) tile.

One program owns BLOCK_M texts x BLOCK_V videos. Its logits tile (BLOCK_M, BLOCK_V * BLOCK_T) is an
ordinary GEMM tile over D; the softmax over frames, text . pooled = sum_t w_t logit_t and
|pooled|^2 = w^T G w all happen in registers, so neither (Nt, Nv, T) nor (Nt, Nv, D) ever reaches
global memory. Each video's T x T Gram matrix G is computed once by a small precompute kernel.
Forward only: training uses the twin.
"""

import torch
import triton
import triton.language as tl


@triton.jit
def frame_gram_kernel(
    f_ptr, g_ptr, sf_v, sf_t, sf_d, T, D,
    PRECISION: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_K: tl.constexpr,
):
    """G[v] = F_v F_v^T in fp32, zero-padded to (BLOCK_T, BLOCK_T); one program per video."""
    v = tl.program_id(0).to(tl.int64)
    offs_t = tl.arange(0, BLOCK_T)
    offs_k = tl.arange(0, BLOCK_K)
    acc = tl.zeros((BLOCK_T, BLOCK_T), dtype=tl.float32)
    for k0 in range(0, D, BLOCK_K):
        ptrs = f_ptr + v * sf_v + offs_t[:, None] * sf_t + (k0 + offs_k)[None, :] * sf_d
        f = tl.load(ptrs, mask=(offs_t[:, None] < T) & ((k0 + offs_k)[None, :] < D), other=0.0)  # (BLOCK_T, BLOCK_K)
        acc += tl.dot(f, tl.trans(f), input_precision=PRECISION)
    g_ptrs = g_ptr + v * BLOCK_T * BLOCK_T + offs_t[:, None] * BLOCK_T + offs_t[None, :]
    tl.store(g_ptrs, acc)


@triton.jit
def frame_pool_scores_kernel(
    x_ptr, f_ptr, g_ptr, mask_ptr, out_ptr,
    sx_n, sx_d, sf_v, sf_t, sf_d, so_n, so_v,
    NT, NV, T, D, temperature,
    HAS_MASK: tl.constexpr, PRECISION: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_V: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid_v, pid_m = tl.program_id(0), tl.program_id(1)  # videos on axis 0: up to 2^31 - 1 programs
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)  # texts
    offs_v = pid_v * BLOCK_V + tl.arange(0, BLOCK_V)  # videos
    offs_t = tl.arange(0, BLOCK_T)
    offs_k = tl.arange(0, BLOCK_K)
    # GEMM columns enumerate (video, frame) pairs of this tile: c = v * BLOCK_T + t
    col_v = pid_v * BLOCK_V + tl.arange(0, BLOCK_V * BLOCK_T) // BLOCK_T
    col_t = tl.arange(0, BLOCK_V * BLOCK_T) % BLOCK_T
    col_ok = (col_v < NV) & (col_t < T)

    logits = tl.zeros((BLOCK_M, BLOCK_V * BLOCK_T), dtype=tl.float32)
    text_sq = tl.zeros((BLOCK_M,), dtype=tl.float32)
    for k0 in range(0, D, BLOCK_K):
        k_ok = (k0 + offs_k) < D
        x = tl.load(
            x_ptr + offs_m.to(tl.int64)[:, None] * sx_n + (k0 + offs_k)[None, :] * sx_d,
            mask=(offs_m[:, None] < NT) & k_ok[None, :], other=0.0,
        )  # (BLOCK_M, BLOCK_K)
        f = tl.load(
            f_ptr + col_v.to(tl.int64)[None, :] * sf_v + col_t[None, :] * sf_t + (k0 + offs_k)[:, None] * sf_d,
            mask=col_ok[None, :] & k_ok[:, None], other=0.0,
        )  # (BLOCK_K, BLOCK_V * BLOCK_T)
        logits = tl.dot(x, f, logits, input_precision=PRECISION)
        x32 = x.to(tl.float32)
        text_sq += tl.sum(x32 * x32, axis=1)
    logits = tl.reshape(logits, (BLOCK_M, BLOCK_V, BLOCK_T))

    valid = (offs_v[:, None] < NV) & (offs_t[None, :] < T)  # (BLOCK_V, BLOCK_T)
    if HAS_MASK:
        frame_ok = tl.load(mask_ptr + offs_v.to(tl.int64)[:, None] * T + offs_t[None, :], mask=valid, other=0)
        valid = valid & (frame_ok != 0)
    scaled = tl.where(valid[None, :, :], logits / temperature, float("-inf"))
    row_max = tl.max(scaled, axis=2)
    row_max = tl.where(row_max == float("-inf"), 0.0, row_max)  # video without valid frames
    e = tl.where(valid[None, :, :], tl.exp(scaled - row_max[:, :, None]), 0.0)
    denom = tl.sum(e, axis=2)
    w = e / tl.where(denom > 0, denom, 1.0)[:, :, None]  # (BLOCK_M, BLOCK_V, BLOCK_T); all-zero when empty
    pooled_dot = tl.sum(w * logits, axis=2)  # (BLOCK_M, BLOCK_V): text . sum_t w_t f_t

    g = tl.load(
        g_ptr + offs_v.to(tl.int64)[:, None, None] * BLOCK_T * BLOCK_T
        + offs_t[None, :, None] * BLOCK_T + offs_t[None, None, :],
        mask=(offs_v < NV)[:, None, None], other=0.0,
    )  # (BLOCK_V, BLOCK_T, BLOCK_T)
    w_v = tl.permute(w, (1, 0, 2))  # (BLOCK_V, BLOCK_M, BLOCK_T)
    wg = tl.dot(w_v, g, input_precision="ieee")  # (BLOCK_V, BLOCK_M, BLOCK_T) = w G, batched over videos
    pooled_sq = tl.trans(tl.sum(wg * w_v, axis=2))  # (BLOCK_M, BLOCK_V): w^T G w = |sum_t w_t f_t|^2

    norms = tl.sqrt(tl.maximum(pooled_sq, 1e-12)) * tl.maximum(tl.sqrt(text_sq), 1e-12)[:, None]
    score = pooled_dot / norms
    out_ptrs = out_ptr + offs_m.to(tl.int64)[:, None] * so_n + offs_v[None, :] * so_v
    tl.store(out_ptrs, score.to(out_ptr.dtype.element_ty), mask=(offs_m[:, None] < NT) & (offs_v[None, :] < NV))


def _empty(shape, dtype, device):
    """Buffer allocation, one place for tests to poison (fill with NaN) every buffer the kernels write."""
    return torch.empty(shape, dtype=dtype, device=device)


def frame_pool_scores_fwd(text, frames, frame_mask, temperature):
    num_texts, dim = text.shape
    num_videos, num_frames, _ = frames.shape
    precision = "ieee" if text.dtype == torch.float32 else "tf32"  # fp32 stays exact
    block_t = max(16, triton.next_power_of_2(num_frames))
    block_v = max(1, 128 // block_t)
    block_k = min(64, max(16, triton.next_power_of_2(dim)))

    gram = _empty((num_videos, block_t, block_t), torch.float32, frames.device)  # (Nv, BLOCK_T, BLOCK_T)
    if num_videos:
        frame_gram_kernel[(num_videos,)](
            frames, gram, *frames.stride(), num_frames, dim, PRECISION=precision, BLOCK_T=block_t, BLOCK_K=block_k,
        )
    if frame_mask is None:
        mask, has_mask = torch.empty(1, dtype=torch.uint8, device=text.device), False
    else:
        expected = (num_videos, num_frames)
        assert frame_mask.shape == expected, f"frame_mask {tuple(frame_mask.shape)} != {expected}"
        mask, has_mask = frame_mask.to(device=text.device, dtype=torch.uint8).contiguous(), True  # (Nv, T)

    out = _empty((num_texts, num_videos), text.dtype, text.device)  # (Nt, Nv)
    block_m = 64
    grid = (triton.cdiv(num_videos, block_v), triton.cdiv(num_texts, block_m))
    if num_texts and num_videos:
        frame_pool_scores_kernel[grid](
            text, frames, gram, mask, out, *text.stride(), *frames.stride(), *out.stride(),
            num_texts, num_videos, num_frames, dim, float(temperature), HAS_MASK=has_mask, PRECISION=precision,
            BLOCK_M=block_m, BLOCK_V=block_v, BLOCK_T=block_t, BLOCK_K=block_k, num_warps=8,
        )
    return out


def frame_pool_scores(text, frames, *, frame_mask=None, temperature):
    """Same contract as `reference.frame_pool_scores`: (Nt, D) x (Nv, T, D) -> (Nt, Nv). Forward only."""
    assert text.dim() == 2 and frames.dim() == 3, f"want text (Nt, D), frames (Nv, T, D): {text.shape}, {frames.shape}"
    assert text.shape[1] == frames.shape[2], f"text dim {text.shape[1]} != frame dim {frames.shape[2]}"
    if torch.is_grad_enabled() and (text.requires_grad or frames.requires_grad):
        raise NotImplementedError("the Triton frame_pool_scores is forward-only: train with VIDCLIP_KERNELS=torch")
    dtype = torch.promote_types(text.dtype, frames.dtype)
    out = frame_pool_scores_fwd(text.to(dtype), frames.to(dtype), frame_mask, temperature)
    return out.to(text.dtype)
