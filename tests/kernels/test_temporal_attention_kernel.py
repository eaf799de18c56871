import pytest
import torch

from vidclip.kernels.temporal_attention import reference

# (B, T, N, H, Dh, dtype, masked, scale): the awkward sizes without a cartesian product
# (the interpreter runs one program per (video, token, head): keep B * N * H small)
CASES = [
    (2, 1, 50, 1, 16, torch.float32, False, None),
    (2, 3, 1, 2, 64, torch.float16, True, None),
    (2, 8, 197, 1, 16, torch.float32, True, None),
    (1, 12, 198, 1, 64, torch.float16, False, 0.3),
    (3, 12, 1, 3, 64, torch.float32, True, 0.3),
    (2, 8, 50, 2, 64, torch.float16, True, None),
    (1, 3, 197, 1, 16, torch.float16, False, None),
]
TOLERANCE = {torch.float32: (1e-5, 1e-5), torch.float16: (3e-3, 1e-2), torch.bfloat16: (2e-2, 5e-2)}  # (fwd, grad)


def _case_ids(case):
    b, t, n, h, d, dtype, masked, scale = case
    return f"B{b}-T{t}-N{n}-H{h}-D{d}-{str(dtype)[6:]}{'-mask' if masked else ''}{f'-s{scale}' if scale else ''}"


def _frame_mask(batch, frames, device):
    """Trailing padding as a collate makes it; video 0 has no valid frame at all."""
    lengths = torch.randint(1, frames + 1, (batch,))
    lengths[0] = 0
    return (torch.arange(frames)[None, :] < lengths[:, None]).to(device)  # (B, T)


def _qkv(batch, frames, tokens, heads, head_dim, dtype, device):
    """q, k, v as strided views of one packed qkv projection, as a ViT block produces them."""
    qkv = torch.randn(batch * frames, tokens, 3, heads, head_dim, device=device).to(dtype).requires_grad_()
    return qkv, qkv.unbind(2)  # 3 x (B*T, N, H, Dh), non-contiguous


def naive_temporal_attention(q, k, v, num_frames, scale, frame_mask):
    """Independent float64 formula: explicit scores over (video, token, head, query frame, key frame)."""
    batch_frames, tokens, heads, head_dim = q.shape
    q, k, v = (x.double().reshape(-1, num_frames, tokens, heads, head_dim) for x in (q, k, v))  # (B, T, N, H, Dh)
    scores = torch.einsum("btnhd,bsnhd->bnhts", q, k) * (head_dim**-0.5 if scale is None else scale)
    if frame_mask is not None:
        keys = frame_mask | ~frame_mask.any(dim=1, keepdim=True)  # a video with no valid frame attends to all
        scores = scores.masked_fill(~keys[:, None, None, None, :], float("-inf"))
    out = torch.einsum("bnhts,bsnhd->btnhd", scores.softmax(-1), v)
    return out.reshape(batch_frames, tokens, heads, head_dim)


@pytest.mark.parametrize("case", CASES, ids=_case_ids)
def test_kernel_matches_twin(case, device, poisoned):
    from vidclip.kernels.temporal_attention import triton as kernel

    batch, frames, tokens, heads, head_dim, dtype, masked, scale = case
    qkv, (q, k, v) = _qkv(batch, frames, tokens, heads, head_dim, dtype, device)
    mask = _frame_mask(batch, frames, device) if masked else None
    out = kernel.temporal_attention(q, k, v, frames, scale=scale, frame_mask=mask)
    grad_out = torch.randn_like(out)
    (grad,) = torch.autograd.grad(out, qkv, grad_out)

    qkv32 = qkv.detach().float().requires_grad_()
    expected = reference.temporal_attention(*qkv32.unbind(2), frames, scale=scale, frame_mask=mask)
    (expected_grad,) = torch.autograd.grad(expected, qkv32, grad_out.float())
    fwd_tol, grad_tol = TOLERANCE[dtype]
    assert out.dtype == dtype and out.shape == q.shape
    torch.testing.assert_close(out.float(), expected, atol=fwd_tol, rtol=fwd_tol)
    assert grad.dtype == dtype
    torch.testing.assert_close(grad.float(), expected_grad, atol=grad_tol, rtol=grad_tol)


@pytest.mark.gpu
def test_kernel_matches_twin_bf16(poisoned):
    """bf16 only on the GPU: the interpreter computes bf16 wrongly."""
    test_kernel_matches_twin((4, 12, 197, 12, 64, torch.bfloat16, True, None), "cuda", poisoned)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("frames,tokens", [(1, 3), (5, 2), (12, 1)])
def test_twin_matches_naive_float64(frames, tokens, masked):
    batch, heads, head_dim = 3, 2, 8
    qkv, (q, k, v) = _qkv(batch, frames, tokens, heads, head_dim, torch.float64, "cpu")
    mask = _frame_mask(batch, frames, "cpu") if masked else None
    out = reference.temporal_attention(q, k, v, frames, frame_mask=mask)
    expected = naive_temporal_attention(q, k, v, frames, None, mask)
    torch.testing.assert_close(out, expected, atol=1e-12, rtol=1e-12)
    grad_out = torch.randn_like(out)
    (grad,) = torch.autograd.grad(out, qkv, grad_out)
    (expected_grad,) = torch.autograd.grad(expected, qkv, grad_out)
    torch.testing.assert_close(grad, expected_grad, atol=1e-12, rtol=1e-12)


def test_padding_frames_are_never_attended():
    """Changing a padding frame's keys and values leaves every output unchanged."""
    batch, frames, tokens, heads, head_dim = 2, 4, 3, 2, 8
    _, (q, k, v) = _qkv(batch, frames, tokens, heads, head_dim, torch.float32, "cpu")
    mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
    out = reference.temporal_attention(q, k, v, frames, frame_mask=mask)
    k2, v2 = k.detach().clone(), v.detach().clone()
    k2[3] += 5.0  # video 0, frame 3 (padding)
    v2[3] -= 7.0
    out2 = reference.temporal_attention(q, k2, v2, frames, frame_mask=mask)
    torch.testing.assert_close(out, out2)
