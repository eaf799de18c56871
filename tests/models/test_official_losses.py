"""EZ-CLIP's and GLSCL's official losses and scores against float64 re-derivations from their definitions."""

import math

import pytest
import torch

from vidclip.adapters.global_local import consistency_loss, diversity_loss
from vidclip.losses import motion_loss, soft_label_kl


def _generator(seed=0):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------------------ EZ-CLIP
def _motion_reference(clips):
    """clips: list of (n_i, D) float64 -> 1 / (C + V + 1), C and V averaged over clips, by loops."""
    changes, variances = [], []
    for x in clips:
        n, d = x.shape
        total = 0.0
        for t in range(n):
            after, before = x[min(t + 1, n - 1)], x[max(t - 1, 0)]
            total += sum(abs(float(after[c] - before[c])) / 2 for c in range(d)) / d
        changes.append(total / n)
        mean = [sum(float(x[t, c]) for t in range(n)) / n for c in range(d)]
        var = [sum((float(x[t, c]) - mean[c]) ** 2 for t in range(n)) / max(n - 1, 1) for c in range(d)]
        variances.append(sum(var) / d)
    return 1.0 / (sum(changes) / len(clips) + sum(variances) / len(clips) + 1.0)


def test_motion_loss_matches_its_definition():
    frames = torch.randn(3, 5, 4, dtype=torch.float64, generator=_generator()) * 2
    full = torch.ones(3, 5, dtype=torch.bool)
    assert motion_loss(frames, full).item() == pytest.approx(_motion_reference(list(frames)), rel=1e-12)


def test_motion_loss_leaves_padded_frames_out():
    frames = torch.randn(2, 5, 4, dtype=torch.float64, generator=_generator(1))
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    frames[1, 3:] = 1e3  # padding must not count
    reference = _motion_reference([frames[0], frames[1, :3]])
    assert motion_loss(frames, mask).item() == pytest.approx(reference, rel=1e-12)


def test_motion_loss_of_a_still_clip_is_one():
    still = torch.ones(2, 4, 3, dtype=torch.float64)
    assert motion_loss(still, torch.ones(2, 4, dtype=torch.bool)).item() == 1.0


def test_soft_label_kl_matches_its_definition():
    logits = torch.randn(5, 5, dtype=torch.float64, generator=_generator(2)) * 3
    labels = torch.tensor([0, 2, 0, 1, 2])
    total = 0.0
    for i in range(5):
        target = [math.exp(10.0 * (labels[i] == labels[j])) for j in range(5)]
        target = [t / sum(target) for t in target]
        log_norm = math.log(sum(math.exp(float(v)) for v in logits[i]))
        total += sum(q * (math.log(q) - (float(logits[i, j]) - log_norm)) for j, q in enumerate(target))
    assert soft_label_kl(logits, labels).item() == pytest.approx(total / 5, rel=1e-12)


# ------------------------------------------------------------------------------------------- GLSCL
def _unit(*shape, seed):
    return torch.nn.functional.normalize(torch.randn(*shape, dtype=torch.float64, generator=_generator(seed)), dim=-1)


def test_consistency_loss_matches_its_definition():
    q_t, q_v = _unit(4, 3, 6, seed=3), _unit(4, 3, 6, seed=4)
    batch, k, d = q_t.shape
    mse = sum(float(q_v[:, i, c].mean() - q_t[:, i, c].mean()) ** 2 for i in range(k) for c in range(d)) / (k * d)
    diagonal = sum((sum(float(q_v[b, i] @ q_t[b, i]) for b in range(batch)) / k - 0.75) ** 2 for i in range(k))
    assert consistency_loss(q_t, q_v).item() == pytest.approx(mse + 0.02 * diagonal, rel=1e-12)


def test_diversity_loss_matches_its_definition():
    q_v = _unit(4, 5, 3, seed=5)
    q_v[:, 1] = torch.nn.functional.normalize(q_v[:, 0] + 0.2 * q_v[:, 1], dim=-1)  # a pair above 0.9
    batch, k, _ = q_v.shape
    gram = [[sum(float(q_v[b, i] @ q_v[b, j]) for b in range(batch)) / batch for j in range(k)] for i in range(k)]
    pairs = [(i, j) for i in range(k) for j in range(k) if i != j]
    rows = sum(max(0.0, 0.1 + gram[i][j] - gram[i][i]) for i, j in pairs)
    cols = sum(max(0.0, 0.1 + gram[i][j] - gram[j][j]) for i, j in pairs)
    loss = diversity_loss(q_v).item()
    assert loss == pytest.approx((rows + cols) / (k * (k - 1)), rel=1e-12)
    # unit queries: the diagonal is 1, so this is twice the mean of the cosines above 0.9
    assert loss == pytest.approx(2 * sum(max(0.0, gram[i][j] - 0.9) for i, j in pairs) / len(pairs), rel=1e-12)
    assert loss > 0


@pytest.mark.parametrize("grad", [False, True])
def test_glscl_global_score_pools_on_raw_features_at_temperature_3(tiny, grad):
    """s_g = cos(t, sum_i softmax_i(<t, f_i> / 3) f_i) on the unnormalised features (official `similarity`)."""
    model = tiny("glscl", num_frames=4)
    text_raw = torch.randn(3, 8, dtype=torch.float64, generator=_generator(6)) * 4
    frames_raw = torch.randn(2, 4, 8, dtype=torch.float64, generator=_generator(7)) * 3
    mask = torch.tensor([[True] * 4, [True, True, True, False]])
    text = {"embedding": torch.nn.functional.normalize(text_raw, dim=-1), "norm": text_raw.norm(dim=-1)}
    video = {"frames": torch.nn.functional.normalize(frames_raw, dim=-1), "frame_norms": frames_raw.norm(dim=-1),
             "frame_mask": mask}
    video["frames"].requires_grad_(grad)
    with torch.set_grad_enabled(grad):
        scores = model.adapter.global_scores(text, video).detach()
    for i in range(3):
        for j in range(2):
            real = frames_raw[j][mask[j]]
            logits = [float(text_raw[i] @ f) / 3.0 for f in real]
            weights = [math.exp(v - max(logits)) for v in logits]
            pooled = sum(w / sum(weights) * f for w, f in zip(weights, real))
            expected = float(text_raw[i] @ pooled) / float(text_raw[i].norm() * pooled.norm())
            assert scores[i, j].item() == pytest.approx(expected, rel=1e-9)


def test_glscl_aggregation_makes_encode_video_order_sensitive(tiny):
    """seqTransf runs before the pooling: a reversed clip embeds differently; without it, identically."""
    from model_testing import perturb_new_parameters, random_frames

    for aggregation, sensitive in (("seqtransf", True), ("none", False)):
        model = tiny("glscl", num_frames=4, aggregation=aggregation).eval()
        perturb_new_parameters(model)
        frames = random_frames(model, num_frames=4)
        with torch.no_grad():
            change = (model.encode_video(frames) - model.encode_video(frames.flip(1))).abs().max()
        assert (change > 1e-4) == sensitive, aggregation


def test_glscl_defaults_are_the_official_settings(tiny):
    options = tiny("glscl").adapter.options
    assert options["aggregation"] == "seqtransf" and options["frame_logits"] == "dot"
    assert (options["temperature"], options["diagonal_weight"], options["diversity_weight"]) == (3.0, 0.02, 1e-4)
    with pytest.raises(ValueError, match="frame_logits"):
        tiny("glscl", frame_logits="softmax")
