import pytest
import torch
import torch.nn.functional as F

from vidclip.kernels.frame_pool import reference

# (Nt, Nv, T, D, dtype, masked): Nt, Nv off the block sizes (64 texts x 128 // BLOCK_T videos)
CASES = [
    (1, 1, 1, 16, torch.float32, False),
    (65, 9, 3, 40, torch.float32, True),
    (130, 19, 12, 64, torch.float16, True),
    (70, 17, 8, 512, torch.float32, False),
    (5, 33, 17, 32, torch.float16, True),
    (64, 8, 12, 16, torch.float32, True),
]


def _case_ids(case):
    nt, nv, t, d, dtype, masked = case
    return f"Nt{nt}-Nv{nv}-T{t}-D{d}-{str(dtype)[6:]}{'-mask' if masked else ''}"


def _inputs(num_texts, num_videos, num_frames, dim, device, dtype=torch.float32):
    """L2-normalised text (Nt, D) and frames (Nv, T, D), both as strided (non-contiguous) views."""
    text = F.normalize(torch.randn(num_texts, dim + 3, device=device)[:, :dim], dim=-1)
    frames = F.normalize(torch.randn(num_frames, num_videos, dim, device=device), dim=-1).transpose(0, 1)
    return text.to(dtype), frames.to(dtype)


def _frame_mask(num_videos, num_frames, device):
    """Random valid frames; video 0 has none (its scores are 0)."""
    mask = torch.rand(num_videos, num_frames) < 0.6
    mask[:, 0] |= torch.rand(num_videos) < 0.5
    mask[0] = False
    return mask.to(device)  # (Nv, T)


def naive_frame_pool_scores(text, frames, frame_mask, temperature):
    """Independent float64 formula: builds (Nt, Nv, T) weights and (Nt, Nv, D) pooled videos."""
    text, frames = text.double(), frames.double()
    logits = torch.einsum("nd,vtd->nvt", text, frames) / temperature
    if frame_mask is not None:
        logits = logits.masked_fill(~frame_mask[None], float("-inf"))
    weights = logits.softmax(-1).nan_to_num(0.0)  # a video without valid frames pools to 0
    pooled = torch.einsum("nvt,vtd->nvd", weights, frames)
    dot = torch.einsum("nd,nvd->nv", text, pooled)
    norms = text.norm(dim=-1)[:, None] * pooled.norm(dim=-1)
    return torch.where(norms > 0, dot / norms.clamp_min(1e-300), torch.zeros_like(dot))


@pytest.mark.parametrize("case", CASES, ids=_case_ids)
@pytest.mark.parametrize("temperature", [0.01, 1.0])
def test_kernel_matches_twin(case, temperature, device, poisoned):
    from vidclip.kernels.frame_pool import triton as kernel

    num_texts, num_videos, num_frames, dim, dtype, masked = case
    text, frames = _inputs(num_texts, num_videos, num_frames, dim, device, dtype)
    mask = _frame_mask(num_videos, num_frames, device) if masked else None
    scores = kernel.frame_pool_scores(text, frames, frame_mask=mask, temperature=temperature)
    expected = reference.frame_pool_scores(text.float(), frames.float(), frame_mask=mask, temperature=temperature)
    assert scores.shape == (num_texts, num_videos) and scores.dtype == dtype
    tol = 1e-5 if dtype == torch.float32 else 3e-3
    torch.testing.assert_close(scores.float(), expected, atol=tol, rtol=tol)
    if masked:
        assert (scores[:, 0] == 0).all(), "a video without valid frames scores 0"


@pytest.mark.gpu
def test_kernel_matches_twin_bf16(poisoned):
    """bf16 only on the GPU: the interpreter computes bf16 wrongly."""
    from vidclip.kernels.frame_pool import triton as kernel

    text, frames = _inputs(300, 200, 12, 512, "cuda", torch.bfloat16)
    mask = _frame_mask(200, 12, "cuda")
    scores = kernel.frame_pool_scores(text, frames, frame_mask=mask, temperature=0.05)
    expected = reference.frame_pool_scores(text.float(), frames.float(), frame_mask=mask, temperature=0.05)
    torch.testing.assert_close(scores.float(), expected, atol=2e-2, rtol=2e-2)


def test_kernel_empty_inputs(device, poisoned):
    from vidclip.kernels.frame_pool import triton as kernel

    text, frames = _inputs(3, 0, 4, 16, device)
    assert kernel.frame_pool_scores(text, frames, temperature=0.1).shape == (3, 0)
    text, frames = _inputs(0, 5, 4, 16, device)
    assert kernel.frame_pool_scores(text, frames, temperature=0.1).shape == (0, 5)


def test_kernel_refuses_gradients(device):
    pytest.importorskip("triton")
    from vidclip.kernels.frame_pool import triton as kernel

    text, frames = _inputs(2, 3, 4, 16, device)
    with pytest.raises(NotImplementedError, match="forward-only"):
        kernel.frame_pool_scores(text.requires_grad_(), frames, temperature=0.1)


@pytest.mark.parametrize(
    "num_texts,num_videos,num_frames,chunk_videos,chunk_texts",
    [(1, 1, 1, None, None), (37, 23, 12, 5, 8), (300, 41, 3, 7, 128), (5, 1100, 8, None, None)],
)
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("temperature", [0.01, 3.0])
def test_twin_matches_naive_float64(num_texts, num_videos, num_frames, chunk_videos, chunk_texts, masked, temperature):
    text, frames = _inputs(num_texts, num_videos, num_frames, 32, "cpu")
    mask = _frame_mask(num_videos, num_frames, "cpu") if masked else None
    scores = reference.frame_pool_scores(
        text, frames, frame_mask=mask, temperature=temperature, chunk_videos=chunk_videos, chunk_texts=chunk_texts
    )
    expected = naive_frame_pool_scores(text, frames, mask, temperature)
    torch.testing.assert_close(scores.double(), expected, atol=2e-6, rtol=2e-6)


def test_twin_unnormalised_inputs_and_gradients():
    """The formula holds for any inputs, and training may backpropagate through the twin."""
    text = torch.randn(5, 6, dtype=torch.float64, requires_grad=True)
    frames = torch.randn(4, 3, 6, dtype=torch.float64, requires_grad=True)
    mask = _frame_mask(4, 3, "cpu")
    mask[1] = True  # video 0: empty, 1: full, others: random

    def scores(x, f):
        return reference.frame_pool_scores(x, f, frame_mask=mask, temperature=0.7, chunk_videos=3, chunk_texts=4)

    torch.testing.assert_close(scores(text, frames), naive_frame_pool_scores(text, frames, mask, 0.7))
    assert torch.autograd.gradcheck(scores, (text, frames), fast_mode=True)


def test_twin_empty_inputs():
    text, frames = _inputs(0, 5, 4, 16, "cpu")
    assert reference.frame_pool_scores(text, frames, temperature=0.1).shape == (0, 5)
    text, frames = _inputs(3, 0, 4, 16, "cpu")
    assert reference.frame_pool_scores(text, frames, temperature=0.1).shape == (3, 0)
