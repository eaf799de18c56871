"""`vidclip train` / `vidclip eval` end to end on tiny videos with the demo-size CLIP (CPU)."""

import json
import os
import shutil

import numpy as np
import pytest
import torch

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


def test_moments_train_and_eval_write_qvhighlights_jsonl(tmp_path, data, capsys, monkeypatch):
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
    assert metrics["saliency_from"] == "saliency head"

    # pred_saliency_scores are the head's per-frame scores averaged per 2 s clip; without a head (an
    # older checkpoint) the cosine curve, labelled as the fallback
    from vidclip.model import VideoCLIP

    evaluate = ["eval", "--checkpoint", str(tmp_path / "run" / "last"), "--data", str(data / "ann.jsonl"),
                "--workers", "0", "--json", "--out"]
    frame_scores = lambda self, video, tokens: torch.arange(video["frames"].shape[1], dtype=torch.float32)[None] * 2
    monkeypatch.setattr(VideoCLIP, "predict_saliency", frame_scores)
    assert main([*evaluate, str(tmp_path / "head")]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["saliency_from"] == "saliency head"
    rows = [json.loads(line) for line in (tmp_path / "head" / "predictions.jsonl").read_text().splitlines()]
    assert {row["pred_saliency_scores"][0] for row in rows} == {3.0}  # 4 frames in the first clip: mean of 0, 2, 4, 6

    monkeypatch.setattr(VideoCLIP, "predict_saliency", lambda self, video, tokens: None)
    assert main([*evaluate, str(tmp_path / "cosine")]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["saliency_from"] == "cosine (untrained fallback)"
    rows = [json.loads(line) for line in (tmp_path / "cosine" / "predictions.jsonl").read_text().splitlines()]
    assert all(-1 <= score <= 1 for row in rows for score in row["pred_saliency_scores"])


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


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data):
    """One finished run (ROOT/run), shared: copy it before changing it."""
    root = tmp_path_factory.mktemp("trained")
    assert main(["train", "--config", str(_config(root, data))]) == 0
    return root / "run"


def _snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_folder_holding_a_run_is_refused_unless_overwrite(tmp_path, data, trained, capsys):
    shutil.copytree(trained, tmp_path / "run")
    before = _snapshot(tmp_path / "run")
    config = _config(tmp_path, data)
    assert main(["train", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--resume" in err and "--overwrite" in err
    assert _snapshot(tmp_path / "run") == before  # nothing replaced, metrics.jsonl not truncated
    assert main(["train", "--config", str(config), "--overwrite", "--set", "train.seed=1"]) == 0
    assert _snapshot(tmp_path / "run")["last/model.safetensors"] != before["last/model.safetensors"]


def test_a_run_folder_in_use_is_refused(tmp_path, trained, capsys):
    from vidclip.locking import locked

    shutil.copytree(trained, tmp_path / "run")
    with locked(tmp_path / "run", what="run folder"):
        assert main(["train", "--resume", str(tmp_path / "run")]) == 2
    assert f"being written by process {os.getpid()}" in capsys.readouterr().err


@pytest.mark.parametrize("override, named", [
    ("model.name=ViT-Nope-99", "ViT-Nope-99"), ("model.pretrained=/no/such/weights.pt", "/no/such/weights.pt"),
    ("model.adapter_options={bogus: 1}", "bogus"), ("train.distributed=ddp", "train.distributed")])
def test_model_and_setup_mistakes_are_exit_2_naming_them(tmp_path, data, override, named, capsys):
    assert main(["train", "--config", str(_config(tmp_path, data)), "--set", override]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err and err.count("\n") == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_a_gpu_is_exit_2(tmp_path, data, capsys):
    assert main(["train", "--config", str(_config(tmp_path, data)), "--device", "cuda"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_a_damaged_checkpoint_header_is_always_refused(tmp_path, trained, capsys):
    """Bit flips along the safetensors header (config, tensor names, shapes, offsets) and truncations."""
    import random

    import vidclip
    from vidclip.errors import VidclipError

    weights = (trained / "last" / "model.safetensors").read_bytes()
    header = 8 + int.from_bytes(weights[:8], "little")
    damaged = tmp_path / "damaged" / "model.safetensors"
    damaged.parent.mkdir()
    positions = sorted(random.Random(0).sample(range(header), 60))  # each load that gets far builds a model
    for position in positions:
        data = bytearray(weights)
        data[position] ^= 1 << (position % 8)
        damaged.write_bytes(bytes(data))
        with pytest.raises(VidclipError) as error:
            vidclip.load(str(damaged.parent))
        assert "\n" not in str(error.value), position
    for length in (0, 7, header // 2, header + 10, len(weights) - 1):
        damaged.write_bytes(weights[:length])
        with pytest.raises(VidclipError, match="truncated or corrupted|not a vidclip checkpoint"):
            vidclip.load(str(damaged.parent))
    assert main(["classify", "v.mp4", "--labels", "a", "--model", str(damaged.parent)]) == 2
    assert "truncated or corrupted" in capsys.readouterr().err


def test_the_default_run_folder_moves_on_to_a_free_name(tmp_path, capsys):
    from vidclip.errors import ConfigError
    from vidclip.train.run_state import claim_run_dir

    default = tmp_path / "runs" / "default"
    assert claim_run_dir(default, default=True) == default  # nothing there yet
    for name in ("default", "default-2"):
        (tmp_path / "runs" / name).mkdir(parents=True)
        (tmp_path / "runs" / name / "metrics.jsonl").write_text("")
    assert claim_run_dir(default, default=True) == tmp_path / "runs" / "default-3"
    assert "this one goes to" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="already holds a run"):
        claim_run_dir(default)
    assert claim_run_dir(default, overwrite=True) == default


def test_eval_with_unreadable_videos_writes_metrics_and_exits_1(tmp_path, data, trained, capsys):
    out = tmp_path / "eval"
    assert main(["eval", "--checkpoint", str(trained), "--data", str(data / "with_broken.jsonl"), "--workers", "0",
                 "--out", str(out)]) == 1
    assert f"skipped {data / 'broken.mp4'}: unreadable video" in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["skipped_videos"] == 1 and metrics["unreadable_videos"] == [str(data / "broken.mp4")]
