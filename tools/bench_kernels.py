"""Benchmarks for the fused kernels (issue 4).

    python tools/bench_kernels.py            # CPU section, then the GPU section when CUDA is there
    python tools/bench_kernels.py --cpu-only [--repeats 7] [--no-naive] [--threads 1]

CPU: frame_pool_scores twin vs the meanP dot product (its floor is about 12x: T dot products per
pair) vs the naive einsum that builds (Nt, Nv, T); 1k x 1k and 10k x 1k, T = 12, D = 512.
Target: twin <= 15x meanP. Timings interleave the three so a busy shared machine skews them alike;
medians (and minima) of the repeats. On an oversubscribed machine every op's parallel region
waits for preempted threads and the many-op twin suffers most: `--threads 1` measures the work.

GPU (triton.testing.do_bench, medians): temporal_attention kernel vs its permute + SDPA twin at
ViT-B shapes, forward and forward + backward, target >= 1.5x; frame_pool_scores kernel vs its
twin, target >= 5x.
"""

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F

from vidclip.kernels.frame_pool import reference as frame_pool_reference
from vidclip.kernels.temporal_attention import reference as temporal_attention_reference

NUM_FRAMES, DIM = 12, 512


def naive_frame_pool_scores(text, frames, temperature, block=1000):
    """The plain version: (Nt, Nv, T) logits and weights, an einsum for w^T G w (texts in blocks of 1000)."""
    gram = frames @ frames.transpose(1, 2)  # (Nv, T, T)
    out = []
    for x in text.split(block):
        logits = torch.einsum("nd,vtd->nvt", x, frames)  # (n, Nv, T)
        weights = torch.softmax(logits / temperature, dim=-1)
        pooled_dot = (weights * logits).sum(-1)  # (n, Nv)
        pooled_sq = torch.einsum("nvt,vts,nvs->nv", weights, gram, weights)
        out.append(pooled_dot / (pooled_sq.sqrt() * x.norm(dim=-1, keepdim=True)))
    return torch.cat(out)


def _interleaved(fns, repeats):
    """Median and minimum seconds of each fn, the fns run round-robin after one warm-up each."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(t), min(t)) for name, t in times.items()}


def bench_cpu(args):
    print(f"== CPU: frame_pool_scores, T={NUM_FRAMES}, D={DIM}, {torch.get_num_threads()} threads ==")
    print(f"{'texts x videos':>15} {'op':>8} {'median ms':>10} {'min ms':>8} {'x meanP':>8}")
    for num_texts, num_videos in [(1000, 1000), (10000, 1000)]:
        g = torch.Generator().manual_seed(0)
        text = F.normalize(torch.randn(num_texts, DIM, generator=g), dim=-1)
        frames = F.normalize(torch.randn(num_videos, NUM_FRAMES, DIM, generator=g), dim=-1)
        videos = F.normalize(frames.mean(1), dim=-1)  # meanP: pooled once, at index time
        fns = {
            "meanP": lambda: text @ videos.T,
            "twin": lambda: frame_pool_reference.frame_pool_scores(text, frames, temperature=0.01),
        }
        if not args.no_naive:
            fns["naive"] = lambda: naive_frame_pool_scores(text, frames, temperature=0.01)
        with torch.inference_mode():
            results = _interleaved(fns, args.repeats)
        base_median, base_min = results["meanP"]
        for name, (median, minimum) in results.items():
            ratio = f"{median / base_median:.1f}x"
            print(f"{f'{num_texts} x {num_videos}':>15} {name:>8} {median * 1e3:10.1f} {minimum * 1e3:8.1f} {ratio:>8}")
    print("target: twin <= 15x meanP (arithmetic floor about 12x)")


def _do_bench(fn, grad_to_none=None):
    import triton

    return triton.testing.do_bench(fn, grad_to_none=grad_to_none, return_mode="median")


def bench_gpu_temporal_attention(batch=32, heads=12, head_dim=64, frame_counts=(8, 12), token_counts=(50, 197),
                                 dtypes=(torch.float16, torch.bfloat16), device="cuda"):
    from vidclip.kernels.temporal_attention import triton as kernel

    print(f"-- temporal_attention: B={batch}, H={heads}, Dh={head_dim}, q/k/v views of a packed qkv (target >= 1.5x)")
    print(f"{'dtype':>9} {'T':>3} {'N':>4} {'pass':>8} {'twin ms':>8} {'triton ms':>9} {'speedup':>8}")
    for dtype in dtypes:
        for frames in frame_counts:
            for tokens in token_counts:
                qkv = torch.randn(batch * frames, tokens, 3, heads, head_dim, device=device, dtype=dtype)
                qkv.requires_grad_()
                q, k, v = qkv.unbind(2)  # (B*T, N, H, Dh) each
                grad = torch.randn_like(q)
                for label, backward in (("fwd", False), ("fwd+bwd", True)):
                    timings = []
                    for op in (temporal_attention_reference.temporal_attention, kernel.temporal_attention):
                        if backward:
                            fn = lambda op=op: op(q, k, v, frames).backward(grad)  # noqa: E731
                        else:
                            fn = lambda op=op: op(q.detach(), k.detach(), v.detach(), frames)  # noqa: E731
                        timings.append(_do_bench(fn, grad_to_none=[qkv]))
                    name = str(dtype).removeprefix("torch.")
                    speedup = timings[0] / timings[1]
                    print(f"{name:>9} {frames:3d} {tokens:4d} {label:>8} {timings[0]:8.3f} {timings[1]:9.3f} {speedup:7.2f}x")


def bench_gpu_frame_pool(sizes=((1000, 1000), (10000, 1000), (1000, 100000)), num_frames=NUM_FRAMES, dim=DIM,
                         dtypes=(torch.float16, torch.float32), device="cuda"):
    from vidclip.kernels.frame_pool import triton as kernel

    print(f"-- frame_pool_scores: T={num_frames}, D={dim} (target >= 5x)")
    print(f"{'dtype':>9} {'texts x videos':>15} {'twin ms':>8} {'triton ms':>9} {'speedup':>8}")
    for dtype in dtypes:
        for num_texts, num_videos in sizes:
            text = F.normalize(torch.randn(num_texts, dim, device=device), dim=-1).to(dtype)
            frames = F.normalize(torch.randn(num_videos, num_frames, dim, device=device), dim=-1).to(dtype)
            twin = _do_bench(lambda: frame_pool_reference.frame_pool_scores(text, frames, temperature=0.01))
            fused = _do_bench(lambda: kernel.frame_pool_scores(text, frames, temperature=0.01))
            name = str(dtype).removeprefix("torch.")
            print(f"{name:>9} {f'{num_texts} x {num_videos}':>15} {twin:8.3f} {fused:9.3f} {twin / fused:7.2f}x")


def bench_gpu():
    print("== GPU ==")
    if not torch.cuda.is_available():
        print("GPU figures not measured: no CUDA device")
        return
    try:
        import triton  # noqa: F401
    except ImportError:
        print("GPU figures not measured: triton is not installed (pip install 'vidclip[triton]')")
        return
    if os.environ.get("TRITON_INTERPRET") == "1":
        print("GPU figures not measured: TRITON_INTERPRET=1 would time the interpreter")
        return
    print(f"card: {torch.cuda.get_device_name()}, torch {torch.__version__}, triton {triton.__version__}")
    bench_gpu_temporal_attention()
    bench_gpu_frame_pool()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-only", action="store_true")
    parser.add_argument("--gpu-only", action="store_true")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-naive", action="store_true", help="skip the slow naive einsum")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.gpu_only:
        bench_cpu(args)
    if not args.cpu_only:
        bench_gpu()


if __name__ == "__main__":
    main()
