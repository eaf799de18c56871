"""`vidclip embed`: video embeddings to a safetensors file or a resumable folder of shards, on one
process or under torchrun."""

from vidclip.cli.common import (INPUT_ERRORS, OK, PARTIAL, add_json_argument, add_model_arguments,
                                     fail, load_model, positive_int, print_json, report_skipped)

HELP = "embed videos into a safetensors file or a resumable folder of shards (also under torchrun)"
DESCRIPTION = """\
Embed videos (files or folders, searched recursively, or --inputs LIST) with a model.

--out NAME.safetensors writes one file (below). Any other --out is a folder of shards, for
collections: every --shard-size videos (in input order) become one shard, written atomically as
shard-NNNNN.safetensors (the one-file format) + shard-NNNNN.jsonl (each input's row or why it was
skipped), with a manifest.json. Memory stays that of one shard. Rerunning the same command skips
the finished shards and does the rest, so a crash or a killed rank loses at most the shards in
progress. Under torchrun, rank r writes shards r, r + WORLD_SIZE, ... with no collective, and any
number of ranks can resume a folder. `vidclip index build FOLDER` reads the shards one by one.

A one-file output (and each shard) holds `embeddings` (N, D) float32 L2-normalised,
`frame_features` (N, T, D) float16, `frame_mask` (N, T), and JSON metadata `vidclip.embeddings`
with the model, the source paths in row order and the videos that could not be read (skipped, exit
code 1). Source paths are stored absolute, so the file works from any folder. When no video can be read, an existing --out is left as it was (exit 2).

WebDataset tar shards: a .tar named on the command line or in --inputs stands for its video
members (by extension, in tar order), each a source named TAR::MEMBER; members are copied one at a
time to a temporary file to be decoded (the tar is never extracted). A folder is walked for videos
only: name its shards (`shards/*.tar`). In a shard folder's jsonl, a member's line also carries its
WebDataset sidecars: "caption" (KEY.txt) and "meta" (KEY.json). The manifest records each tar's size
and mtime: a rerun after a tar changed is refused. A damaged tar, or one with no video, is skipped
and listed (exit 1) with the videos read before the damage.

examples:
  vidclip embed videos/ --model ViT-B-32 --pretrained openai --out feats.safetensors
  vidclip embed a.mp4 b.mp4 --model demo_out/runs/seqtransf/last --out feats.safetensors --json
  torchrun --nproc-per-node 4 -m vidclip embed videos/ --model ViT-B-32 --device cuda --out feats.safetensors
    (each rank embeds every 4th video; rank 0 gathers them all into one file in input order)
  torchrun --nnodes 2 --nproc-per-node 8 ... -m vidclip embed --inputs all.txt --model ViT-B-32 --device cuda --out feats/
    (shards; run the same command again after a failure to finish the folder)
  vidclip index build feats.safetensors --model ViT-B-32 --out my.index   (index precomputed embeddings)
  vidclip index build feats/ --model ViT-B-32 --out my.index             (... or a folder of shards)
  vidclip embed webdataset/*.tar --model ViT-B-32 --out feats/            (tar shards: sources TAR::MEMBER)
"""


def add_arguments(parser):
    parser.add_argument("videos", nargs="*", help="video files, folders, or WebDataset .tar shards")
    parser.add_argument("--inputs", metavar="LIST",
                        help="a text file of video or .tar paths, one a line (relative ones: from the file's folder)")
    parser.add_argument("--out", "-o", required=True, help="output .safetensors file, or a folder of shards")
    parser.add_argument("--shard-size", type=positive_int, default=1000,
                        help="videos per shard, with a folder --out (default: 1000)")
    parser.add_argument("--batch-size", type=positive_int, default=8, help="videos per model call (default: 8)")
    parser.add_argument("--workers", type=positive_int, help="decoding threads (default: up to 4)")
    add_model_arguments(parser)
    add_json_argument(parser)


def run(args) -> int:
    try:
        videos = _inputs(args)
        if not videos:
            return fail(f"no videos found in {' '.join(args.videos + ([args.inputs] if args.inputs else []))}")
        if str(args.out).endswith(".safetensors"):
            return _one_file(args, videos)
        return _shards(args, videos)
    except INPUT_ERRORS as error:
        return fail(error)


def _inputs(args) -> list:
    """The videos named on the command line, then those of --inputs, each once, in that order."""
    from pathlib import Path

    from vidclip.video.files import find_videos
    from vidclip.video.tar_members import expand_tars

    if not args.videos and not args.inputs:
        raise ValueError("no videos given: name files or folders, or --inputs LIST")
    videos = find_videos(args.videos)
    if args.inputs:
        listing = Path(args.inputs)
        if not listing.is_file():
            raise FileNotFoundError(f"no input list at {listing}")
        lines = (line.strip() for line in listing.read_text().splitlines())
        videos += expand_tars(str(listing.parent / line) for line in lines if line and not line.startswith("#"))
    return list(dict.fromkeys(videos))


def _one_file(args, videos) -> int:
    import os

    import torch.distributed as dist

    from vidclip.locking import locked
    from vidclip.search.embeddings_file import merge, save_embeddings
    from vidclip.train.distributed import cleanup, init_distributed

    info = init_distributed(device=args.device)
    try:
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
    finally:
        cleanup()
    report_skipped(merged.skipped)
    if args.json:
        print_json({"out": str(args.out), "count": len(merged), "dim": int(merged.embeddings.shape[-1]),
                    "model": model.identity, "skipped": [{"path": p, "reason": r} for p, r in merged.skipped]})
    else:
        print(f"embedded {len(merged)} videos into {args.out}" + (f", skipped {len(merged.skipped)}" if merged.skipped else ""))
    return PARTIAL if merged.skipped else OK


def _shards(args, videos) -> int:
    """This rank's shards of the folder --out, skipping finished ones; one shard in memory at a time."""
    from tqdm.auto import tqdm

    from vidclip.search import shards
    from vidclip.train.distributed import rank_from_env
    from vidclip.video.tar_members import absolute_source

    info = rank_from_env(args.device)
    args.device = str(info.device) if info.device.type == "cuda" else args.device  # this rank's GPU
    model = load_model(args)
    videos = list(dict.fromkeys(absolute_source(path) for path in videos))
    shards.open_folder(args.out, shards.manifest_for(videos, args.shard_size, model.identity))
    mine = shards.shards_of_rank(len(videos), args.shard_size, info.rank, info.world_size)
    todo = [number for number in mine if not shards.is_done(args.out, number)]
    size = args.shard_size
    total = sum(len(videos[number * size : (number + 1) * size]) for number in todo)
    with tqdm(total=total, unit="video", desc="embedding", disable=not info.is_main or total < 16) as bar:
        for number in todo:
            inputs = videos[number * size : (number + 1) * size]
            found = model.embed_videos(inputs, batch_size=args.batch_size, num_workers=args.workers, progress=False)
            shards.write_shard(args.out, number, inputs, found, model.identity)
            bar.update(len(inputs))
    listed = [line for number in mine for line in shards.read_listing(args.out, number)]
    skipped = [(line["path"], line["skipped"]) for line in listed if "skipped" in line]
    count = len(listed) - len(skipped)
    left = len(shards.missing_shards(args.out))
    report_skipped(skipped)
    if args.json:
        print_json({"out": str(args.out), "rank": info.rank, "world_size": info.world_size, "count": count,
                    "shards": len(mine), "resumed": len(mine) - len(todo), "unfinished_shards": left,
                    "model": model.identity, "skipped": [{"path": p, "reason": r} for p, r in skipped]})
    else:
        rank = f"rank {info.rank} of {info.world_size}: " if info.enabled else ""
        print(f"{rank}embedded {count} videos into {len(mine)} shards of {args.out} ({len(mine) - len(todo)} done "
              f"before)" + (f", skipped {len(skipped)}" if skipped else "")
              + (f"; {left} shards of other ranks not finished yet" if left else ""))
    return PARTIAL if skipped else OK
