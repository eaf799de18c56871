"""`vidclip embed`: video embeddings to a safetensors file, on one process or under torchrun."""

from vidclip.cli.common import (INPUT_ERRORS, OK, PARTIAL, add_json_argument, add_model_arguments,
                                     fail, load_model, positive_int, print_json, report_skipped)

HELP = "embed videos into a safetensors file (also under torchrun)"
DESCRIPTION = """\
Embed videos (files or folders, searched recursively) with a model and write one safetensors file:
`embeddings` (N, D) float32 L2-normalised, `frame_features` (N, T, D) float16, `frame_mask` (N, T),
and JSON metadata `vidclip.embeddings` with the model, the source paths in row order and the
videos that could not be read (skipped, exit code 1). Source paths are stored absolute, so the
file works from any folder. When no video can be read, an existing --out is left as it was (exit 2).

examples:
  vidclip embed videos/ --model ViT-B-32 --pretrained openai --out feats.safetensors
  vidclip embed a.mp4 b.mp4 --model demo_out/runs/seqtransf/last --out feats.safetensors --json
  torchrun --nproc-per-node 4 -m vidclip embed videos/ --model ViT-B-32 --device cuda --out feats.safetensors
    (each rank embeds every 4th video; rank 0 merges the shards into one file in input order)
  vidclip index build feats.safetensors --model ViT-B-32 --out my.index   (index precomputed embeddings)
"""


def add_arguments(parser):
    parser.add_argument("videos", nargs="+", help="video files or folders")
    parser.add_argument("--out", "-o", required=True, help="output .safetensors file")
    parser.add_argument("--batch-size", type=positive_int, default=8, help="videos per model call (default: 8)")
    parser.add_argument("--workers", type=positive_int, help="decoding threads (default: up to 4)")
    add_model_arguments(parser)
    add_json_argument(parser)


def run(args) -> int:
    import os

    import torch.distributed as dist

    from vidclip.locking import locked
    from vidclip.video.files import find_videos
    from vidclip.search.embeddings_file import merge, save_embeddings
    from vidclip.train.distributed import cleanup, init_distributed

    info = init_distributed(device=args.device)
    try:
        videos = find_videos(args.videos)
        if not videos:
            return fail(f"no videos found in {' '.join(args.videos)}")
        args.device = str(info.device) if info.device.type == "cuda" else args.device  # this rank's GPU
        model = load_model(args)
        shard = videos[info.rank :: info.world_size]
        found = model.embed_videos(shard, batch_size=args.batch_size, num_workers=args.workers,
                                   progress=None if info.is_main else False)
        position = {path: i for i, path in reversed(list(enumerate(videos)))}
        part = ([position[path] for path in found.sources], found)
        parts = [part]
        if info.enabled:
            parts = [None] * info.world_size if info.is_main else None
            dist.gather_object(part, parts, dst=0)
        if not info.is_main:
            return OK
        merged = merge(parts)
        if len(merged) == 0:  # never replace a good file with an empty one (a typo in the paths)
            report_skipped(merged.skipped)
            kept = f"; {args.out} was left as it was" if os.path.exists(args.out) else ""
            return fail(f"none of the {len(videos)} videos could be read{kept}")
        with locked(args.out, what="embeddings file"):
            save_embeddings(args.out, merged, model.identity)
    except INPUT_ERRORS as error:
        return fail(error)
    finally:
        cleanup()
    report_skipped(merged.skipped)
    if args.json:
        print_json({"out": str(args.out), "count": len(merged), "dim": int(merged.embeddings.shape[-1]),
                    "model": model.identity, "skipped": [{"path": p, "reason": r} for p, r in merged.skipped]})
    else:
        print(f"embedded {len(merged)} videos into {args.out}" + (f", skipped {len(merged.skipped)}" if merged.skipped else ""))
    return PARTIAL if merged.skipped else OK



