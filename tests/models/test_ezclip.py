"""EZ-CLIP's official structure: text adapters, the prompt replaced by the temporal attention output,
prompt dropout, and the KL soft-label classification objective."""

import pytest
import torch

from model_testing import CAPTIONS, perturb_new_parameters, random_frames
from vidclip.adapters.temporal_prompts import TemporalPrompts


def test_defaults_are_the_official_settings(tiny):
    model = tiny("prompts")
    adapter = model.adapter
    assert adapter.options["motion_weight"] == 1.0 and adapter.options["prompt_residual"] is False
    assert adapter.prompt_dropout.p == 0.1
    assert len(adapter.text_adapters) == len(model.clip.transformer.resblocks)
    width = model.clip.visual.transformer.width
    assert adapter.prompts.abs().max() <= (6.0 / (3 * 16 * 16 + width)) ** 0.5


@pytest.mark.parametrize("residual", [False, True])
def test_spatial_attention_sees_the_temporal_output_as_the_prompt(tiny, monkeypatch, residual):
    """Official: the prompt becomes attention(ln_1(prompt)); the residual option keeps prompt + that."""
    model = tiny("prompts", num_frames=3, prompt_residual=residual).eval()
    perturb_new_parameters(model)
    seen = {}
    temporal, spatial = TemporalPrompts._temporal, TemporalPrompts._spatial

    def record_temporal(parts, prompt, num_frames, frame_mask):
        seen.setdefault("inputs", []).append(prompt)
        out = temporal(parts, prompt, num_frames, frame_mask)
        seen.setdefault("temporal", []).append(out)
        return out

    def record_spatial(parts, gate, x, prompt):
        seen.setdefault("prompts", []).append(prompt)
        return spatial(parts, gate, x, prompt)

    monkeypatch.setattr(TemporalPrompts, "_temporal", staticmethod(record_temporal))
    monkeypatch.setattr(TemporalPrompts, "_spatial", staticmethod(record_spatial))
    with torch.no_grad():
        model.encode_video(random_frames(model, num_frames=3))
    for before, out, prompt in zip(seen["inputs"], seen["temporal"], seen["prompts"]):
        expected = before + out if residual else out  # CLIP's layer scale is the identity
        assert torch.allclose(prompt, expected, atol=1e-6)
        assert not torch.allclose(prompt, before + out if not residual else out, atol=1e-4)


def test_text_adapters_act_once_moved(tiny):
    model = tiny("prompts").eval()
    tokens = model.tokenize(CAPTIONS)
    with torch.no_grad():
        for adapter in model.adapter.text_adapters:
            adapter.up.weight.add_(torch.randn_like(adapter.up.weight) * 0.2)
        moved, plain = model.encode_text(tokens), model.clip.encode_text(tokens, normalize=True)
    assert (moved - plain).abs().max() > 1e-3


def test_prompt_dropout_acts_in_training_only(tiny):
    model = tiny("prompts", num_frames=3)
    perturb_new_parameters(model)
    frames = random_frames(model, num_frames=3)
    with torch.no_grad():
        model.eval()
        assert torch.equal(model.encode_video(frames), model.encode_video(frames))
        model.train()
        torch.manual_seed(0)
        first = model.encode_video(frames)
        assert not torch.equal(first, model.encode_video(frames))


def _classification_batch(model):
    size = model.preprocess_config["image_size"]
    frames = torch.randint(0, 255, (4, 3, 3, size, size), dtype=torch.uint8)
    return {"frames": frames, "mask": torch.ones(4, 3, dtype=torch.bool), "label": torch.tensor([0, 1, 0, 2])}


def test_classification_kl_objective_scores_soft_in_batch_labels(tiny, monkeypatch):
    from vidclip.losses import soft_label_kl
    from vidclip.train.tasks import ClassificationTask, batch_video_features, caption_tokens

    model = tiny("prompts", num_frames=3, motion_weight=0.0).eval()
    task = ClassificationTask([["jump"], ["run", "sprint"], ["sit"]])
    batch = _classification_batch(model)
    torch.manual_seed(0)
    losses = task.losses(model, batch, gather=lambda x: x)
    torch.manual_seed(0)
    captions = task.sampled_prompts(batch["label"].tolist())
    with torch.no_grad():
        logits = model.clip.logit_scale.exp() * model.similarity(model.text_features(caption_tokens(model, captions)),
                                        batch_video_features(model, batch))
    expected = 0.5 * (soft_label_kl(logits.t(), batch["label"]) + soft_label_kl(logits, batch["label"]))
    assert captions[0] == "jump" and captions[1] in ("run", "sprint")
    assert losses["classification"].item() == pytest.approx(expected.item(), rel=1e-4)
    assert set(losses) == {"classification", "loss"}


def test_classification_cross_entropy_option_and_bad_name(tiny):
    from vidclip.train.tasks import build_task

    model = tiny("prompts", num_frames=3).eval()
    task = build_task("classification", classes=["jump", "run", "sit"], class_loss="cross_entropy")
    losses = task.losses(model, _classification_batch(model), gather=lambda x: x)
    assert torch.isfinite(losses["loss"]) and "motion" in losses
    with pytest.raises(ValueError, match="class_loss"):
        build_task("classification", classes=["jump"], class_loss="hinge")
