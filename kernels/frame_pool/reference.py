"""PyTorch twin of the frame-pool scoring kernel, chunked over videos and texts.

With w = softmax_t(logits / temperature) and pooled = sum_t w_t f_t:
  text . pooled = sum_t w_t logit_t     and     |pooled|^2 = w^T G w,  G = F F^T  (T x T per video),
so one (V*T x D) @ (D x n) product per chunk gives everything and (Nt, Nv, D) never exists.
A chunk is laid out (V, T, n): reductions over frames then run over whole contiguous rows of
texts (vectorised), w G is one batched (T x T) @ (T x n) product, and the chunk buffers stay in
cache, so memory is bounded whatever Nv is.
The fast path (no autograd) works in place in two reused buffers and skips the softmax's
normalisation: with e_t = 2^(log2(e) logit_t - max) and w = e / sum(e), the sum cancels in the
cosine (text . pooled) / |pooled|; exp2 is also ~3x cheaper than exp on CPU. The exp, not the GEMM
(about 12x meanP by itself), is the largest remaining cost.
"""

import math

import torch

LOG2E = 1.0 / math.log(2.0)

# elements of one (V, T, n) chunk buffer and texts per chunk. CPU: two 8 MB buffers stay in L3;
# smaller chunks are no faster alone and much slower on a busy machine, where every op's parallel
# region waits for a preempted thread. An accelerator: large, each op is a kernel launch.
_CHUNK = {"cpu": (1 << 21, 2048)}
_CHUNK_ACCELERATOR = (1 << 25, 16384)


def frame_pool_scores(text, frames, *, frame_mask=None, temperature, chunk_videos=None, chunk_texts=None):
    num_texts, dim = text.shape
    num_videos, num_frames, frame_dim = frames.shape
    assert dim == frame_dim, f"text dim {dim} != frame dim {frame_dim}"
    chunk_elements, max_chunk_texts = _CHUNK.get(text.device.type, _CHUNK_ACCELERATOR)
    chunk_texts = chunk_texts or min(max(num_texts, 1), max_chunk_texts)
    chunk_videos = chunk_videos or max(1, chunk_elements // (chunk_texts * num_frames))
    differentiable = torch.is_grad_enabled() and (text.requires_grad or frames.requires_grad)
    compute = torch.promote_types(torch.promote_types(text.dtype, frames.dtype), torch.float32)  # fp32 or fp64
    text_c = text.to(compute)
    text_scaled = text_c / temperature  # fold 1/temperature into the GEMM
    text_log2 = text_scaled * LOG2E  # for the fast path: exp2 is ~3x cheaper than exp on CPU
    # per pair: text . pooled (ends up as the score) and |pooled|^2; (Nv, Nt) so that chunk rows are
    # contiguous (a reduction into a strided output is ~10x slower); transposed once at the end
    dots = torch.empty(num_videos, num_texts, dtype=compute, device=text.device)
    squares = torch.empty_like(dots)
    # the fast path reuses two chunk buffers: fresh MB-sized allocations would page-fault every chunk
    buffer_size = chunk_videos * num_frames * chunk_texts
    buffers = None if differentiable else torch.empty(2, buffer_size, dtype=compute, device=text.device)
    empty_videos = None
    if frame_mask is not None:
        expected = (num_videos, num_frames)
        assert frame_mask.shape == expected, f"frame_mask {tuple(frame_mask.shape)} != {expected}"
        valid = frame_mask.to(device=text.device, dtype=torch.bool)  # (Nv, T)
        empty_videos = ~valid.any(dim=1)  # (Nv,): softmax over no frame -> weights 0 -> score 0
        # additive mask; empty videos keep a finite softmax and are zeroed at the end
        bias = torch.zeros(valid.shape, dtype=compute, device=text.device)
        bias.masked_fill_(~valid & ~empty_videos[:, None], float("-inf"))  # (Nv, T)
    for v0 in range(0, num_videos, chunk_videos):
        chunk = frames[v0 : v0 + chunk_videos].to(compute)  # (V, T, D)
        videos = chunk.shape[0]
        flat = chunk.reshape(videos * num_frames, dim)  # (V*T, D)
        gram = torch.bmm(chunk, chunk.transpose(1, 2))  # (V, T, T)
        chunk_bias = None if frame_mask is None else bias[v0 : v0 + videos, :, None]  # (V, T, 1)
        for t0 in range(0, num_texts, chunk_texts):
            t1 = min(t0 + chunk_texts, num_texts)
            dot_out, square_out = dots[v0 : v0 + videos, t0:t1], squares[v0 : v0 + videos, t0:t1]  # (V, n) views
            if differentiable:  # plain path, for training (autograd records the slice writes)
                logits = (flat @ text_scaled[t0:t1].T).view(videos, num_frames, -1)  # (V, T, n)
                weights = torch.softmax(logits if chunk_bias is None else logits + chunk_bias, dim=1)  # (V, T, n)
                dot_out.copy_((weights * logits).sum(1))  # text . pooled / temperature
                square_out.copy_((torch.bmm(gram, weights) * weights).sum(1))  # w^T G w = |pooled|^2
            else:  # fast path: the same in place, with unnormalised base-2 weights
                size = videos * num_frames * (t1 - t0)
                logits, work = (buf[:size].view(videos, num_frames, -1) for buf in buffers)  # (V, T, n) each
                torch.mm(flat, text_log2[t0:t1].T, out=logits.view(videos * num_frames, -1))  # logits * log2(e)
                masked = logits if chunk_bias is None else torch.add(logits, chunk_bias, out=work)
                weights = torch.sub(masked, masked.amax(dim=1, keepdim=True), out=work).exp2_()  # largest is 1
                torch.sum(logits.mul_(weights), dim=1, out=dot_out)
                torch.sum(torch.bmm(gram, weights, out=logits).mul_(weights), dim=1, out=square_out)
    text_norm = text_c.norm(dim=-1).clamp_min(1e-12)  # (Nt,)
    if differentiable:
        scores = dots * temperature / (squares.clamp_min(1e-12).sqrt() * text_norm)
        if empty_videos is not None:
            scores = scores.masked_fill(empty_videos[:, None], 0.0)
    else:  # sum_t w_t is not 1 here, but it cancels in the cosine
        scores = dots.mul_(temperature / LOG2E).div_(squares.clamp_min_(1e-12).sqrt_().mul_(text_norm))
        if empty_videos is not None:
            scores.masked_fill_(empty_videos[:, None], 0.0)
    return scores.T.contiguous().to(text.dtype)  # (Nt, Nv)
