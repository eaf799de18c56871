"""The CLI's last line of defence: a deliberate vidclip error is one line and exit 2; a bug is not hidden."""

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


def test_a_bug_is_not_turned_into_a_bad_input_exit(monkeypatch, tmp_path):
    def bug(args):
        raise KeyError("a bug")

    monkeypatch.setattr(synth, "run", bug)
    with pytest.raises(KeyError, match="a bug"):
        main(["synth", str(tmp_path / "out")])
