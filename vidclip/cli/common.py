"""What the commands that use a model share: model options, JSON output, exit codes.

Exit codes: 0 all done, 1 done with some inputs skipped (unreadable videos), 2 bad usage or input
(missing file, empty query, index of another model, corrupted index, missing optional extra).
"""

import json
import sys

from vidclip.registry import ADAPTERS

OK, PARTIAL, BAD_INPUT = 0, 1, 2
INPUT_ERRORS = (FileNotFoundError, ValueError, ImportError)


def add_model_arguments(parser, *, required: bool = True) -> None:
    group = parser.add_argument_group("model")
    group.add_argument("--model", "-m", required=required,
                       help="model name (e.g. ViT-B-32) or a vidclip checkpoint folder/file")
    group.add_argument("--pretrained", help="open_clip pretrained tag or weights file (with a model name)")
    group.add_argument("--adapter", choices=ADAPTERS, metavar="ADAPTER",
                       help="video adapter, with a model name: %(choices)s")
    group.add_argument("--num-frames", type=int, help="frames per clip (default: the model's)")
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
