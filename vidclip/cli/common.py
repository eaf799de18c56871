"""What the commands that use a model share: model options, JSON output, exit codes.

Exit codes: 0 all done, 1 done with some inputs skipped (unreadable videos), 2 bad usage or input
(missing file, empty query, index of another model, corrupted index, missing optional extra).
"""

import argparse
import json
import math
import sys

from vidclip.registry import ADAPTERS

OK, PARTIAL, BAD_INPUT = 0, 1, 2
INPUT_ERRORS = (FileNotFoundError, ValueError, ImportError)


def _number(kind, text):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def at_least(minimum: int):
    """argparse type: an integer >= minimum (`--top-k 0` is refused when parsing, not after the model loads)."""

    def parse(text):
        value = _number(int, text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def number_in(low: float, high: float, *, low_open: bool = True):
    """argparse type: a finite float in (low, high] (or [low, high] with low_open=False)."""

    def parse(text):
        value = _number(float, text)
        if value > high or value < low or (low_open and value == low):
            raise argparse.ArgumentTypeError(f"must be in {'(' if low_open else '['}{low:g}, {high:g}], got {text}")
        return value

    return parse


positive_int = at_least(1)
MAX_FPS = 1000.0  # above any real video's frame rate; the video's own rate is checked when it is read
positive_fps = number_in(0, MAX_FPS)


def add_model_arguments(parser, *, required: bool = True) -> None:
    group = parser.add_argument_group("model")
    group.add_argument("--model", "-m", required=required,
                       help="model name (e.g. ViT-B-32, hf-hub:ORG/NAME), a vidclip checkpoint folder/file, "
                            "or a Hugging Face CLIPModel folder")
    group.add_argument("--pretrained", help="open_clip pretrained tag, weights file or Hugging Face CLIPModel folder "
                                            "(with a model name of the same architecture)")
    group.add_argument("--adapter", choices=ADAPTERS, metavar="ADAPTER",
                       help="video adapter, with a model name: %(choices)s")
    group.add_argument("--num-frames", type=positive_int, help="frames per clip (default: the model's)")
    group.add_argument("--device", default="cpu", help="torch device (default: cpu)")


def add_json_argument(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def load_model(args, **options):
    from vidclip.api import load

    return load(args.model, pretrained=args.pretrained, device=args.device, adapter=args.adapter,
                num_frames=args.num_frames, **options)


def fail(error) -> int:
    """Report a bad-input error on stderr; exit code 2."""
    print(f"error: {error}", file=sys.stderr)
    return BAD_INPUT


def report_skipped(skipped) -> None:
    for path, reason in skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)


def print_json(document) -> None:
    json.dump(document, sys.stdout, indent=None)
    sys.stdout.write("\n")


def annotation_captions(path) -> list:
    """The captions of an annotation file in any format (a QB-Norm query bank)."""
    from vidclip.data.formats import load_annotations

    captions = [record.caption for record in load_annotations(path) if record.caption]
    if not captions:
        raise ValueError(f"{path}: no captions in it to use as a query bank")
    return captions
