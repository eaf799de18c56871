"""The `vidclip` command: one subcommand per module in `vidclip.cli`.

Each command module defines `HELP` (one line), `DESCRIPTION` (examples for `--help`),
`add_arguments(parser)` and `run(args) -> int`. Modules import heavy libraries inside `run`,
so `vidclip --help` stays fast.
"""

import argparse
import sys
from importlib import import_module

# subcommand -> module under vidclip.cli (order is the order shown in --help)
COMMANDS = {
    "synth": "synth",
    "prepare": "prepare",
    "data": "data",
    "train": "train",
    "eval": "evaluate",
    "embed": "embed",
    "index": "index",
    "moments": "moments",
    "classify": "classify",
    "serve": "serve",
    "demo": "demo",
}


def _available_commands():
    """Yield (name, module) for the commands whose module exists in this install."""
    for name, module_name in COMMANDS.items():
        try:
            module = import_module(f"vidclip.cli.{module_name}")
        except ModuleNotFoundError as error:
            if error.name == f"vidclip.cli.{module_name}":
                continue
            raise
        yield name, module


def build_parser():
    parser = argparse.ArgumentParser(
        prog="vidclip",
        description="Adapt image-text CLIP towers to video: train, evaluate, embed, search and find moments.",
        epilog="Run `vidclip COMMAND --help` for examples of each command.",
    )
    from vidclip import __version__

    parser.add_argument("--version", action="version", version=f"vidclip {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in _available_commands():
        sub = subparsers.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from vidclip.errors import VidclipError

    try:
        return int(args._run(args) or 0)
    except VidclipError as error:  # bad input or environment, never a bug: one line, exit 2
        print(f"vidclip {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
