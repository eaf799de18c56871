"""Benchmark the adapters: parameters, CPU forward time per clip and peak memory, against meanP.

All adapters of one architecture share one set of CLIP towers and are timed round-robin in the
same process, so load from other processes hits them alike; the minimum over repeats is
reported (the least-disturbed run). Peak memory = the process's RSS high-water mark during one
forward (reset through /proc/self/clear_refs) minus RSS before it: activations + workspace. The
script re-executes itself with MALLOC_MMAP_THRESHOLD_ set so that glibc returns large freed
blocks to the OS; otherwise a warm allocator hides the peak.
Forward = `video_features` under no_grad (what embedding and retrieval run).

    .venv/bin/python tools/bench_models.py                      # tiny-vit-16 and ViT-B-32, 12 frames
    .venv/bin/python tools/bench_models.py --archs ViT-B-32 --frames 8 --reps 5 --json out.json
    .venv/bin/python tools/bench_models.py --families --frames 4 --reps 2   # every tower family, tiny and base

--families: one row per family (open_clip ViT, SigLIP, PE-Core, EVA02, MobileCLIP2's ViT, ConvNeXt) and
adapter, at the tiny test size (tests/models/_families.py) and the base size (the family's open_clip
config, random weights: no download; the text tokenizer is open_clip's BPE, which the video timing
does not use). An adapter a tower cannot run (prompts on a convolutional tower) gets no row.
"""

import argparse
import json
import os
import re
import sys
import time

import torch

import vidclip
from vidclip.errors import TowerError

ADAPTERS = ["meanp", "seqtransf", "prompts", "vdi", "glscl"]


def _status_kb(field):
    return int(re.search(rf"{field}:\s+(\d+)", open("/proc/self/status").read()).group(1))


def peak_mb(run):
    """RSS high-water mark during run() minus RSS before it, in MB (Linux); NaN elsewhere."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # reset VmHWM to the current RSS
        before = _status_kb("VmRSS")
        run()
        return (_status_kb("VmHWM") - before) / 1024
    except OSError:
        run()
        return float("nan")


def bench_arch(arch, adapters, num_frames, reps, batch, build=None):
    """Rows for one architecture; build(adapter) -> VideoCLIP (default: vidclip.create_model(arch, ...))."""
    build = build or (lambda name: vidclip.create_model(arch, adapter=name, num_frames=num_frames))
    torch.manual_seed(0)
    models, counts = {}, {}
    for name in adapters:
        try:
            model = build(name).eval()
        except TowerError:  # e.g. prompts on a convolutional tower
            continue
        counts[name] = model.num_parameters(), model.num_trainable_parameters()
        if models:  # share the first model's towers: the same weights for all, less memory
            model.clip = next(iter(models.values())).clip
        models[name] = model
    reference = next(iter(models.values()))
    size = reference.preprocess_config["image_size"]
    size = size if isinstance(size, int) else size[0]
    frames = torch.randn(batch, num_frames, 3, size, size)
    times = {name: [] for name in models}
    with torch.no_grad():
        memory = {name: peak_mb(lambda m=model: m.video_features(frames)) for name, model in models.items()}
        for _ in range(reps):
            for name, model in models.items():
                start = time.perf_counter()
                model.video_features(frames)
                times[name].append((time.perf_counter() - start) / batch)
    return [{"arch": arch, "adapter": name, "params": counts[name][0], "trainable": counts[name][1],
             "sec_per_clip": min(times[name]), "peak_mb": memory[name], "threads": torch.get_num_threads()}
            for name in models]


def family_builds(num_frames):
    """(row label, build(adapter)) per tower family, tiny then base size."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "models"))
    from _families import FAMILIES, tiny_model

    no_download = {"text_cfg": {"hf_tokenizer_name": None, "tokenizer_kwargs": None, "vocab_size": 49408}}
    for family, (arch, _, _) in FAMILIES.items():
        yield f"{family}/tiny", lambda name, family=family: tiny_model(family, name, num_frames=num_frames)
        yield f"{family}/{arch}", lambda name, arch=arch: vidclip.create_model(arch, adapter=name, num_frames=num_frames,
                                                                               **no_download)


def main():
    if sys.platform == "linux" and "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"})
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", nargs="+", default=["tiny-vit-16", "ViT-B-32"])
    parser.add_argument("--families", action="store_true", help="rows per tower family (tiny and base) instead of --archs")
    parser.add_argument("--adapters", nargs="+", default=ADAPTERS)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    adapters = ["meanp"] + [a for a in args.adapters if a != "meanp"]
    header = f"{'arch':<28} {'adapter':<10} {'params':>12} {'trainable':>12} {'ms/clip':>9} {'x meanP':>8} {'peak MB':>8}"
    print(f"{args.frames} frames, batch {args.batch}, min of {args.reps}, {torch.get_num_threads()} threads")
    print(f"{header}\n{'-' * len(header)}")
    rows = []
    builds = family_builds(args.frames) if args.families else ((arch, None) for arch in args.archs)
    for arch, build in builds:
        arch_rows = bench_arch(arch, adapters, args.frames, args.reps, args.batch, build)
        for row in arch_rows:
            row["ratio"] = row["sec_per_clip"] / arch_rows[0]["sec_per_clip"]
            print(f"{arch:<28} {row['adapter']:<10} {row['params']:>12,} {row['trainable']:>12,} "
                  f"{1000 * row['sec_per_clip']:>9.1f} {row['ratio']:>7.2f}x {row['peak_mb']:>8.1f}", flush=True)
        rows += arch_rows
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
