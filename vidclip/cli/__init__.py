"""The `vidclip` command: one subcommand per module in `vidclip.cli`.

Each command module defines `HELP` (one line), `DESCRIPTION` (examples for `--help`),
`add_arguments(parser)` and `run(args) -> int`. Modules import heavy libraries inside `run`,
so `vidclip --help` stays fast.
"""

import argparse
import sys
import traceback
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
    "import": "import_weights",
    "export": "export",
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
    parser.add_argument("--debug", action="store_true", help="show the traceback of bad-input errors too (exit 2)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in _available_commands():
        sub = subparsers.add_parser(
            name,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show the traceback of bad-input errors too")
        sub.set_defaults(_run=module.run)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from vidclip.errors import VidclipError, describe_os_error

    prefix = f"vidclip {args.command}: error:"
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (VidclipError, OSError) as error:  # bad input or environment, never a bug: one line, exit 2
        if args.debug:
            traceback.print_exc()
        message = describe_os_error(error) if isinstance(error, OSError) and not isinstance(error, VidclipError) else error
        print(f"{prefix} {message}", file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001 - anything else is a bug: say so, with the traceback to report
        traceback.print_exc()
        print(f"{prefix} internal error: this is a bug, please report it with the traceback above",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
