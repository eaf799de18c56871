"""Every open_clip tower family (tiny random configs from open_clip's JSONs, see _families.py) under
every adapter: identity at init against open_clip's own encoders, block hooks that rebuild each
block exactly, order sensitivity with forward + backward, the tower's own loss, a save -> load trip."""

import json

import pytest
import torch
import torch.nn.functional as F
from open_clip.loss import SigLipLoss

import vidclip
from vidclip.checkpoint import save
from vidclip.errors import TowerError
from vidclip.factory import load_checkpoint
from vidclip.losses import clip_loss
from vidclip.towers import BlockParts, run_text, run_vision

from _families import FAMILIES, HOOKABLE, tiny_model
from model_testing import CAPTIONS, perturb_new_parameters, random_frames

ADAPTERS = ["meanp", "seqtransf", "prompts", "vdi", "glscl"]
CASES = [(family, adapter) for family in FAMILIES for adapter in ADAPTERS if family in HOOKABLE or adapter != "prompts"]


@pytest.mark.parametrize("family,adapter", CASES)
def test_identity_at_init(family, adapter):
    model = tiny_model(family, adapter).eval()
    frames = random_frames(model, batch=3, num_frames=1)
    tokens = model.tokenize(CAPTIONS + ["a square"])
    with torch.no_grad():
        video, text = model.encode_video(frames), model.encode_text(tokens)
        assert (video - model.clip.encode_image(frames[:, 0], normalize=True)).abs().max() < 1e-5
        assert (text - model.clip.encode_text(tokens, normalize=True)).abs().max() < 1e-5


@pytest.mark.parametrize("family", HOOKABLE)
def test_block_parts_rebuild_every_block(family):
    """A hook that re-assembles each block from BlockParts (qkv with RoPE, attention, out, layer
    scales, MLP) reproduces the tower: the split is the block, on open_clip's and timm's blocks."""
    model = tiny_model(family).eval()
    images = random_frames(model, batch=2, num_frames=1)[:, 0]
    calls = []

    def rebuilt(index, block, x):
        parts = BlockParts(block)
        q, k, v = (t.transpose(1, 2) for t in parts.qkv(parts.norm1(x)))  # (N, H, L, Dh)
        attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2)  # (N, L, H, Dh)
        calls.append(index)
        return parts.feed_forward(x + parts.ls1(parts.out(attended)))

    with torch.no_grad():
        pooled, _ = run_vision(model.clip.visual, images, block_fn=rebuilt)
        assert (pooled - model.clip.encode_image(images)).abs().max() < 1e-5
    assert calls == list(range(len(calls))) and calls


@pytest.mark.parametrize("family,adapter", [case for case in CASES if case[1] != "meanp"])
def test_temporal_adapters_see_order_and_train(family, adapter):
    # EZ-CLIP's official replaced prompt is nearly the same mix of frames for every frame: in random towers
    # (PE-Core: change ~4e-6) it barely shows order, so the hook is checked on the residual form here
    options = {"prompt_residual": True} if adapter == "prompts" else {}
    model = tiny_model(family, adapter, num_frames=4, **options)
    perturb_new_parameters(model)
    frames = random_frames(model, num_frames=4)
    with torch.no_grad():
        model.eval()
        ahead, behind = (model.video_features(f) for f in (frames, frames.flip(1)))
        if adapter == "glscl":  # its frames stay CLIP's; its local queries read them in order
            change = ahead["queries"] - behind["queries"]
        else:  # each frame's (normalised) features depend on where it sits and what surrounds it
            change = ahead["frames"] - behind["frames"].flip(1)
        assert change.abs().max() > 1e-5  # 100x fp32 noise (~1e-7); random MAP-pooled towers respond weakly
    model.train()
    losses = model.training_losses(frames, None, model.tokenize(CAPTIONS), captions=CAPTIONS)
    losses["loss"].backward()
    grads = [p.grad for p in model.adapter.parameters() if p.requires_grad]
    assert torch.isfinite(losses["loss"]) and any(g is not None and g.abs().sum() > 0 for g in grads)


def test_patch_tokens_come_out_of_every_vision_family():
    for family in FAMILIES:
        model = tiny_model(family).eval()
        frames = random_frames(model, batch=2, num_frames=2)
        with torch.no_grad():
            pooled, mask, patches = model.frame_embeddings(frames, patches=True)
        assert patches.ndim == 4 and patches.shape[:2] == (2, 2) and patches.shape[-1] == pooled.shape[-1], family


def test_prompts_on_a_convolutional_tower_is_a_clear_error():
    with pytest.raises(TowerError, match="hooks ViT blocks.*ConvNeXt.*meanp"):
        tiny_model("convnext", "prompts")


def test_text_word_states_of_a_non_causal_last_token_tower():
    """SigLIP's text tower: bidirectional, pooled at the last position; words are every non-padding token."""
    model = tiny_model("siglip").eval()
    tokens = model.tokenize(CAPTIONS)
    with torch.no_grad():
        pooled, words, mask = run_text(model.clip, tokens)
    assert torch.equal(mask, tokens != 0)
    assert words.shape == (*tokens.shape, pooled.shape[-1])
    assert (words[:, -1] - pooled).abs().max() < 1e-6  # last-token pooling reads the last word state


def test_loss_follows_the_towers_pre_training():
    frames_text = {}
    for family in ("siglip", "clip"):
        model = tiny_model(family)
        video, text = (F.normalize(torch.randn(4, 32), dim=-1) for _ in range(2))
        frames_text[family] = model.contrastive_loss(text @ video.t()), model, video, text
    loss, model, video, text = frames_text["siglip"]
    assert model.loss == "sigmoid"
    expected = SigLipLoss()(video, text, model.clip.logit_scale.exp(), model.clip.logit_bias)
    assert torch.allclose(loss, expected, atol=1e-5)
    loss, model, video, text = frames_text["clip"]
    assert model.loss == "softmax" and torch.allclose(loss, clip_loss(text @ video.t(), model.clip.logit_scale))
    forced = tiny_model("clip", loss="sigmoid")  # a CLIP tower trained with SigLIP's loss gets its own bias
    assert forced.loss == "sigmoid" and forced.logit_bias.item() == -10.0
    assert torch.allclose(forced.contrastive_loss(text @ video.t()),
                          SigLipLoss()(video, text, forced.clip.logit_scale.exp(), forced.logit_bias))


def test_round_trip_of_a_timm_family(tmp_path):
    model = tiny_model("siglip", "prompts", num_frames=3).eval()
    perturb_new_parameters(model)
    frames, tokens = random_frames(model, num_frames=3), model.tokenize(CAPTIONS)
    save(model, tmp_path / "ckpt")
    loaded = load_checkpoint(tmp_path / "ckpt").eval()
    assert loaded.config == json.loads(json.dumps(model.config)) and loaded.loss == "sigmoid"
    with torch.no_grad():
        assert torch.equal(model.encode_video(frames), loaded.encode_video(frames))
        assert torch.equal(model.encode_text(tokens), loaded.encode_text(tokens))


def test_list_models_names_what_builds():
    names = vidclip.list_models()
    assert names[: 3] == sorted(names[: 3]) and "tiny-vit-16" in names
    for name in ("PE-Core-L-14-336", "ViT-B-16-SigLIP2", "EVA02-B-16", "MobileCLIP2-S0", "convnext_base", "RN50"):
        assert name in names, name
    assert not any(name.startswith("coca_") for name in names)
    hookable = vidclip.list_models(adapter="prompts")
    assert "PE-Core-L-14-336" in hookable and "MobileCLIP2-B" in hookable
    assert not {"MobileCLIP2-S0", "convnext_base", "RN50"} & set(hookable)


def test_hugging_face_text_tower_gives_its_embedding_and_word_states():
    """open_clip's HFTextEncoder (built from a tiny BERT config: no download) in place of the text tower."""
    transformers = pytest.importorskip("transformers")
    from open_clip.hf_model import HFTextEncoder

    model = tiny_model("siglip", "glscl").eval()
    bert = transformers.BertConfig(vocab_size=49408, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                   intermediate_size=64, max_position_embeddings=16, pad_token_id=0)
    model.clip.text = HFTextEncoder("bert-tiny", output_dim=32, config=bert, pooler_type="mean_pooler", proj_type="mlp").eval()
    tokens = model.tokenize(CAPTIONS)
    with torch.no_grad():
        pooled, words, mask = run_text(model.clip, tokens)
        features = model.text_features(tokens)
    assert (pooled - model.clip.encode_text(tokens)).abs().max() < 1e-6
    assert torch.equal(mask, tokens != 0) and words.shape == (*tokens.shape, 32)
    assert features["queries"].shape == (2, model.adapter.queries.shape[0], 32)


def test_zero_shot_probabilities_follow_the_towers_loss():
    from vidclip.pipeline import Pipeline

    labels = ["jumping", "running", "swimming"]
    for family in ("siglip", "clip"):
        model = tiny_model(family).eval()
        pipeline = Pipeline(model)
        texts = pipeline.embed_texts([f"a video of a person {label}." for label in labels])
        video = F.normalize(torch.randn(2, texts.shape[1], generator=torch.Generator().manual_seed(0)), dim=-1)
        with torch.no_grad():
            logits = model.clip.logit_scale.exp() * video @ texts.clone().T  # (2, 3)
            if family == "siglip":  # each label on its own, SigLIP's learned bias included
                expected = torch.sigmoid(logits + model.clip.logit_bias)
            else:
                expected = logits.softmax(-1)
        assert torch.allclose(pipeline.label_probabilities(video, labels), expected, atol=1e-5), family
