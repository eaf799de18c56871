"""`vidclip train` / `vidclip eval` end to end on tiny videos with the demo-size CLIP (CPU)."""

import json

import numpy as np
import pytest

from vidclip.cli import main

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "white": (255, 255, 255),
           "black": (0, 0, 0), "yellow": (255, 255, 0), "cyan": (0, 255, 255), "magenta": (255, 0, 255)}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """8 tiny clips (one moving bar each) + one broken file, as a jsonl annotation file."""
    from vidclip.data.synthetic.encode import write_mp4

    root = tmp_path_factory.mktemp("data")
    lines = []
    for i, (name, rgb) in enumerate(COLOURS.items()):
        frames = np.zeros((8, 32, 32, 3), np.uint8)
        frames[:] = rgb
        for t in range(8):
            frames[t, :, 4 * t:4 * t + 4] = 128
        write_mp4(root / f"v{i}.mp4", frames, fps=4)
        lines.append({"video": f"v{i}.mp4", "caption": f"a {name} square", "start": 0.5, "end": 1.5, "duration": 2.0})
    (root / "ann.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (root / "broken.mp4").write_bytes(b"not a video")
    broken = lines + [{"video": "broken.mp4", "caption": "a broken clip"}]
    (root / "with_broken.jsonl").write_text("".join(json.dumps(line) + "\n" for line in broken))
    (root / "empty.jsonl").write_text("")
    return root


def _config(tmp_path, data, annotations="ann.jsonl", **train):
    train = {"task": "retrieval", "max_steps": 2, "batch_size": 4, "out_dir": str(tmp_path / "run"), "log_every": 1,
             "progress": False, "tensorboard": False, **train}
    config = {"model": {"name": "demo-vit-8", "pretrained": None, "adapter": "meanp", "num_frames": 4},
              "data": {"train": {"format": "jsonl", "annotations": str(data / annotations)}, "workers": 0},
              "train": train, "optim": {"lr": 1e-3, "tower_lr": 1e-4}}
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def test_train_resume_and_eval(tmp_path, data, capsys):
    config = _config(tmp_path, data, "with_broken.jsonl")
    assert main(["train", "--config", str(config), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 2 and summary["bad_videos"] >= 1  # the broken clip was skipped, not fatal

    run = tmp_path / "run"
    assert main(["train", "--resume", str(run), "--set", "train.max_steps=3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 3

    out = tmp_path / "eval"
    assert main(["eval", "--checkpoint", str(run), "--data", str(data / "ann.jsonl"), "--workers", "0",
                 "--out", str(out), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["task"] == "retrieval" and metrics["num_videos"] == 8
    assert {"t2v_R1", "t2v_MedR", "v2t_R5", "v2t_MnR"} <= set(metrics)
    assert json.loads((out / "metrics.json").read_text())["t2v_R1"] == metrics["t2v_R1"]
    # one caption per video: both video->text conventions give the same ranks
    assert main(["eval", "--checkpoint", str(run), "--data", str(data / "ann.jsonl"), "--workers", "0",
                 "--v2t-rank", "by_caption", "--ties", "optimistic", "--json"]) == 0
    other = json.loads(capsys.readouterr().out)
    assert other["v2t_MnR"] == metrics["v2t_MnR"] and other["t2v_MnR"] <= metrics["t2v_MnR"]

    evaluate = ["eval", "--checkpoint", str(run), "--data", str(data / "ann.jsonl"), "--workers", "0", "--json"]
    assert main([*evaluate, "--rerank", "qbnorm"]) == 2
    assert "--querybank" in capsys.readouterr().err
    for rerank in (["--rerank", "dsl"], ["--rerank", "qbnorm", "--querybank", str(data / "with_broken.jsonl")]):
        assert main([*evaluate, *rerank]) == 0
        reranked = json.loads(capsys.readouterr().out)
        assert reranked["rerank"] == rerank[1] and 0 <= reranked["t2v_R1"] <= 100 and reranked["num_texts"] == 8


def test_moments_train_and_eval_write_qvhighlights_jsonl(tmp_path, data, capsys):
    config = _config(tmp_path, data, task="moments")
    assert main(["train", "--config", str(config), "--set", "model.adapter=vdi"]) == 0
    out = tmp_path / "eval"
    assert main(["eval", "--checkpoint", str(tmp_path / "run" / "last"), "--data", str(data / "ann.jsonl"),
                 "--workers", "0", "--out", str(out), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert metrics["task"] == "moments" and {"R1@0.5", "R5@0.7", "mIoU", "mAP@0.5", "mAP"} <= set(metrics)
    first = json.loads((out / "predictions.jsonl").read_text().splitlines()[0])
    assert {"qid", "query", "vid", "pred_relevant_windows", "pred_saliency_scores"} <= set(first)
    assert all(len(window) == 3 for window in first["pred_relevant_windows"])
    assert "HL-min-Fair-mAP" not in metrics  # no saliency labels in this file

    # QVHighlights with saliency labels: highlight detection is scored too
    rows = [{"qid": 10 + i, "query": f"a {name} square", "vid": f"v{i}", "duration": 4.0,
             "relevant_windows": [[0.5, 1.5]], "relevant_clip_ids": [0, 1], "saliency_scores": [[4, 2, 1], [1, 0, 0]]}
            for i, name in enumerate(COLOURS)]
    qvh = tmp_path / "highlight_val_release.jsonl"
    qvh.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert main(["eval", "--checkpoint", str(tmp_path / "run" / "last"), "--data", str(qvh), "--video-root",
                 str(data), "--workers", "0", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert metrics["num_highlight_queries"] == 8
    # every sampled frame lies in clip 0 (the videos last 2 s), so clip 1 repeats its score: one tied
    # threshold, AP 1/2 for each annotator with a positive; the tie's argmax is clip 0, a hit
    assert metrics["HL-min-Fair-mAP"] == pytest.approx(100 / 3)  # annotators 0 and 1 rate clip 0 >= 2
    assert metrics["HL-min-VeryGood-mAP"] == pytest.approx(50 / 3)  # only annotator 0 rates it 4
    assert metrics["HL-min-Fair-Hit1"] == metrics["HL-min-VeryGood-Hit1"] == 100.0


def test_config_errors_name_the_field(tmp_path, data, capsys):
    config = _config(tmp_path, data)
    assert main(["train", "--config", str(config), "--set", "train.batch_sise=4"]) == 2
    err = capsys.readouterr().err
    assert "train.batch_sise" in err and "batch_size" in err
    assert main(["train", "--config", str(config), "--set", "model.adapter=lstm"]) == 2
    err = capsys.readouterr().err
    assert "model.adapter" in err and "'glscl'" in err
    assert main(["train", "--config", str(config), "--set", "train.batch_size=6",
                 "--set", "optim.accumulation=4"]) == 2
    assert "train.batch_size" in capsys.readouterr().err


def test_empty_dataset_is_a_clear_error(tmp_path, data, capsys):
    assert main(["train", "--config", str(_config(tmp_path, data, "empty.jsonl"))]) == 2
    assert "empty.jsonl holds no annotations" in capsys.readouterr().err


def test_resume_with_another_architecture_names_both(tmp_path, data, capsys):
    config = _config(tmp_path, data)
    assert main(["train", "--config", str(config)]) == 0
    code = main(["train", "--config", str(config), "--set", "model.adapter=seqtransf", "--resume",
                 str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2
    assert "demo-vit-8 + meanp" in err and "demo-vit-8 + seqtransf" in err


def test_data_check_reports_each_set_with_exit_codes(tmp_path, data, capsys):
    assert main(["data", "check", str(_config(tmp_path, data)), "--sample", "9"]) == 0
    out = capsys.readouterr().out
    assert "data.train: " in out and "8 records, 8 videos" in out and "decoded 8 of 8 sampled videos" in out

    assert main(["data", "check", str(_config(tmp_path, data, "with_broken.jsonl")), "--sample", "9", "--json"]) == 1
    (report,) = json.loads(capsys.readouterr().out)["sets"]
    assert report["records"] == 9 and report["status"] == 1
    assert [path for path, _ in report["undecodable"]] == [str(data / "broken.mp4")]

    config = _with_sets(_config(tmp_path, data), val=str(data / "empty.jsonl"), eval_set="nowhere.jsonl")
    assert main(["data", "check", str(config)]) == 2
    out = capsys.readouterr().out
    assert "data.val: " in out and "0 records" in out and "empty" in out
    assert "eval.sets[0]: error: eval.sets[0].annotations: file not found: nowhere.jsonl" in out


def test_train_stops_before_the_model_when_an_eval_set_is_empty(tmp_path, data, capsys, monkeypatch):
    import vidclip.train.runner as runner

    monkeypatch.setattr(runner, "create_video_model", lambda *a, **k: pytest.fail("model built before the data check"))
    config = _with_sets(_config(tmp_path, data), eval_set=str(data / "empty.jsonl"))
    assert main(["train", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "eval.sets[0]: " in err and "empty.jsonl holds no annotations: nothing to evaluate on" in err


def _with_sets(config_path, *, val=None, eval_set=None):
    """The config with a data.val and one eval set (jsonl) added."""
    config = json.loads(config_path.read_text())
    if val is not None:
        config["data"]["val"] = {"format": "jsonl", "annotations": val}
    if eval_set is not None:
        config["eval"] = {"sets": [{"format": "jsonl", "annotations": eval_set}]}
    config_path.write_text(json.dumps(config))
    return config_path
