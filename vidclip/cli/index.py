"""`vidclip index build|add|search`: a FAISS-backed video index in one checksummed file."""

import argparse
import sys
from pathlib import Path

from vidclip.cli.common import (INPUT_ERRORS, OK, PARTIAL, add_json_argument, add_model_arguments,
                                annotation_captions, fail, load_model, positive_int, print_json, report_skipped)
from vidclip.search.ann import KINDS

HELP = "build, extend and search a text-to-video index"
DESCRIPTION = """\
A video index holds one vector per video (FAISS: exact search up to 50k videos, IVF up to 2M,
IVF-PQ codes beyond; or --kind flat|ivf|ivfpq|hnsw) plus per-frame features for re-ranking, in one
file written atomically with a manifest of checksums and the model that built it. Searching or adding
with another model is refused. From a folder of `vidclip embed` shards, the vectors go to FAISS one
shard at a time (IVF kinds train on a sample drawn from all shards first).

examples:
  vidclip index build videos/ --model ViT-B-32 --pretrained openai --out my.index
  vidclip index build feats.safetensors --model ViT-B-32 --pretrained openai --out my.index
  vidclip index build feats/ --model ViT-B-32 --pretrained openai --out my.index --kind ivfpq
  vidclip index add my.index more_videos/ --model ViT-B-32 --pretrained openai
  vidclip index search my.index "a dog catches a frisbee" -k 5 --model ViT-B-32 --pretrained openai --json
  vidclip index build videos/ --querybank MSRVTT_train.9k.jsonl --model ViT-B-32 --pretrained openai --out my.index
  vidclip index search my.index "a dog catches a frisbee" --rerank qbnorm --model ViT-B-32 --pretrained openai

QB-Norm (--rerank qbnorm) needs a query bank kept in the index (--querybank: the captions of any
annotation file, e.g. the training split's): a video that is many bank queries' best match (a "hub")
is scored down for queries whose best match it is. It re-ranks embedding cosines (the model's own
head is not used then) and is kept up to date by `index add`.

Writers of one index take turns (a lock beside it): two `index add` at once both land. Sources of
a `vidclip embed` file that no longer exist are skipped and listed; search results whose file is
gone are flagged "missing".

exit codes: 0 ok, 1 some videos skipped (unreadable, missing, already indexed), 2 bad input
(missing file, empty query, another model's index, corrupted index), 3 internal error (a bug).
"""


def add_arguments(parser):
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="index videos (files, folders or a `vidclip embed` output)")
    build.add_argument("videos", nargs="+",
                       help="video files, folders, WebDataset .tar shards (videos named TAR::MEMBER), "
                            "or one output of `vidclip embed` (.safetensors or shard folder)")
    build.add_argument("--out", "-o", required=True, help="index file to write")
    build.add_argument("--kind", "--index-type", default="auto", choices=KINDS,
                       help="FAISS index kind (default: auto: exact up to 50k videos, IVF to 2M, IVF-PQ beyond)")
    build.add_argument("--querybank", metavar="ANNOTATIONS",
                       help="keep the captions of this annotation file (any format) as QB-Norm's query bank")
    add = sub.add_parser("add", help="add videos to an existing index")
    add.add_argument("index", help="index file (rewritten atomically)")
    add.add_argument("videos", nargs="+", help="video files, folders or .tar shards")
    search = sub.add_parser("search", help="find the videos that best match a text")
    search.add_argument("index", help="index file")
    search.add_argument("query", help="a sentence describing the video")
    search.add_argument("-k", type=positive_int, default=5, help="number of results (default: 5)")
    search.add_argument("--rerank", choices=("none", "qbnorm"), default="none",
                        help="re-rank with QB-Norm (needs an index built with --querybank); default none")
    for action in (build, add):
        action.add_argument("--batch-size", type=positive_int, default=8, help="videos per model call (default: 8)")
        action.add_argument("--workers", type=positive_int, help="decoding threads (default: up to 4)")
    for action in (build, add, search):
        add_model_arguments(action)
        add_json_argument(action)
        action.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")


def run(args) -> int:
    try:
        return {"build": _build, "add": _add, "search": _search}[args.action](args)
    except INPUT_ERRORS as error:
        return fail(error)


def _embed_options(args):
    return {"batch_size": args.batch_size, "num_workers": args.workers}


def _build(args) -> int:
    from vidclip.locking import locked
    from vidclip.search.index import VideoIndex

    from vidclip.search.shards import is_shard_folder

    captions = annotation_captions(args.querybank) if args.querybank else None  # a bad file fails before any model work
    model = load_model(args)
    if len(args.videos) == 1 and is_shard_folder(args.videos[0]):
        index = _from_shards(model, args.videos[0], args.kind)
    elif len(args.videos) == 1 and args.videos[0].endswith(".safetensors"):
        from vidclip.search.embeddings_file import drop_missing, load_embeddings

        found, identity = load_embeddings(args.videos[0])
        found = drop_missing(found)
        index = VideoIndex(model, kind=args.kind)
        index.add_embeddings(found, identity=identity)
        index.skipped = found.skipped
    else:
        index = VideoIndex.build(model, args.videos, kind=args.kind, **_embed_options(args))
    if len(index) == 0:
        report_skipped(index.skipped)
        return fail("no video could be indexed" + (f"; {args.out} was left as it was" if Path(args.out).exists() else ""))
    if captions is not None:
        index.set_querybank(captions)
    with locked(args.out, what="index"):
        index.save(args.out)
    return _report(args, index, f"indexed {len(index)} videos into {args.out}")


def _from_shards(model, folder, kind):
    """A VideoIndex fed one shard at a time; sources gone from disk are skipped, as from one file."""
    from vidclip.search.embeddings_file import drop_missing
    from vidclip.search.index import VideoIndex
    from vidclip.search.shards import read_shards

    manifest, count, shards = read_shards(folder)
    skipped = []

    def parts():
        skipped.clear()  # each pass over the shards finds the same
        for found in shards():
            found = drop_missing(found)
            skipped.extend(found.skipped)
            yield found

    index = VideoIndex.from_parts(model, parts, count=count, identity=manifest["model"], kind=kind)
    index.skipped = list(skipped)
    return index


def _add(args) -> int:
    """Load, add, save under the index's lock: two `index add` at once keep both sides' videos."""
    from vidclip.locking import locked
    from vidclip.search.index import VideoIndex

    if not Path(args.index).is_file():
        return fail(f"no index file at {args.index}: create it with `vidclip index build`")
    model = load_model(args)
    with locked(args.index, what="index"):
        index = VideoIndex.load(args.index, model)
        before = len(index)
        index.add(args.videos, **_embed_options(args))
        if len(index) > before:
            index.save(args.index)
    return _report(args, index, f"added {len(index) - before} videos to {args.index} ({len(index)} in all)")


def _report(args, index, message) -> int:
    report_skipped(index.skipped)
    if args.json:
        print_json({"index": getattr(args, "out", None) or args.index, "count": len(index), "kind": index.spec["kind"],
                    "skipped": [{"path": p, "reason": r} for p, r in index.skipped]})
    else:
        print(message + (f", skipped {len(index.skipped)}" if index.skipped else ""))
    return PARTIAL if index.skipped else OK


def _search(args) -> int:
    from vidclip.search.index import VideoIndex
    from vidclip.video.tar_members import source_exists

    if not args.query.strip():
        return fail("empty query: give a sentence describing the video")
    model = load_model(args)
    results = VideoIndex.load(args.index, model).search(args.query, k=args.k, rerank=args.rerank)
    missing = {path for path, _ in results if not source_exists(path)}
    if args.json:
        print_json({"query": args.query, "results": [{"path": p, "score": round(s, 6), "missing": p in missing}
                                                     for p, s in results]})
    else:
        for path, score in results:
            print(f"{score:.4f}  {path}" + ("  (missing: the file no longer exists)" if path in missing else ""))
    if missing:
        print(f"{len(missing)} of the results no longer exist on disk; rebuild the index to drop them", file=sys.stderr)
    return OK
