"""VDI's query split, moment head training and QVHighlights-style predictions."""

import torch

from vidclip.adapters.moment_head import decode_moments
from vidclip.adapters.query_split import split_query

from model_testing import CAPTIONS, random_frames


def test_split_query():
    assert split_query("a red circle moves to the left") == ("a red circle", "moves to the left")
    assert split_query("a small green square shrinks and fades") == ("a small green square", "shrinks and fades")
    assert split_query("two circles move apart") == ("two circles", "move apart")
    static, dynamic = split_query("a faint small red circle at the top left")  # no verb: both whole
    assert static == dynamic == "a faint small red circle at the top left"


def test_moment_losses_backward(tiny):
    model = tiny("vdi", num_frames=4).train()
    frames = random_frames(model, num_frames=4)
    spans = torch.tensor([[0.1, 0.4], [0.5, 0.55]])
    losses = model.moment_losses(frames, None, model.tokenize(CAPTIONS), CAPTIONS, spans)
    losses["loss"].backward()
    assert {"moment_cls", "moment_l1", "moment_iou", "context_injection", "dynamics_injection"} <= set(losses)
    assert model.adapter.moment_head.score.weight.grad is not None


def test_predict_moments_in_seconds(tiny):
    model = tiny("vdi", num_frames=4).eval()
    frames = random_frames(model, batch=1, num_frames=4)
    video = model.video_features(frames)  # cacheable: further queries reuse it
    times = torch.tensor([0.5, 1.5, 2.5, 3.5])
    windows = model.predict_moments(video, times, model.tokenize(["a circle moves"]), top_k=3)
    assert len(windows) == 1 and 1 <= len(windows[0]) <= 3
    for start, end, score in windows[0]:
        assert 0.0 <= start <= end <= 4.0 + 1e-6 and 0.0 <= score <= 1.0
    assert [w[2] for w in windows[0]] == sorted((w[2] for w in windows[0]), reverse=True)


def test_decode_moments_nms():
    logits = torch.tensor([[3.0, 2.9, -5.0, 2.0]])
    edges = torch.tensor([[[0.125, 0.125], [0.375, 0.0], [0.1, 0.1], [0.125, 0.125]]])
    windows = decode_moments(logits, edges, torch.ones(1, 4, dtype=torch.bool), top_k=5, nms_iou=0.5)[0]
    assert [round(w[0], 3) for w in windows] == [0.0, 0.75, 0.525]  # frame 1 overlaps frame 0 (IoU 2/3): suppressed


def test_vdi_frame_dynamics_are_projected_patch_changes(tiny):
    """Frame t holds mean_p MLP(patch_t - patch_{t-1}); zero at the first frame and next to padding."""
    model = tiny("vdi", num_frames=4).eval()
    torch.manual_seed(0)
    patches = torch.randn(2, 4, 5, model.clip.visual.output_dim)  # (B, T, P, D)
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    with torch.no_grad():
        dynamics = model.adapter.frame_dynamics(patches, mask)  # (B, T, D)
        mlp = model.adapter.dynamics
        expected = torch.stack([mlp(patches[b, t] - patches[b, t - 1]).mean(dim=0) for b, t in ((0, 3), (1, 1))])
    assert dynamics.shape == (2, 4, patches.shape[-1])
    torch.testing.assert_close(dynamics[[0, 1], [3, 1]], expected)
    assert dynamics[:, 0].abs().max() == 0 and dynamics[1, 2:].abs().max() == 0


def test_vdi_frame_features_read_the_dynamics(tiny):
    """Once the temporal transformer's zero-init output moves, the frame features depend on the
    dynamics: silencing the dynamics MLP changes them (at init both are CLIP's, see test_identity)."""
    model = tiny("vdi", num_frames=3).eval()
    torch.nn.init.normal_(model.adapter.temporal.out.weight, std=0.1)
    frames = random_frames(model, batch=2, num_frames=3)
    with torch.no_grad():
        features = model.video_features(frames)
        torch.nn.init.zeros_(model.adapter.dynamics[-1].weight)
        torch.nn.init.zeros_(model.adapter.dynamics[-1].bias)
        silenced = model.video_features(frames)
    assert features["dynamics"].abs().max() > 0 and silenced["dynamics"].abs().max() == 0
    assert (features["frames"] - silenced["frames"]).abs().max() > 1e-4
