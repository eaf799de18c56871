"""Hugging Face CLIPModel folders in, and out: embeddings equal transformers' own, names checked."""

import json
import socket

import pytest
import torch

import vidclip
from vidclip.errors import CheckpointError

transformers = pytest.importorskip("transformers")

MEAN, STD = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]


def tiny_hf_clip(**act):
    vision = dict(image_size=32, patch_size=8, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, projection_dim=32, **act)
    text = dict(vocab_size=49408, hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                max_position_embeddings=32, projection_dim=32, **act)
    torch.manual_seed(0)
    return transformers.CLIPModel(transformers.CLIPConfig(text_config=text, vision_config=vision, projection_dim=32)).eval()


def save_folder(hf, folder, **options):
    hf.save_pretrained(folder, **options)
    processor = {"image_mean": MEAN, "image_std": STD, "resample": 2, "do_center_crop": True,
                 "crop_size": {"height": 32, "width": 32}, "size": {"shortest_edge": 32}}
    (folder / "preprocessor_config.json").write_text(json.dumps(processor))
    return folder


def reference(hf, images, tokens):
    with torch.no_grad():
        ref = hf.get_image_features(pixel_values=images), hf.get_text_features(input_ids=tokens)
    ref = (getattr(x, "pooler_output", x) for x in ref)  # transformers 5 returns output objects
    return [torch.nn.functional.normalize(x, dim=-1) for x in ref]


def assert_same_embeddings(model, hf):
    images = torch.randn(2, 3, 32, 32)
    tokens = model.tokenize(["a red circle moves to the left", "a square"])
    with torch.no_grad():
        ours = model.encode_video(images[:, None]), model.encode_text(tokens)
    for mine, theirs in zip(ours, reference(hf, images, tokens)):
        assert (mine - theirs).abs().max() < 1e-5


def hub_snapshot(cache, repo):
    """The folder of `repo`'s main revision in a Hugging Face cache laid out as huggingface_hub does."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0123abcd")
    (folder / "snapshots" / "0123abcd").mkdir(parents=True)
    return folder / "snapshots" / "0123abcd"


@pytest.fixture(scope="module")
def hf_model():
    return tiny_hf_clip()


@pytest.mark.parametrize("shards", [None, "100KB"])
def test_hf_folder_loads_with_transformers_embeddings_and_its_preprocessing(hf_model, tmp_path, shards):
    folder = save_folder(hf_model, tmp_path / "hf", **({"max_shard_size": shards} if shards else {}))
    if shards:
        assert (folder / "model.safetensors.index.json").is_file() and len(list(folder.glob("model-*.safetensors"))) > 2
    pipeline = vidclip.load(str(folder), num_frames=1)
    assert_same_embeddings(pipeline.model.eval(), hf_model)
    preprocess = pipeline.model.preprocess_config
    assert (preprocess["mean"], preprocess["std"], preprocess["interpolation"]) == (MEAN, STD, "bilinear")
    assert preprocess["image_size"] == 32


def test_a_name_must_describe_the_folders_architecture(hf_model, tmp_path):
    """tiny-vit-16's config, saved by transformers (GELU, first-eos pooling = argmax for CLIP's vocabulary)."""
    vision = dict(image_size=64, patch_size=16, hidden_size=64, intermediate_size=256, num_hidden_layers=2,
                  num_attention_heads=2, hidden_act="gelu")
    text = dict(hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=2,
                max_position_embeddings=32, hidden_act="gelu")
    torch.manual_seed(0)
    same = transformers.CLIPModel(transformers.CLIPConfig(text_config=text, vision_config=vision, projection_dim=64)).eval()
    same.save_pretrained(tmp_path / "same")
    model = vidclip.create_model("tiny-vit-16", pretrained=str(tmp_path / "same"), num_frames=1).eval()
    assert model.config["model"] == "tiny-vit-16"
    with torch.no_grad():
        images = torch.randn(2, 3, 64, 64)
        assert (model.encode_video(images[:, None]) - reference(same, images, model.tokenize(["a"]))[0]).abs().max() < 1e-5

    folder = save_folder(hf_model, tmp_path / "hf")
    with pytest.raises(CheckpointError, match=r"another architecture than 'ViT-L-14' \(embed_dim: 768 != 32.*vidclip.load"):
        vidclip.create_model("ViT-L-14", pretrained=str(folder))
    with pytest.raises(ValueError, match="unknown architecture 'hf-clip'.*pass it as the name"):
        vidclip.create_model("hf-clip", pretrained=str(folder))


def test_loading_an_hf_folder_as_a_checkpoint_says_what_to_call(hf_model, tmp_path):
    from vidclip.factory import load_checkpoint

    folder = save_folder(hf_model, tmp_path / "hf")
    with pytest.raises(CheckpointError, match=r"Hugging Face model folder.*vidclip.load\("):
        load_checkpoint(folder)


def test_an_hf_hub_transformers_repository_loads_from_the_cache_without_network(hf_model, tmp_path, monkeypatch):
    """`hf-hub:` names of transformers repositories (not only open_clip ones): offline, read from the cache."""
    save_folder(hf_model, hub_snapshot(tmp_path / "hub", "someone/tiny-clip"), max_shard_size="100KB")

    def unreachable(address, *args, **kwargs):
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    for key in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(key, raising=False)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    model = vidclip.load("hf-hub:someone/tiny-clip", num_frames=1).model.eval()
    assert_same_embeddings(model, hf_model)
    assert model.preprocess_config["mean"] == MEAN
    with pytest.raises(FileNotFoundError, match="no checkpoint"):  # a missing local path is still that
        vidclip.load("no/such/folder")


def test_export_loads_in_transformers_with_the_same_embeddings(tiny, tmp_path):
    from vidclip.checkpoint import save
    from vidclip.cli import main

    model = tiny("seqtransf", num_frames=2, quick_gelu=True)
    with torch.no_grad():  # fine-tuned towers, not open_clip's init: every weight matters
        for parameter in model.clip.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.02)
    save(model, tmp_path / "ckpt")
    assert main(["export", str(tmp_path / "ckpt"), "--to", "hf", "--out", str(tmp_path / "hf")]) == 0
    hf = transformers.CLIPModel.from_pretrained(tmp_path / "hf").eval()
    processor = json.loads((tmp_path / "hf" / "preprocessor_config.json").read_text())
    assert processor["image_mean"] == model.preprocess_config["mean"] and processor["crop_size"]["height"] == 64
    frames = torch.randn(2, 2, 3, 64, 64)
    tokens = model.tokenize(["a dog runs", "two cats sleep on a warm mat"])
    with torch.no_grad():
        ours_frames = torch.nn.functional.normalize(model.eval().frame_embeddings(frames)[0], dim=-1)  # (B, T, D)
        ours_text = model.encode_text(tokens)
    theirs_frames, theirs_text = reference(hf, frames.flatten(0, 1), tokens)
    assert (ours_frames.flatten(0, 1) - theirs_frames).abs().max() < 1e-5
    assert (ours_text - theirs_text).abs().max() < 1e-5
    assert hf.logit_scale.item() == pytest.approx(model.clip.logit_scale.item())


def test_towers_transformers_cannot_express_are_refused_by_name(tiny, tmp_path):
    from vidclip.convert.hf import export_hf

    with pytest.raises(CheckpointError, match="no equivalent of vision_cfg.ls_init_value=0.1, vision_cfg.qk_norm=True"):
        export_hf(tiny(arch="tiny-vit-16-qknorm"), tmp_path / "hf")


def test_an_open_clip_repository_loads_from_the_hub_cache_and_as_a_local_folder(tiny, tmp_path, monkeypatch):
    """`vidclip.load("hf-hub:ORG/NAME")` of an open_clip repository (config + weights), from the cache."""
    from huggingface_hub import constants
    from safetensors.torch import save_file

    source = tiny()
    snapshot = hub_snapshot(tmp_path / "hub", "someone/tiny-open-clip")
    config = {"model_cfg": source.config["clip"], "preprocess_cfg": {"mean": MEAN, "std": STD}}
    (snapshot / "open_clip_config.json").write_text(json.dumps(config))
    save_file({k: v.contiguous() for k, v in source.clip.state_dict().items()}, str(snapshot / "open_clip_model.safetensors"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    for name in ("hf-hub:someone/tiny-open-clip", str(snapshot)):  # from the Hub's cache; a local open_clip folder
        model = vidclip.load(name).model
        assert model.preprocess_config["mean"] == MEAN
        for key, tensor in source.clip.state_dict().items():
            assert torch.equal(model.clip.state_dict()[key], tensor), key
