"""`vidclip data check`: load every data set of a recipe as `vidclip train` / `vidclip eval` would."""

from vidclip.cli.common import add_json_argument, print_json

HELP = "check a recipe's data sets before training: records, drops, missing and undecodable videos"
DESCRIPTION = """\
Loads every data set a recipe names (data.train, data.val, eval.sets) exactly as `vidclip train`
and `vidclip eval` would, and prints per set: records, videos, classes, records dropped (by reason,
with file, line and video id), moments clipped to their video, missing videos (the first few) and
how many of a sample of videos decode. Run it before a training of hours; `vidclip train` runs the
same checks up front and stops when a set is empty.

examples:
  vidclip data check configs/msrvtt_glscl.yaml
  vidclip data check configs/charades_vdi.yaml --set data.train.video_root=/data/charades/videos
  vidclip data check configs/k400_prompts.yaml --sample 20 --json

exit codes: 0 every set loads whole, 1 some records dropped, videos missing or undecodable (listed),
2 a set does not load or is empty, or a bad config.
"""


def add_arguments(parser):
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="load and check every data set of a recipe")
    check.add_argument("config", nargs="+", metavar="CONFIG", help="recipe YAML; several are layered (later wins)")
    check.add_argument("--set", "-s", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                       help="override one field, as in `vidclip train` (e.g. data.train.video_root=/data/x)")
    check.add_argument("--sample", type=int, default=5, metavar="N",
                       help="videos per set to decode, spread over the set (default: 5; 0 = none)")
    add_json_argument(check)


def run(args) -> int:
    import logging

    from vidclip.data.check import check_recipe
    from vidclip.train.config import load_config

    logging.getLogger("vidclip.data").setLevel(logging.ERROR)  # the load warnings are what this prints anyway
    config = load_config(args.config, args.overrides)
    checks = check_recipe(config, sample=args.sample)
    status = max((check.status for check in checks), default=0)
    if args.json:
        print_json({"sets": [check.to_dict() for check in checks], "status": status})
    else:
        print("\n".join(check.summary() for check in checks) if checks else "the recipe names no data sets")
    return status
