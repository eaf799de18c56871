"""The moment head's saliency loss (Moment-DETR's), its targets, and training on every window of a query."""

import math

import pytest
import torch

from vidclip.adapters.moment_head import (MomentHead, frame_centres, moment_loss, saliency_loss, saliency_pairs,
                                          saliency_targets)
from vidclip.data.dataset import collate_videos
from vidclip.moments.targets import frame_ratings, query_windows, sample_ratings, window_ratings

from model_testing import CAPTIONS, random_frames


def test_saliency_loss_is_moment_detrs_margin_ranking():
    """sum over pairs of max(0, margin + s_neg - s_pos), / (N * pairs) * 2, re-derived in float64."""
    torch.manual_seed(0)
    scores = torch.randn(3, 6)
    positives = torch.tensor([[1, 2], [0, 0], [5, 3]])
    negatives = torch.tensor([[4, 0], [2, 5], [1, 1]])
    expected, s = 0.0, scores.double().tolist()
    for row in range(3):
        for p, n in zip(positives[row].tolist(), negatives[row].tolist()):
            expected += max(0.0, 0.3 + s[row][n] - s[row][p])
    expected = expected / (3 * 2) * 2
    assert saliency_loss(scores, positives, negatives, margin=0.3).item() == pytest.approx(expected, rel=1e-6)
    # pairs ranked well beyond the margin cost nothing
    assert saliency_loss(torch.tensor([[5.0, 0.0]]), torch.tensor([[0]]), torch.tensor([[1]])).item() == 0


def test_saliency_pairs_hard_and_easy():
    nan = math.nan
    targets = torch.tensor([[0.0, 7.0, 12.0, 3.0, 0.0, 0.0],  # relevant: frames 1-3
                            [5.0, 9.0, 9.0, 1.0, 2.0, 4.0],  # every frame relevant: easy pair copies the hard one
                            [nan] * 6,  # no labels: left out
                            [0.0, 0.0, 4.0, 0.0, 0.0, 8.0]])  # frame 5 is padding
    mask = torch.ones(4, 6, dtype=torch.bool)
    mask[3, 5] = False
    for seed in range(5):
        positives, negatives, kept = saliency_pairs(targets, mask, generator=torch.Generator().manual_seed(seed))
        assert kept.tolist() == [True, True, False, True]
        assert positives[:, 0].tolist()[:2] == [2, 1] and negatives[:, 0].tolist()[:2] == [3, 3]  # max / min rated
        assert positives[0, 1].item() in (1, 2, 3) and negatives[0, 1].item() in (0, 4, 5)  # inside vs outside
        assert (positives[1, 1], negatives[1, 1]) == (positives[1, 0], negatives[1, 0])
        assert positives[3].tolist() == [2, 2] and negatives[3, 0] == 2 and negatives[3, 1].item() in (0, 1, 3, 4)


def test_saliency_targets_fall_back_to_the_windows():
    mask = torch.ones(2, 4, dtype=torch.bool)  # centres 0.125, 0.375, 0.625, 0.875
    windows = torch.tensor([[0.3, 0.7], [0.0, 0.2]])
    ratings = torch.tensor([[0.0, 2.0, 11.0, 0.0], [math.nan] * 4])
    targets = saliency_targets(mask, windows, ratings)
    assert targets.tolist() == [[0.0, 2.0, 11.0, 0.0], [1.0, 0.0, 0.0, 0.0]]


def test_frame_ratings_sum_the_annotators_of_each_2s_clip():
    ratings = frame_ratings([0.5, 2.5, 3.9, 7.0, 30.0], [1, 3], [[4, 2, 1], [1, 0, 0]])
    assert ratings.tolist() == [0.0, 7.0, 7.0, 1.0, 0.0]
    assert torch.isnan(frame_ratings([0.5, 2.5])).all()  # no labels
    assert query_windows([[1, 2], [5, 9]]).tolist() == [[1, 2], [5, 9]]
    assert query_windows(None, 3.0, 4.0).tolist() == [[3.0, 4.0]]



def test_window_ratings_average_the_labels_of_the_windows_holding_each_frame():
    """YouTube Highlights: overlapping [start, end) windows labelled 0/1; a frame takes their mean."""
    windows = [[0.5, 4.0], [2.0, 6.0], [4.0, 8.0], [6.0, 9.5]]  # half overlapping, the first late
    labels = [0, 1, 1, 0]
    stamps = [0.0, 1.0, 3.0, 4.0, 5.9, 6.0, 9.0, 9.5, 12.0]
    want = [math.nan, 0.0, 0.5, 1.0, 1.0, 0.5, 0.0, math.nan, math.nan]  # 4.0 leaves window 0 (end excluded)
    got = window_ratings(stamps, windows, labels)
    assert torch.equal(torch.isnan(got), torch.tensor([math.isnan(w) for w in want]))
    assert got.nan_to_num(-1).tolist() == [-1 if math.isnan(w) else w for w in want]
    assert torch.isnan(window_ratings(stamps)).all() and torch.isnan(window_ratings(stamps, windows, [1])).all()
    # a record's targets come from whichever labels it has
    assert sample_ratings(stamps, {"clip_windows": windows, "clip_labels": labels}).nan_to_num(-1).tolist() == \
        got.nan_to_num(-1).tolist()
    assert sample_ratings([0.5, 2.5], {"relevant_clip_ids": [1], "saliency_scores": [[4, 2]]}).tolist() == [0.0, 6.0]
    assert torch.isnan(sample_ratings([0.5, 2.5], {})).all()


def test_every_window_of_a_query_is_a_training_target():
    """A query with 2 windows: frames of both are "inside" and regress their own window's edges."""
    mask = torch.ones(1, 8, dtype=torch.bool)  # centres (t + 0.5) / 8
    windows = torch.tensor([[[0.0, 0.25], [0.5, 1.0]]])  # frames 0-1 and 4-7
    logits, edges = torch.zeros(1, 8), torch.full((1, 8, 2), 0.1)
    both = moment_loss(logits, edges, mask, windows)
    first = moment_loss(logits, edges, mask, windows[:, 0])
    centres = frame_centres(mask)[0].double()
    inside = [0, 1, 4, 5, 6, 7]
    target = [(centres[t] - (0.0 if t < 2 else 0.5), (0.25 if t < 2 else 1.0) - centres[t]) for t in inside]
    l1 = sum(abs(0.1 - a) + abs(0.1 - b) for a, b in target) / (2 * len(inside))
    assert both["moment_l1"].item() == pytest.approx(float(l1), rel=1e-5)
    bce = -sum(math.log(0.5) for _ in range(8)) / 8  # logits 0: BCE is log 2 whatever the labels
    assert both["moment_cls"].item() == pytest.approx(bce, rel=1e-5)
    assert first["moment_l1"].item() != pytest.approx(both["moment_l1"].item())
    # NaN-padded windows change nothing
    padded = torch.cat([windows, torch.full((1, 1, 2), math.nan)], dim=1)
    assert moment_loss(logits, edges, mask, padded)["moment_l1"].item() == pytest.approx(both["moment_l1"].item())


def test_collated_batches_carry_every_window_and_the_ratings():
    def sample(windows, ratings):
        return {"frames": torch.zeros(len(ratings), 3, 2, 2, dtype=torch.uint8), "mask": torch.ones(len(ratings), dtype=torch.bool),
                "timestamps": torch.arange(len(ratings), dtype=torch.float32), "windows": query_windows(windows),
                "saliency": torch.tensor(ratings), "duration": 10.0, "caption": "x", "index": 0, "video_id": "v",
                "start": 1.0, "end": 2.0, "label": None}

    batch = collate_videos([sample([[1, 2], [5, 9]], [0.0, 3.0, 3.0]), sample([[4, 6]], [math.nan, math.nan])])
    assert batch["windows"][0].tolist() == [[1, 2], [5, 9]]
    assert batch["windows"][1, 0].tolist() == [4, 6] and torch.isnan(batch["windows"][1, 1]).all()
    assert batch["saliency"].shape == (2, 3) and torch.isnan(batch["saliency"][1]).all()


def test_moment_task_trains_the_saliency_head_on_every_window(tiny):
    from vidclip.train.tasks import MomentTask

    model = tiny("vdi", num_frames=4).train()
    frames = random_frames(model, num_frames=4)  # (2, 4, 3, S, S)
    batch = {"frames": (frames * 50 + 128).clamp(0, 255).to(torch.uint8), "mask": torch.ones(2, 4, dtype=torch.bool),
             "caption": CAPTIONS, "duration": torch.tensor([8.0, 8.0]), "start": torch.tensor([0.0, 2.0]),
             "end": torch.tensor([2.0, 4.0]), "windows": torch.tensor([[[0.0, 2.0], [6.0, 8.0]], [[2.0, 4.0], [math.nan] * 2]]),
             "saliency": torch.tensor([[6.0, 0.0, 0.0, 9.0], [math.nan] * 4])}
    losses = MomentTask().losses(model, batch, lambda x: x)
    assert {"moment_cls", "saliency"} <= set(losses)
    losses["loss"].backward()
    assert model.adapter.moment_head.saliency.weight.grad.abs().sum() > 0

    # highlight-only samples (TVSum: ratings, no window) train the saliency head alone
    model.zero_grad()
    nan = torch.full((2,), math.nan)
    batch.update(start=nan, end=nan, windows=torch.full((2, 1, 2), math.nan), saliency=torch.tensor([[20.0, 31, 55, 40]] * 2))
    losses = MomentTask().losses(model, batch, lambda x: x)
    assert "saliency" in losses and "moment_cls" not in losses
    losses["loss"].backward()
    assert model.adapter.moment_head.score.weight.grad is None
    batch["saliency"] = torch.full((2, 4), math.nan)  # neither: retrieval data
    with pytest.raises(ValueError, match="a window .* or saliency ratings"):
        MomentTask().losses(model, batch, lambda x: x)


def test_a_head_saved_without_saliency_loads_without_it():
    head = MomentHead(dim=8)
    old = {k: v for k, v in head.state_dict().items() if not k.startswith("saliency.")}
    fresh = MomentHead(dim=8)
    fresh.load_state_dict(old, strict=True)
    assert fresh.saliency is None
    assert fresh(torch.randn(1, 3, 8), torch.randn(1, 8))[2] is None
