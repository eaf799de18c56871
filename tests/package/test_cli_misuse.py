"""Every subcommand refuses each invalid numeric option when parsing: exit 2, one usage line, no traceback."""

import pytest

from vidclip.cli import main

MODEL = ["--model", "tiny"]
# (command line before the bad option, option, bad values)
CASES = [
    (["classify", "v.mp4", "--labels", "a,b", *MODEL], "--top-k", ["0", "-1", "x"]),
    (["classify", "v.mp4", "--labels", "a,b", *MODEL], "--num-frames", ["0"]),
    (["moments", "v.mp4", "q", *MODEL], "--top-k", ["0"]),
    (["moments", "v.mp4", "q", *MODEL], "--fps", ["0", "-1", "1e9", "nan", "inf"]),
    (["moments", "v.mp4", "q", *MODEL], "--iou", ["0", "5", "-0.1", "nan"]),
    (["moments", "v.mp4", "q", *MODEL], "--num-frames", ["0"]),
    (["embed", "v.mp4", "--out", "e.safetensors", *MODEL], "--batch-size", ["0", "-3"]),
    (["embed", "v.mp4", "--out", "e.safetensors", *MODEL], "--workers", ["0"]),
    (["index", "build", "v.mp4", "--out", "i.index", *MODEL], "--batch-size", ["0"]),
    (["index", "add", "i.index", "v.mp4", *MODEL], "--workers", ["-1"]),
    (["index", "search", "i.index", "red", *MODEL], "-k", ["0", "1.5"]),
    (["eval", "--checkpoint", "c", "--data", "a.jsonl"], "--batch-size", ["0"]),
    (["eval", "--checkpoint", "c", "--data", "a.jsonl"], "--num-frames", ["0"]),
    (["eval", "--checkpoint", "c", "--data", "a.jsonl"], "--workers", ["-1"]),
    (["synth", "out"], "--frames", ["0"]),
    (["synth", "out"], "--fps", ["0", "nan"]),
    (["synth", "out"], "--twin-fraction", ["1.5", "-0.5"]),
    (["synth", "out"], "--num-train", ["-1"]),
    (["synth", "out"], "--size", ["1"]),
    (["prepare", "src", "dst"], "--size", ["0"]),
    (["prepare", "src", "dst"], "--gop", ["0", "-1"]),
    (["prepare", "src", "dst"], "--fps", ["0"]),
    (["demo"], "--threads", ["0"]),
]


@pytest.mark.parametrize("argv, option, value", [(argv, option, value) for argv, option, values in CASES
                                                  for value in values])
def test_invalid_option_value_is_exit_2_naming_the_option(argv, option, value, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*argv, option, value])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert f"argument {option}" in err and "Traceback" not in err


@pytest.mark.parametrize("override, field", [("optim.lr=.nan", "optim.lr"), ("optim.lr=0", "optim.lr"),
                                             ("optim.tower_lr=-1e-5", "optim.tower_lr"),
                                             ("optim.lr=.inf", "optim.lr"), ("data.fps=.nan", "data.fps"),
                                             ("train.batch_size=0", "train.batch_size")])
def test_train_refuses_non_finite_or_non_positive_settings(tmp_path, override, field, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("train: {out_dir: %s}\n" % (tmp_path / "run"))
    assert main(["train", "--config", str(config), "--set", override]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()
