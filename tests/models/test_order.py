"""meanP ignores frame order; the temporal adapters see it once their new parameters move."""

import pytest
import torch

from model_testing import perturb_new_parameters, random_frames


def _features(model, frames):
    with torch.no_grad():
        return model.encode_video(frames)


def test_meanp_is_order_invariant(tiny):
    model = tiny("meanp", num_frames=4).eval()
    frames = random_frames(model, num_frames=4)
    assert (_features(model, frames) - _features(model, frames.flip(1))).abs().max() < 1e-5


@pytest.mark.parametrize("adapter", ["seqtransf", "prompts", "vdi", "glscl"])
def test_temporal_adapters_are_order_sensitive(tiny, adapter):
    model = tiny(adapter, num_frames=4).eval()
    perturb_new_parameters(model)
    frames = random_frames(model, num_frames=4)
    assert (_features(model, frames) - _features(model, frames.flip(1))).abs().max() > 1e-4  # fp32 noise is ~1e-7


def test_glscl_similarity_is_order_sensitive(tiny):
    model = tiny("glscl", num_frames=4).eval()
    perturb_new_parameters(model)
    frames = random_frames(model, num_frames=4)
    text = model.text_features(model.tokenize(["a circle moves left", "a square grows"]))
    with torch.no_grad():
        forward, backward = (model.similarity(text, model.video_features(f)) for f in (frames, frames.flip(1)))
    assert (forward - backward).abs().max() > 1e-4


def test_seqtransf_frame_positions_start_as_the_text_positions(tiny):
    """CLIP4Clip copies the text tower's positional embedding into its frame positions."""
    model = tiny("seqtransf")
    text_positions = model.clip.positional_embedding  # (context, width)
    frame_positions = model.adapter.temporal.position  # (max_frames, D)
    assert text_positions.shape[1] == frame_positions.shape[1]
    rows = min(len(text_positions), len(frame_positions))
    assert torch.equal(frame_positions[:rows], text_positions[:rows])
