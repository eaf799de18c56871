"""Subcommands of the `vidclip` CLI, one module each (see vidclip.cli)."""
