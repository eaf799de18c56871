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


def test_hf_clip_folder_matches_transformers(tmp_path):
    transformers = pytest.importorskip("transformers")
    vision = dict(image_size=32, patch_size=8, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, projection_dim=32)
    text = dict(vocab_size=49408, hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                max_position_embeddings=32, projection_dim=32)
    config = transformers.CLIPConfig(text_config=text, vision_config=vision, projection_dim=32)
    torch.manual_seed(0)
    hf = transformers.CLIPModel(config).eval()
    hf.save_pretrained(tmp_path / "hf")
    model = vidclip.create_model("hf-clip", pretrained=str(tmp_path / "hf"), num_frames=1).eval()
    images = torch.randn(2, 3, 32, 32)
    tokens = model.tokenize(["a red circle moves to the left", "a square"])
    with torch.no_grad():
        ours_v, ours_t = model.encode_video(images[:, None]), model.encode_text(tokens)
        ref_v, ref_t = hf.get_image_features(pixel_values=images), hf.get_text_features(input_ids=tokens)
        ref_v, ref_t = (getattr(x, "pooler_output", x) for x in (ref_v, ref_t))  # transformers 5 returns outputs
        ref_v, ref_t = (torch.nn.functional.normalize(x, dim=-1) for x in (ref_v, ref_t))
    assert (ours_v - ref_v).abs().max() < 1e-5
    assert (ours_t - ref_t).abs().max() < 1e-5
