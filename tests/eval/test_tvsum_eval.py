"""`vidclip eval` on a tiny TVSum file (Lighthouse's jsonl layout) with a tiny random VDI model:
scored with TVSum's top-5 mAP, overall and per domain, and no moment metrics (TVSum has no window)."""

import json

import numpy as np
import pytest
import torch

# 10 annotators rate the first clips above their median, 10 rate every clip alike (no positive: AP 0)
STEEP = [5, 4, 3, 1, 1, 1]  # median 1: positives clips 0-2
LATE = [1, 1, 1, 1, 5]  # median 1: positive clip 4
VIDEOS = {"vt1": ("VT", "changing a flat tire", STEEP), "bk1": ("BK", "beekeeping in spring", LATE)}


@pytest.fixture(scope="module")
def tvsum(tmp_path_factory):
    """The jsonl: one video per domain, 2 s per rated clip (the model: conftest's `vdi_checkpoint`)."""
    from vidclip.data.synthetic.encode import write_mp4

    root = tmp_path_factory.mktemp("tvsum")
    (root / "video").mkdir()
    rows = []
    for vid, (domain, title, ratings) in VIDEOS.items():
        frames = np.random.default_rng(len(ratings)).integers(0, 255, (2 * len(ratings), 32, 32, 3), dtype=np.uint8)
        write_mp4(root / "video" / f"{vid}.mp4", frames, fps=1)  # (video) as long as its rated clips
        label = [[r] * 10 + [3] * 10 for r in ratings]  # (clips, 20 annotators)
        rows.append({"qid": vid, "query": title, "vid": vid, "duration": len(ratings), "domain": domain,
                     "label": label})
    (root / "tvsum_val_release.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root / "tvsum_val_release.jsonl"


def test_tvsum_eval_reports_top5_map_and_no_moment_metrics(tvsum, vdi_checkpoint, run_eval, tmp_path):
    from vidclip.eval.metrics import tvsum_highlight_metrics

    metrics, rows = run_eval(vdi_checkpoint, tvsum, tmp_path / "eval")
    assert metrics["task"] == "moments"  # guessed from the ratings: TVSum has no window
    assert {"HL-top5-mAP", "HL-top5-mAP/VT", "HL-top5-mAP/BK"} <= set(metrics)
    assert metrics["num_top5_queries"] == metrics["num_queries"] == 2
    assert not [key for key in metrics if key.startswith(("R1@", "R5@", "mIoU", "mAP", "HL-min"))]
    # one saliency score per 2 s clip, and the metric is the one computed from the written predictions
    assert {vid: len(row["pred_saliency_scores"]) for vid, row in rows.items()} == {"vt1": 6, "bk1": 5}
    ratings = {vid: np.array([[r] * 10 + [3] * 10 for r in VIDEOS[vid][2]]) for vid in rows}
    again = tvsum_highlight_metrics({vid: row["pred_saliency_scores"] for vid, row in rows.items()}, ratings,
                                    categories={vid: VIDEOS[vid][0] for vid in rows})
    assert {key: metrics[key] for key in again} == pytest.approx(again)


def test_tvsum_eval_values_for_a_known_saliency(tvsum, vdi_checkpoint, run_eval, tmp_path, monkeypatch):
    from vidclip.model import VideoCLIP

    # the saliency head scores earlier frames higher: clips rank first to last (nearest-filled clips tie
    # with their neighbour and keep clip order)
    falling = lambda self, video, tokens: -torch.arange(video["frames"].shape[1], dtype=torch.float32)[None]
    monkeypatch.setattr(VideoCLIP, "predict_saliency", falling)
    metrics, rows = run_eval(vdi_checkpoint, tvsum, tmp_path / "eval")
    for row in rows.values():
        scores = row["pred_saliency_scores"]
        assert scores == sorted(scores, reverse=True)
    # VT, steep annotators: top-5 labels 1 1 1 0 0 -> AP 1; BK, late annotators: 0 0 0 0 1 -> j4: rec 1,
    # prc 1/5 -> (1 - 0)(0 + 1/5)/2 = .1; the other 10 annotators of each video: 0
    assert metrics["HL-top5-mAP/VT"] == pytest.approx(100 * 1 / 2)
    assert metrics["HL-top5-mAP/BK"] == pytest.approx(100 * 0.1 / 2)
    assert metrics["HL-top5-mAP"] == pytest.approx(100 * (1 + 0.1) / 4)
