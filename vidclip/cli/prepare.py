"""`vidclip prepare SRC DST`: short-GOP, small-resolution copies of a folder of videos."""

HELP = "transcode a folder of videos to short-GOP, small H.264 copies for fast training"

DESCRIPTION = """\
Transcode every video under SRC (recursively: mp4, mkv, webm, avi, mov, ...) to an H.264 .mp4
under DST with the same relative name: short side --size pixels (never upscaled, rotation
applied), a keyframe every --gop seconds, no audio. Random access into such copies decodes a
second of video at most, so training and indexing read frames many times faster.
Files that fail are skipped and listed; the exit code is 1 if any failed. Existing outputs
are kept (re-run to resume), unless --overwrite. Uses the ffmpeg CLI if on PATH, else PyAV.

examples:
  vidclip prepare data/msrvtt/videos data/msrvtt/videos_224
  vidclip prepare raw/ small/ --size 256 --fps 3 --workers 8
  vidclip prepare raw/ small/ --json > prepare_summary.json
"""


def add_arguments(parser):
    from vidclip.cli.common import at_least, number_in, positive_fps, positive_int

    parser.add_argument("src", help="folder of videos (searched recursively)")
    parser.add_argument("dst", help="output folder (created)")
    parser.add_argument("--size", type=at_least(2), default=224, help="short side in pixels (default: 224)")
    parser.add_argument("--gop", type=number_in(0, 3600), default=1.0, help="seconds between keyframes (default: 1)")
    parser.add_argument("--fps", type=positive_fps, default=None, help="resample to this frame rate (default: keep)")
    parser.add_argument("--workers", type=positive_int, default=None, help="parallel transcodes (default: CPU count)")
    parser.add_argument("--overwrite", action="store_true", help="redo outputs that already exist")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")


def run(args) -> int:
    import json
    import sys
    from pathlib import Path

    from tqdm import tqdm

    from vidclip.video.prepare import find_videos, prepare

    src = Path(args.src)
    if not src.is_dir():
        print(f"vidclip prepare: {src} is not a folder", file=sys.stderr)
        return 2
    total = len(find_videos(src))
    with tqdm(total=total, unit="video", desc="prepare", file=sys.stderr, disable=total == 0) as bar:
        summary = prepare(
            src, Path(args.dst), size=args.size, gop_seconds=args.gop, fps=args.fps,
            workers=args.workers, overwrite=args.overwrite, progress=lambda _: bar.update(1),
        )
        bar.update(total - bar.n)  # outputs that already existed
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    else:
        print(f"{len(summary.converted)} converted, {len(summary.skipped)} already there, {len(summary.failed)} failed")
        for source, reason in summary.failed.items():
            print(f"  failed: {source}: {reason}")
    return 1 if summary.failed else 0
