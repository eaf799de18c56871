"""`vidclip eval` on a tiny YouTube Highlights file (Lighthouse's jsonl layout) with a tiny random VDI
model: one saliency score per labelled window, scored with UMT's mAP over all windows, overall and
per domain, and no moment or TVSum metrics."""

import json

import numpy as np
import pytest
import torch

FPS = 4  # the videos' and the file's frame rate: 12 s, 48 frames
# 3 s windows (12 frames) at a 1.5 s stride, the last one ending a frame past the video, as released
CLIP = [[0.0, 12.0], [6.0, 18.0], [12.0, 24.0], [18.0, 30.0], [24.0, 36.0], [30.0, 42.0], [36.0, 49.0]]
VIDEOS = {"dog1": ("dog", [-1, -1, 1, 1, 0, -1, -1]), "surf1": ("surfing", [1, 1, 0, -1, -1, -1, -1])}


@pytest.fixture(scope="module")
def youtube(tmp_path_factory):
    """The jsonl: one video per domain (the model: conftest's `vdi_checkpoint`)."""
    from vidclip.data.synthetic.encode import write_mp4

    root = tmp_path_factory.mktemp("youtube")
    (root / "video").mkdir()
    rows = []
    for n, (vid, (domain, match)) in enumerate(VIDEOS.items()):
        frames = np.random.default_rng(n).integers(0, 255, (48, 32, 32, 3), dtype=np.uint8)
        write_mp4(root / "video" / f"{vid}.mp4", frames, fps=FPS)
        rows.append({"qid": vid, "query": domain, "duration": 48 / FPS, "vid": vid, "relevant_clip_ids": None,
                     "relevant_windows": None, "label": [[int(m > 0)] for m in match], "domain": domain,
                     "frames": 48.0, "fps": float(FPS), "clip": CLIP, "match": match})
    (root / "youtube_highlight_val_release.jsonl").write_text("\n".join(json.dumps(row) for row in rows))
    return root / "youtube_highlight_val_release.jsonl"


def test_youtube_eval_scores_every_window_and_reports_map_per_domain(youtube, vdi_checkpoint, run_eval, tmp_path):
    from vidclip.eval.metrics import youtube_highlight_metrics

    metrics, rows = run_eval(vdi_checkpoint, youtube, tmp_path / "eval", "--num-frames", "8")
    assert metrics["task"] == "moments"  # guessed from the labelled windows: no moment to find
    assert {"HL-mAP", "HL-mAP/dog", "HL-mAP/surfing"} <= set(metrics)
    assert metrics["num_window_label_queries"] == metrics["num_queries"] == 2
    assert not [key for key in metrics if key.startswith(("R1@", "R5@", "mIoU", "mAP", "HL-min", "HL-top"))]
    # one saliency score per window of the file, and the metric is the one computed from the written predictions
    assert {vid: len(row["pred_saliency_scores"]) for vid, row in rows.items()} == {vid: len(CLIP) for vid in VIDEOS}
    labels = {vid: [int(m > 0) for m in VIDEOS[vid][1]] for vid in rows}
    again = youtube_highlight_metrics({vid: row["pred_saliency_scores"] for vid, row in rows.items()}, labels,
                                      categories={vid: VIDEOS[vid][0] for vid in rows})
    assert {key: metrics[key] for key in again} == pytest.approx(again)


def test_youtube_eval_values_for_a_known_saliency(youtube, vdi_checkpoint, run_eval, tmp_path, monkeypatch):
    from vidclip.model import VideoCLIP

    # the saliency head scores earlier frames higher: every window outranks the next (a window's mean over
    # the sampled frames inside it; none is empty with 8 frames over 12 s)
    falling = lambda self, video, tokens: -torch.arange(video["frames"].shape[1], dtype=torch.float32)[None]
    monkeypatch.setattr(VideoCLIP, "predict_saliency", falling)
    metrics, rows = run_eval(vdi_checkpoint, youtube, tmp_path / "eval", "--num-frames", "8")
    for row in rows.values():
        scores = row["pred_saliency_scores"]
        assert all(a > b for a, b in zip(scores, scores[1:]))
    # dog, ranked labels 0 0 1 1 0 0 0 (2 positives): j2 rec 1/2 prc 1/3 -> (1/2)(0 + 1/3)/2 = 1/12;
    # j3 rec 1 prc 1/2 -> (1/2)(1/3 + 1/2)/2 = 5/24; AP = 7/24. surfing: 1 1 0 0 0 0 0 -> AP 1
    assert metrics["HL-mAP/dog"] == pytest.approx(100 * 7 / 24)
    assert metrics["HL-mAP/surfing"] == pytest.approx(100.0)
    assert metrics["HL-mAP"] == pytest.approx(100 * (7 / 24 + 1) / 2)


def test_window_saliency_averages_the_frames_inside_and_interpolates_empty_windows():
    from vidclip.moments.find import window_saliency

    stamps, curve = np.array([1.0, 3.0, 5.0, 9.0]), np.array([0.2, 0.6, 1.0, 0.0])
    windows = [[0.0, 3.0], [1.0, 5.0], [3.0, 3.5], [6.0, 8.0], [9.5, 11.0], [-1.0, 0.0]]
    # [0, 3): frame 1 s; [1, 5): 1 s and 3 s (5 s is past its end); [3, 3.5): 3 s; [6, 8): none, centre 7 s
    # halfway between 1.0 at 5 s and 0.0 at 9 s -> 0.5; past the last / before the first frame: flat
    assert window_saliency(curve, stamps, windows) == pytest.approx([0.2, 0.4, 0.6, 0.5, 0.0, 0.2])
