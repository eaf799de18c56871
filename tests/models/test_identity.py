"""Identity at init: fresh adapters at T=1 reproduce the wrapped open_clip model."""

import pytest
import torch

from model_testing import ADAPTER_NAMES, TINY_ARCHS, random_frames


@pytest.mark.parametrize("arch", TINY_ARCHS)
@pytest.mark.parametrize("adapter", ["meanp", "seqtransf", "prompts", "vdi", "glscl"])
def test_identity_at_init(tiny, arch, adapter):
    model = tiny(adapter, num_frames=1, arch=arch).eval()
    frames = random_frames(model, batch=3, num_frames=1)
    tokens = model.tokenize(["a red circle moves to the left", "a square", "two circles move apart"])
    with torch.no_grad():
        video = model.encode_video(frames)
        text = model.encode_text(tokens)
        assert (video - model.clip.encode_image(frames[:, 0], normalize=True)).abs().max() < 1e-5
        assert (text - model.clip.encode_text(tokens, normalize=True)).abs().max() < 1e-5


def test_glscl_global_score_is_clip_cosine_at_one_frame(tiny):
    """GLSCL's local score has no CLIP counterpart (new queries); its global path does."""
    model = tiny("glscl", num_frames=1).eval()
    frames = random_frames(model, batch=3, num_frames=1)
    tokens = model.tokenize(["a", "b c", "d e f"])
    with torch.no_grad():
        scores = model.adapter.global_scores(model.text_features(tokens), model.video_features(frames))
        clip_cos = model.clip.encode_text(tokens, normalize=True) @ model.clip.encode_image(frames[:, 0], normalize=True).t()
    assert (scores - clip_cos).abs().max() < 1e-5


def test_identity_holds_with_padding_frames(tiny):
    """A clip padded with masked frames embeds like its real frame alone."""
    for adapter in ADAPTER_NAMES:
        model = tiny(adapter, num_frames=3).eval()
        frames = random_frames(model, batch=2, num_frames=3)
        mask = torch.tensor([[True, False, False], [True, False, False]])
        with torch.no_grad():
            padded = model.encode_video(frames, mask)
            single = model.encode_video(frames[:, :1])
        assert (padded - single).abs().max() < 1e-5, adapter


def test_text_path_drops_padding_columns_exactly(tiny):
    """Only the columns after the batch's last EOT go; each caption's embedding is unchanged."""
    from vidclip.towers import run_text

    model = tiny("glscl", num_frames=1).eval()
    captions = ["a red circle moves to the left and then grows", "a square"]
    tokens = model.tokenize(captions)  # (2, context_length)
    longest = int(tokens.argmax(dim=-1).max()) + 1
    with torch.no_grad():
        pooled, words, word_mask = run_text(model.clip, tokens)
        alone = [run_text(model.clip, model.tokenize([c]))[0] for c in captions]
        reference = model.clip.encode_text(tokens)
    assert words.shape[1] == word_mask.shape[1] == longest < tokens.shape[1]
    assert word_mask.sum(dim=1).tolist() == (tokens.argmax(dim=-1) + 1).tolist()
    assert (pooled - reference).abs().max() < 1e-5
    assert (torch.cat(alone) - reference).abs().max() < 1e-5


def test_text_path_keeps_padding_without_a_causal_mask(tiny):
    """Without a causal mask padding tokens are attended to, so nothing may be dropped."""
    from vidclip.towers import run_text

    model = tiny("meanp", num_frames=1).eval()
    model.clip.attn_mask = None
    tokens = model.tokenize(["a square"])
    with torch.no_grad():
        pooled, words, _ = run_text(model.clip, tokens)
        reference = model.clip.encode_text(tokens)
    assert words.shape[1] == tokens.shape[1]
    assert (pooled - reference).abs().max() < 1e-5


def test_text_path_keeps_every_column_when_an_eos_is_missing(tiny):
    """EOS pooling with a caption whose EOS was cut off: no safe place to cut, so nothing is dropped."""
    from vidclip.towers import run_text

    model = tiny("meanp", num_frames=1).eval()
    tokens = model.tokenize(["a square", "a red circle moves"])
    eos_id = int(tokens[0].max())
    model.clip.text_pool_type, model.clip.text_eos_id = "eos", eos_id
    tokens[1][tokens[1] == eos_id] = 5  # the second caption lost its EOS
    _, words, _ = run_text(model.clip, tokens)
    assert words.shape[1] == tokens.shape[1]
    tokens[1, 6] = eos_id  # both have one again: cut after the later
    _, words, mask = run_text(model.clip, tokens)
    assert words.shape[1] == 7 and mask.sum(dim=1).tolist() == [int((tokens[0] == eos_id).int().argmax()) + 1, 7]
