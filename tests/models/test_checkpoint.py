"""Save -> load round trips, pretrained sources, and refusal of pickled weights."""

import collections
import json

import pytest
import torch

import vidclip
from vidclip.errors import CheckpointError
from vidclip.checkpoint import save
from vidclip.factory import load_checkpoint

from model_testing import ADAPTER_NAMES, CAPTIONS, perturb_new_parameters, random_frames


def _outputs(model, frames, tokens):
    with torch.no_grad():
        video, text = model.video_features(frames), model.text_features(tokens)
        return model.similarity(text, video), video["embedding"]


@pytest.mark.parametrize("adapter", ADAPTER_NAMES)
def test_round_trip(tiny, tmp_path, adapter):
    model = tiny(adapter, num_frames=3).eval()
    perturb_new_parameters(model)
    frames, tokens = random_frames(model), model.tokenize(CAPTIONS)
    save(model, tmp_path / "ckpt")
    loaded = load_checkpoint(tmp_path / "ckpt").eval()
    assert json.loads((tmp_path / "ckpt" / "config.json").read_text())["adapter"] == adapter
    assert loaded.config == json.loads(json.dumps(model.config))
    for a, b in zip(_outputs(model, frames, tokens), _outputs(loaded, frames, tokens)):
        assert torch.equal(a, b)
    again = vidclip.create_model("tiny-vit-16", pretrained=str(tmp_path / "ckpt"), adapter=adapter, num_frames=3).eval()
    assert all(torch.equal(a, b) for a, b in zip(_outputs(model, frames, tokens), _outputs(again, frames, tokens)))


def test_checkpoint_towers_seed_a_new_adapter(tiny, tmp_path):
    """Stage 1 (image-text) checkpoint -> stage 2 model with another adapter: towers carried over."""
    stage1 = tiny("meanp", num_frames=1)
    save(stage1, tmp_path / "stage1.safetensors")
    stage2 = vidclip.create_model("tiny-vit-16", pretrained=str(tmp_path / "stage1.safetensors"), adapter="prompts")
    assert all(torch.equal(a, b) for a, b in zip(stage1.clip.state_dict().values(), stage2.clip.state_dict().values()))


def test_architecture_mismatch_is_refused(tiny, tmp_path):
    save(tiny("meanp"), tmp_path / "ckpt")
    with pytest.raises(CheckpointError, match="not 'demo-vit-8'"):
        vidclip.create_model("demo-vit-8", pretrained=str(tmp_path / "ckpt"))


def test_open_clip_weights_file(tiny, tmp_path):
    model = tiny("meanp")
    torch.save(model.clip.state_dict(), tmp_path / "weights.pt")
    loaded = vidclip.create_model("tiny-vit-16", pretrained=str(tmp_path / "weights.pt"))
    assert all(torch.equal(a, b) for a, b in zip(model.clip.state_dict().values(), loaded.clip.state_dict().values()))


def test_pickled_objects_are_refused(tiny, tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": tiny("meanp").clip.state_dict(), "args": collections.Counter(a=1), "fn": print}, path)
    with pytest.raises(CheckpointError, match="pickled Python objects"):
        vidclip.create_model("tiny-vit-16", pretrained=str(path))
