"""`vidclip synth`: write the synthetic shape-video dataset (videos, annotations, frame caches)."""

HELP = "generate synthetic captioned shape videos with temporal twins, moments and stills"
DESCRIPTION = """\
Renders coloured shapes that move, grow/shrink, appear/disappear, change colour or rotate, encodes
them as H.264 MP4 and writes the annotations in the public datasets' formats:
  retrieval/  MSR-VTT (MSRVTT_data.json, train.csv 9k-style, test.csv / novel.csv 1k-A-style), twins.json
  moments/    untrimmed videos of 3-6 events: Charades-STA lines, Charades-CG json, QVHighlights jsonl
  classes/    Kinetics-400 CSVs of the action labels (zero-shot classification)
  images/     still image-caption pairs (images.npy + captions.jsonl) for image-text pre-training
  generic/    vidclip jsonl ({"video", "caption", "start", "end", ...})
  manifest.json  what is where, counts, seed, sizes
Half the clips (--twin-fraction) come in temporal twins: the same frames reversed, captioned with
the reversed action. The novel split holds (action, shape) pairs never seen in train or test.
Decoded frames are cached as .npy (load with vidclip.data.synthetic.load_clip_tensor_cache).
The same seed and flags give the same bytes.

examples:
  vidclip synth data/synth
  vidclip synth data/tiny --num-train 200 --num-test 50 --num-novel 50 --num-moment-videos 20 10 10
  vidclip synth data/big --size 64 --frames 16 --fps 16 --seed 3 --overwrite
"""


def add_arguments(parser):
    from vidclip.cli.common import at_least, number_in, positive_fps, positive_int

    parser.add_argument("out", help="output folder")
    parser.add_argument("--seed", type=int, metavar="N", default=0, help="random seed (default: 0)")
    parser.add_argument("--num-train", type=at_least(0), metavar="N", default=2000, help="training clips (default: 2000)")
    parser.add_argument("--num-test", type=at_least(0), metavar="N", default=500, help="test clips (default: 500)")
    parser.add_argument("--num-novel", type=at_least(0), metavar="N", default=300, help="novel-composition test clips (default: 300)")
    parser.add_argument("--frames", type=positive_int, metavar="N", default=8, help="frames per clip (default: 8)")
    parser.add_argument("--size", type=at_least(2), metavar="N", default=32, help="frame width = height in pixels, even (default: 32)")
    parser.add_argument("--fps", type=positive_fps, metavar="F", default=8, help="frame rate of every video (default: 8)")
    parser.add_argument("--twin-fraction", type=number_in(0, 1, low_open=False), metavar="F", default=0.5,
                        help="fraction of clips that come as temporal-twin pairs (default: 0.5)")
    parser.add_argument("--captions-per-clip", type=positive_int, metavar="N", default=5, help="captions per clip (default: 5)")
    parser.add_argument("--num-moment-videos", type=at_least(0), nargs=3, default=[200, 100, 100],
                        metavar=("TRAIN", "TEST", "NOVEL"), help="untrimmed moment videos per split (default: 200 100 100)")
    parser.add_argument("--num-images", type=at_least(0), metavar="N", default=10000, help="still image-caption pairs (default: 10000)")
    parser.add_argument("--no-frame-cache", action="store_true", help="do not write the decoded-frame .npy caches")
    parser.add_argument("--workers", type=positive_int, metavar="N", help="processes (default: one per CPU core, at most 8)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier output in OUT")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args) -> int:
    import sys
    import time

    from vidclip.data.synthetic import generate

    began = time.perf_counter()
    try:
        manifest = generate(
            args.out, seed=args.seed, num_train=args.num_train, num_test=args.num_test, num_novel=args.num_novel,
            num_frames=args.frames, size=args.size, fps=args.fps, twin_fraction=args.twin_fraction,
            captions_per_clip=args.captions_per_clip, num_moment_train=args.num_moment_videos[0],
            num_moment_test=args.num_moment_videos[1], num_moment_novel=args.num_moment_videos[2],
            num_images=args.num_images, frame_cache=not args.no_frame_cache, workers=args.workers,
            overwrite=args.overwrite, progress=not args.quiet)
    except (ValueError, FileExistsError) as error:
        print(f"vidclip synth: error: {error}", file=sys.stderr)
        return 2
    counts = manifest["counts"]
    print(f"wrote {args.out} in {time.perf_counter() - began:.1f}s: "
          f"clips {counts['clips']}, twin pairs {counts['twin_pairs']}, moment videos {counts['moment_videos']} "
          f"({counts['moment_queries']} queries), {counts['images']} images")
    return 0
