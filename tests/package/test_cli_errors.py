"""The CLI's last line of defence: a deliberate vidclip error is one line and exit 2; a bug is not hidden."""

import errno

import pytest

import vidclip.cli.synth as synth
from vidclip.cli import main
from vidclip.errors import ConfigError


def test_a_vidclip_error_a_command_lets_through_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path):
    def bad_input(args):
        raise ConfigError("data.train.format: expected one of 'auto', 'msrvtt', got str 'nope'")

    monkeypatch.setattr(synth, "run", bad_input)
    assert main(["synth", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == "vidclip synth: error: data.train.format: expected one of 'auto', 'msrvtt', got str 'nope'\n"


def test_a_bug_is_exit_3_with_its_traceback_and_says_so(monkeypatch, capsys, tmp_path):
    def bug(args):
        raise KeyError("a bug")

    monkeypatch.setattr(synth, "run", bug)
    assert main(["synth", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "KeyError: 'a bug'" in err
    assert err.rstrip().endswith("this is a bug, please report it with the traceback above")


def test_debug_shows_the_traceback_of_a_bad_input_error(monkeypatch, capsys, tmp_path):
    def bad_input(args):
        raise ConfigError("model.name: unknown")

    monkeypatch.setattr(synth, "run", bad_input)
    assert main(["synth", str(tmp_path / "out"), "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.endswith("vidclip synth: error: model.name: unknown\n")


def test_a_full_disk_names_the_path_and_the_fix(monkeypatch, capsys, tmp_path):
    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device", "out/my.index")

    monkeypatch.setattr(synth, "run", full)
    assert main(["synth", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == ("vidclip synth: error: out/my.index: No space left on device "
                                       "(free some space or write elsewhere)\n")
