"""`vidclip moments`: where in a video a sentence happens, for one query or a file of them."""

from vidclip.cli.common import (INPUT_ERRORS, OK, add_json_argument, add_model_arguments, fail, load_model, number_in,
                                positive_fps, positive_int, print_json)

HELP = "find the moments of a video that match a sentence"
DESCRIPTION = """\
Samples the video at --fps, encodes its frames once (cached in --cache-dir, keyed by the file's
size and mtime and the model, so further queries are fast), scores sliding and merged windows
against the query and keeps the best non-overlapping ones. Videos of any length work.

examples:
  vidclip moments talk.mp4 "a man walks onto the stage" --model ViT-B-32 --pretrained openai
  vidclip moments talk.mp4 "applause" --model demo_out/runs/seqtransf/last --top-k 3 --json
  vidclip moments talk.mp4 --queries queries.jsonl --model ViT-B-32 --out preds.jsonl
    (queries.jsonl: one {"qid": 1, "query": "..."} per line; writes QVHighlights-style
     {"qid", "query", "vid", "pred_relevant_windows": [[start, end, score], ...], "pred_saliency_scores"})
  vidclip moments videos/ --queries highlight_val_release.jsonl --model ViT-B-32 --out preds.jsonl
    (a folder: each row's "vid" names its video file there, any video extension)

A folder run answers every query whose video is readable, writes them, and lists the rest. A
feature cache that cannot be written (full disk) is a warning, not a lost result.

exit codes: 0 ok, 1 some queries skipped (their "vid" has no video in the folder, or it cannot be
decoded), 2 bad input (missing video, empty query, unreadable queries file), 3 internal error.
"""


def add_arguments(parser):
    parser.add_argument("video", help="video file (or, with --queries, a folder of videos named by \"vid\")")
    parser.add_argument("query", nargs="?", help="a sentence describing the moment")
    parser.add_argument("--queries", help="jsonl file of {\"qid\", \"query\"} (QVHighlights style)")
    parser.add_argument("--out", "-o", help="with --queries: write predictions here (default: stdout)")
    parser.add_argument("--top-k", type=positive_int, default=5, help="moments per query (default: 5; 10 with --queries)")
    parser.add_argument("--fps", type=positive_fps, default=1.0, help="frames sampled per second (default: 1)")
    parser.add_argument("--iou", type=number_in(0, 1), default=0.5,
                        help="temporal NMS IoU threshold, in (0, 1] (default: 0.5)")
    parser.add_argument("--cache-dir", default=_default_cache(), help="frame-feature cache (default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the disk cache")
    add_model_arguments(parser)
    add_json_argument(parser)


def _default_cache() -> str:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "vidclip", "frame_features")


def _read_queries(path) -> list:
    import json

    rows = []
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not JSON ({error})") from None
            if not isinstance(row, dict) or not isinstance(row.get("query"), str):
                raise ValueError(f"{path}:{number}: expected an object with a \"query\" string")
            rows.append(row)
    return rows


def _by_vid(folder, queries):
    """({video path: its query rows}, rows whose "vid" has no video) for a folder of videos."""
    from pathlib import Path

    from vidclip.video.files import find_videos

    by_stem = {Path(path).stem: path for path in find_videos(folder)}
    videos, missing = {}, []
    for row in queries:
        path = by_stem.get(str(row.get("vid")))
        if path is None:
            missing.append(row)
        else:
            videos.setdefault(path, []).append(row)
    return videos, missing


def run(args) -> int:
    import json
    import sys
    from pathlib import Path

    from vidclip.cli.common import PARTIAL
    from vidclip.errors import VideoDecodeError
    from vidclip.moments.find import find_moments, qvhighlights_predictions

    if (args.query is None) == (args.queries is None):
        return fail("give either a QUERY or --queries FILE")
    try:
        model = load_model(args, cache_dir=None if args.no_cache else args.cache_dir)
        if args.queries is not None:
            queries = _read_queries(args.queries)
            missing = []
            if Path(args.video).is_dir():
                videos, missing = _by_vid(args.video, queries)
            else:
                videos = {args.video: queries}
            rows, unreadable = [], []
            for video, video_queries in videos.items():
                try:
                    rows += qvhighlights_predictions(model, video, video_queries, top_k=max(args.top_k, 10),
                                                     fps=args.fps, iou_threshold=args.iou)
                except VideoDecodeError as error:
                    if len(videos) == 1 and not missing:
                        raise
                    unreadable.append((video, error.reason, len(video_queries)))  # the others still count
            for row in missing:
                print(f"skipped qid {row.get('qid')}: no video for vid {row.get('vid')!r} in {args.video}", file=sys.stderr)
            for video, reason, count in unreadable:
                print(f"skipped {video} ({count} queries): {reason}", file=sys.stderr)
            if not rows:
                kept = f"; {args.out} was left as it was" if args.out and Path(args.out).exists() else ""
                return fail(f"no query could be answered: no readable video for any of them{kept}")
            text = "".join(json.dumps(row) + "\n" for row in rows)
            if args.out:
                from vidclip.atomic import write_text_atomic

                write_text_atomic(args.out, text)
            else:
                print(text, end="")
            return PARTIAL if missing or unreadable else OK
        moments = find_moments(model, args.video, args.query, top_k=args.top_k, fps=args.fps, iou_threshold=args.iou)
    except INPUT_ERRORS as error:
        return fail(error)
    if args.json:
        print_json({"video": args.video, "query": args.query,
                    "moments": [{"start": s, "end": e, "score": round(score, 6)} for s, e, score in moments]})
    else:
        for start, end, score in moments:
            print(f"{start:9.2f} {end:9.2f}  {score:.4f}")
    return OK
