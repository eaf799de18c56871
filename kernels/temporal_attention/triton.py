"""Triton temporal attention: each token attends to its own position in the other frames of its video.

q, k, v stay in the ViT's folded layout (B*T, N, H, Dh) and are read through their strides, so
the two permute copies around the tiny (T = 8-16) attention of the twin disappear. One program
owns one (video, token, head) triple: the whole T x T problem fits in one tile, so the forward
needs no online softmax and the backward no atomics (it recomputes P instead of storing LSE).
T and Dh are padded to >= 16 inside the kernel because fp16 `tl.dot` needs K >= 16 on the GPU.
"""

import torch
import triton
import triton.language as tl


@triton.jit
def _load_tile(ptr, base, stride_t, stride_d, offs_t, offs_d, T, D):
    """Load a (BLOCK_T, BLOCK_D) tile of rows t = frames of one video, zero-padded."""
    ptrs = ptr + base + offs_t[:, None] * stride_t + offs_d[None, :] * stride_d
    return tl.load(ptrs, mask=(offs_t[:, None] < T) & (offs_d[None, :] < D), other=0.0)


@triton.jit
def _probabilities(q, k, mask_ptr, b, offs_t, scale, T, HAS_MASK: tl.constexpr, PRECISION: tl.constexpr):
    """Softmax over keys of scale * q k^T, fp32 (BLOCK_T, BLOCK_T); padded and masked keys get 0."""
    keys_valid = offs_t < T
    if HAS_MASK:
        frame_ok = tl.load(mask_ptr + b * T + offs_t, mask=keys_valid, other=0) != 0
        # a video without any valid frame attends to all of them, as the twin does
        none_ok = tl.sum(frame_ok.to(tl.int32), axis=0) == 0
        keys_valid = keys_valid & (frame_ok | none_ok)
    s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * scale  # (BLOCK_T, BLOCK_T)
    s = tl.where(keys_valid[None, :], s, float("-inf"))
    p = tl.exp(s - tl.max(s, axis=1)[:, None])
    return p / tl.sum(p, axis=1)[:, None]


@triton.jit
def _attention_tiles(q_ptr, k_ptr, v_ptr, mask_ptr, b, n, h, sq_b, sq_n, sq_h, sq_d, sk_b, sk_n, sk_h, sk_d,
                     sv_b, sv_n, sv_h, sv_d, offs_t, offs_d, T, D, scale,
                     HAS_MASK: tl.constexpr, PRECISION: tl.constexpr):
    """q, k, v tiles (BLOCK_T, BLOCK_D) of one (video, token, head) and its probabilities (BLOCK_T, BLOCK_T)."""
    q = _load_tile(q_ptr, b * T * sq_b + n * sq_n + h * sq_h, sq_b, sq_d, offs_t, offs_d, T, D)
    k = _load_tile(k_ptr, b * T * sk_b + n * sk_n + h * sk_h, sk_b, sk_d, offs_t, offs_d, T, D)
    v = _load_tile(v_ptr, b * T * sv_b + n * sv_n + h * sv_h, sv_b, sv_d, offs_t, offs_d, T, D)
    p = _probabilities(q, k, mask_ptr, b, offs_t, scale, T, HAS_MASK, PRECISION)
    return q, k, v, p


@triton.jit
def temporal_attention_fwd_kernel(
    q_ptr, k_ptr, v_ptr, o_ptr, mask_ptr,
    sq_b, sq_n, sq_h, sq_d,
    sk_b, sk_n, sk_h, sk_d,
    sv_b, sv_n, sv_h, sv_d,
    so_b, so_n, so_h, so_d,
    N, H, T, D, scale,
    HAS_MASK: tl.constexpr, PRECISION: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr,
):
    pid = tl.program_id(0).to(tl.int64)  # one program per (video b, token n, head h)
    b, n, h = pid // (N * H), (pid // H) % N, pid % H
    offs_t = tl.arange(0, BLOCK_T)
    offs_d = tl.arange(0, BLOCK_D)
    q, k, v, p = _attention_tiles(q_ptr, k_ptr, v_ptr, mask_ptr, b, n, h, sq_b, sq_n, sq_h, sq_d, sk_b, sk_n, sk_h,
                                  sk_d, sv_b, sv_n, sv_h, sv_d, offs_t, offs_d, T, D, scale, HAS_MASK, PRECISION)
    o = tl.dot(p.to(v.dtype), v, input_precision=PRECISION)  # (BLOCK_T, BLOCK_D)
    o_ptrs = o_ptr + b * T * so_b + n * so_n + h * so_h + offs_t[:, None] * so_b + offs_d[None, :] * so_d
    tl.store(o_ptrs, o.to(o_ptr.dtype.element_ty), mask=(offs_t[:, None] < T) & (offs_d[None, :] < D))


@triton.jit
def temporal_attention_bwd_kernel(
    q_ptr, k_ptr, v_ptr, do_ptr, dq_ptr, dk_ptr, dv_ptr, mask_ptr,
    sq_b, sq_n, sq_h, sq_d,
    sk_b, sk_n, sk_h, sk_d,
    sv_b, sv_n, sv_h, sv_d,
    sdo_b, sdo_n, sdo_h, sdo_d,
    sg_b, sg_n, sg_h, sg_d,  # dq, dk, dv share one contiguous layout
    N, H, T, D, scale,
    HAS_MASK: tl.constexpr, PRECISION: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_D: tl.constexpr,
):
    pid = tl.program_id(0).to(tl.int64)
    b, n, h = pid // (N * H), (pid // H) % N, pid % H
    offs_t = tl.arange(0, BLOCK_T)
    offs_d = tl.arange(0, BLOCK_D)
    q, k, v, p = _attention_tiles(q_ptr, k_ptr, v_ptr, mask_ptr, b, n, h, sq_b, sq_n, sq_h, sq_d, sk_b, sk_n, sk_h,
                                  sk_d, sv_b, sv_n, sv_h, sv_d, offs_t, offs_d, T, D, scale, HAS_MASK, PRECISION)
    do = _load_tile(do_ptr, b * T * sdo_b + n * sdo_n + h * sdo_h, sdo_b, sdo_d, offs_t, offs_d, T, D)
    dv = tl.dot(tl.trans(p.to(do.dtype)), do, input_precision=PRECISION)  # (BLOCK_T, BLOCK_D)
    dp = tl.dot(do, tl.trans(v), input_precision=PRECISION)  # (BLOCK_T, BLOCK_T)
    ds = p * (dp - tl.sum(p * dp, axis=1)[:, None]) * scale  # softmax backward; padded rows/keys are 0
    dq = tl.dot(ds.to(k.dtype), k, input_precision=PRECISION)
    dk = tl.dot(tl.trans(ds.to(q.dtype)), q, input_precision=PRECISION)
    offs = b * T * sg_b + n * sg_n + h * sg_h + offs_t[:, None] * sg_b + offs_d[None, :] * sg_d
    io_mask = (offs_t[:, None] < T) & (offs_d[None, :] < D)
    tl.store(dq_ptr + offs, dq.to(dq_ptr.dtype.element_ty), mask=io_mask)
    tl.store(dk_ptr + offs, dk.to(dk_ptr.dtype.element_ty), mask=io_mask)
    tl.store(dv_ptr + offs, dv.to(dv_ptr.dtype.element_ty), mask=io_mask)


def _empty(shape, dtype, device):
    """Output allocation, one place for tests to poison (fill with NaN) every buffer the kernels write."""
    return torch.empty(shape, dtype=dtype, device=device)


def _launch_config(num_frames, head_dim, dtype):
    block_t = max(16, triton.next_power_of_2(num_frames))
    block_d = max(16, triton.next_power_of_2(head_dim))
    precision = "ieee" if dtype == torch.float32 else "tf32"  # fp32 stays exact; fp16 ignores it
    return dict(BLOCK_T=block_t, BLOCK_D=block_d, PRECISION=precision, num_warps=4 if block_t * block_d > 2048 else 2)


def _mask_arg(frame_mask, batch, num_frames, device):
    if frame_mask is None:
        return torch.empty(1, dtype=torch.uint8, device=device), False
    assert frame_mask.shape == (batch, num_frames), f"frame_mask {tuple(frame_mask.shape)} != {(batch, num_frames)}"
    return frame_mask.to(device=device, dtype=torch.uint8).contiguous(), True  # (B, T)


def temporal_attention_fwd(q, k, v, num_frames, scale, frame_mask):
    batch_frames, tokens, heads, head_dim = q.shape
    batch = batch_frames // num_frames
    out = _empty(q.shape, q.dtype, q.device)  # (B*T, N, H, Dh)
    mask, has_mask = _mask_arg(frame_mask, batch, num_frames, q.device)
    temporal_attention_fwd_kernel[(batch * tokens * heads,)](
        q, k, v, out, mask, *q.stride(), *k.stride(), *v.stride(), *out.stride(),
        tokens, heads, num_frames, head_dim, scale, HAS_MASK=has_mask,
        **_launch_config(num_frames, head_dim, q.dtype),
    )
    return out


def temporal_attention_bwd(q, k, v, do, num_frames, scale, frame_mask):
    batch_frames, tokens, heads, head_dim = q.shape
    batch = batch_frames // num_frames
    dq, dk, dv = (_empty(q.shape, x.dtype, x.device) for x in (q, k, v))  # (B*T, N, H, Dh) each
    mask, has_mask = _mask_arg(frame_mask, batch, num_frames, q.device)
    temporal_attention_bwd_kernel[(batch * tokens * heads,)](
        q, k, v, do, dq, dk, dv, mask, *q.stride(), *k.stride(), *v.stride(), *do.stride(), *dq.stride(),
        tokens, heads, num_frames, head_dim, scale, HAS_MASK=has_mask,
        **_launch_config(num_frames, head_dim, q.dtype),
    )
    return dq, dk, dv


class TemporalAttentionFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, num_frames, scale, frame_mask):
        ctx.save_for_backward(q, k, v, frame_mask)
        ctx.num_frames, ctx.scale = num_frames, scale
        return temporal_attention_fwd(q, k, v, num_frames, scale, frame_mask)

    @staticmethod
    def backward(ctx, do):
        q, k, v, frame_mask = ctx.saved_tensors
        dq, dk, dv = temporal_attention_bwd(q, k, v, do, ctx.num_frames, ctx.scale, frame_mask)
        return dq, dk, dv, None, None, None


def temporal_attention(q, k, v, num_frames, *, scale=None, frame_mask=None):
    """Same contract as `reference.temporal_attention`: (B*T, N, H, Dh) in and out."""
    assert q.dim() == 4, f"q must be (B*T, N, H, Dh), got {tuple(q.shape)}"
    assert q.shape == k.shape == v.shape, f"q, k, v shapes differ: {q.shape}, {k.shape}, {v.shape}"
    assert q.dtype == k.dtype == v.dtype, f"q, k, v dtypes differ: {q.dtype}, {k.dtype}, {v.dtype}"
    assert q.shape[0] % num_frames == 0, f"leading dim {q.shape[0]} is not a multiple of num_frames={num_frames}"
    scale = q.shape[-1] ** -0.5 if scale is None else float(scale)
    return TemporalAttentionFunction.apply(q, k, v, num_frames, scale, frame_mask)
