"""The demo: a smoke run at a minuscule budget (results.json keys, report, plots) and its metric helpers.

Accuracy is never asserted here: the quick budget trains for two steps on a few dozen clips.
"""

import json
from pathlib import Path

import pytest
import torch

from vidclip.demo import evaluation
from vidclip.demo.pipeline import DemoOptions, demo_methods, run_demo, stage_overrides

CLIP_KEYS = ("twin_acc", "t2v_R1", "t2v_R1_dsl", "novel_t2v_R1", "zeroshot_top1")
MOMENT_KEYS = ("R1@0.5", "mIoU", "HL-mAP", "HL-Hit1")


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    results = run_demo(DemoOptions(out=out, quick=True, device="cpu", progress=False))
    return out, results


def test_quick_demo_writes_every_result(quick_demo):
    out, returned = quick_demo
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["quick"] is True
    assert set(results["methods"]) == set(demo_methods())
    for method, metrics in results["methods"].items():
        for key in CLIP_KEYS:
            assert isinstance(metrics[key], float) and 0 <= metrics[key] <= 100, (method, key)
        for key in MOMENT_KEYS:
            assert (key in metrics) == (method.partition("-")[0] == "vdi"), (method, key)  # VDI and its ablation
    for key in MOMENT_KEYS:
        assert 0 <= results["methods"]["vdi"][key] <= 100
    assert {"claim", "measured", "met"} <= set(results["targets"][0])
    assert results["runs"]["pretrain"]["steps"] == 2
    assert returned["methods"].keys() == results["methods"].keys()


def test_quick_demo_ends_with_the_command_that_serves_its_index(quick_demo):
    out, results = quick_demo
    from vidclip.search.index import VideoIndex

    serve = results["serve"]
    assert serve["command"].split() == ["vidclip", "serve", str(out / "moments.index"), "--model", str(out / "runs" / "vdi" / "last")]
    index = VideoIndex.load(serve["index"])
    assert len(index) == serve["count"] == len(list((out / "data" / "moments" / "videos").glob("*.mp4")))


def test_quick_demo_writes_report_and_plots(quick_demo):
    out, _ = quick_demo
    report = (out / "report.md").read_text()
    assert "| meanP |" in report and "| GLSCL |" in report
    for plot in ("loss_curves.png", "metrics.png"):
        assert (out / plot).stat().st_size > 0
        assert f"]({plot})" in report
    for stage in ("pretrain", *demo_methods()):
        assert (out / "runs" / stage / "metrics.jsonl").stat().st_size > 0
        assert (out / "runs" / stage / "last" / "model.safetensors").is_file()


def test_ablation_checks_compare_with_the_full_method_or_say_they_cannot():
    from vidclip.demo.report import target_checks

    def checks(methods):
        return {c["claim"]: c for c in target_checks(methods) if "injection" in c["claim"] or "aggregation" in c["claim"]}

    full = {"vdi": {"R1@0.5": 70.0, "novel_R1@0.5": 50.0, "zeroshot_top1": 40.0},
            "vdi-noinject": {"R1@0.5": 71.0, "novel_R1@0.5": 45.0, "zeroshot_top1": 20.0},
            "glscl-noagg": {"twin_acc": 52.0}}
    found = checks(full)
    assert [c["met"] for c in found.values()] == [True, False, True, True]  # aggregation, test, novel, zero-shot
    assert any(c["measured"] == "71.0% (full VDI: 70.0%)" for c in found.values())
    alone = checks({"vdi-noinject": full["vdi-noinject"]})  # the ablation run without its full method
    assert len(alone) == 3 and all(c["met"] is None for c in alone.values())


def test_the_demo_command_is_registered():
    from vidclip.cli import build_parser

    args = build_parser().parse_args(["demo", "--quick", "--out", "x", "--set", "vdi:optim.lr=1e-3"])
    assert args.quick and args.out == "x" and args.overrides == ["vdi:optim.lr=1e-3"]


def test_stage_overrides_pick_their_stage():
    items = ["optim.lr=1", "vdi:train.max_steps=3", "adapt:optim.tower_lr=0", "pretrain:train.batch_size=4"]
    assert stage_overrides(items, "vdi") == ["optim.lr=1", "train.max_steps=3", "optim.tower_lr=0"]
    assert stage_overrides(items, "pretrain") == ["optim.lr=1", "train.batch_size=4"]
    assert stage_overrides(items, "meanp") == ["optim.lr=1", "optim.tower_lr=0"]
    from vidclip.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown stage"):
        stage_overrides(["meanpp:optim.lr=1"], "meanp")


def test_twin_accuracy_is_half_for_an_order_blind_model():
    # 3 twin pairs, 2 captions per clip; the twins' videos score every caption identically
    torch.manual_seed(0)
    owner = [c for c in range(6) for _ in range(2)]
    per_pair = torch.randn(12, 3)  # caption x pair
    sim = per_pair[:, [0, 0, 1, 1, 2, 2]]  # (12 texts, 6 videos): video 2k and 2k+1 are the same
    assert evaluation.twin_accuracy(sim, owner, [(0, 1), (2, 3), (4, 5)]) == pytest.approx(50.0)
    # a model that ranks each clip's own captions first wins every comparison
    perfect = torch.zeros(12, 6)
    perfect[torch.arange(12), torch.tensor(owner)] = 1.0
    assert evaluation.twin_accuracy(perfect, owner, [(0, 1), (2, 3), (4, 5)]) == 100.0


def _clip(action, colour="red"):
    return {"action": action, "shape": "circle", "colour": colour}


def test_distinct_gallery_recall_ignores_clips_that_share_a_meaning():
    # clips 0 and 1 mean the same; every caption prefers the other copy, which plain R@1 counts as a miss
    clips = [_clip("grow"), _clip("grow"), _clip("shrink"), _clip("move_left")]
    owner = [0, 1, 2, 3]
    sim = torch.eye(4)
    sim[0, 1], sim[1, 0] = 2.0, 2.0
    assert evaluation.distinct_gallery_recall(sim, owner, clips, gallery_size=3) == 100.0
    # caption 2 prefers clip 3, which is in every 3-clip gallery drawn from 3 meanings: 2 of 3 right
    sim[2, 3] = 5.0
    assert evaluation.distinct_gallery_recall(sim, owner, clips, gallery_size=3) == pytest.approx(200 / 3)
    # galleries of 2: caption 2 misses only when drawn with clip 3 (the mean over draws approaches 5/6)
    assert 60 < evaluation.distinct_gallery_recall(sim, owner, clips, gallery_size=2, draws=400) < 100
    with pytest.raises(ValueError, match="3 meanings"):
        evaluation.distinct_gallery_recall(sim, owner, clips, gallery_size=4)
    assert evaluation.distinct_meanings(clips) == 3


def test_configs_dir_is_found():
    from vidclip.demo.pipeline import default_configs_dir

    assert (default_configs_dir() / "synthetic_pretrain.yaml").is_file()
    assert Path(default_configs_dir()).name == "configs"


@pytest.mark.parametrize("adapter", ["seqtransf", "vdi"])
def test_cached_frame_features_give_the_models_own_losses(adapter):
    """The frame cache skips the frozen tower, nothing else: same losses as from pixels."""
    from vidclip.demo.data import ClipCaptions, collate_samples, embed_frames
    from vidclip.train.tasks import MomentTask, RetrievalTask
    from vidclip.factory import create_model

    torch.manual_seed(0)
    model = create_model("demo-vit-8", None, adapter=adapter, num_frames=4, freeze="visual")
    frames = torch.randint(0, 256, (6, 4, 3, 32, 32), dtype=torch.uint8)
    clips = [{"video_id": f"v{i}", "captions": [f"a red circle number {i} moves left"]} for i in range(6)]
    features = embed_frames(model, frames.flatten(0, 1), patches=model.adapter.needs_patches)
    cached = {k: v.unflatten(0, (6, 4)) for k, v in features.items()}
    pixels = collate_samples([ClipCaptions({"frames": frames}, clips)[i] for i in range(6)])
    fast = collate_samples([ClipCaptions(cached, clips)[i] for i in range(6)])
    model.train()
    identity = lambda x: x  # noqa: E731
    tasks = [RetrievalTask()]
    if adapter == "vdi":
        tasks.append(MomentTask())
        for batch in (pixels, fast):
            batch["start"], batch["end"], batch["duration"] = torch.zeros(6), torch.full((6,), 1.0), torch.full((6,), 2.0)
    for task in tasks:
        torch.manual_seed(1)  # the saliency loss draws its easy pairs: the same draws for both
        slow_losses = task.losses(model, pixels, identity)
        torch.manual_seed(1)
        fast_losses = task.losses(model, fast, identity)
        assert slow_losses.keys() == fast_losses.keys()
        for key in slow_losses:
            torch.testing.assert_close(fast_losses[key], slow_losses[key], rtol=1e-4, atol=1e-5)


def test_a_rerun_with_the_same_seed_and_threads_repeats_every_number(quick_demo, tmp_path):
    """What makes the README's table reproducible: no metric moves between runs (on one CPU, one torch)."""
    out, first = quick_demo
    methods = ("seqtransf", "vdi")  # each stage seeds itself: a subset repeats the full run's numbers
    again = run_demo(DemoOptions(out=tmp_path, quick=True, device="cpu", progress=False, methods=methods,
                                 data=out / "data"))
    assert first["settings"]["threads"] == again["settings"]["threads"] == 2
    assert again["baseline"] == first["baseline"]
    for method in methods:
        timeless = [{k: v for k, v in run["methods"][method].items() if not k.endswith("seconds")}
                    for run in (first, again)]
        assert timeless[0] == timeless[1] and len(timeless[0]) > 5, method
