"""Hugging Face SiglipModel folders: converted to open_clip's SigLIP layout (timm MAP-head trunk, TextTransformer)
with embeddings, logit scale and bias equal to transformers' own."""

import json

import pytest
import torch

import vidclip
from vidclip.errors import CheckpointError

transformers = pytest.importorskip("transformers")

VOCAB, CONTEXT = 100, 16


@pytest.fixture(scope="module")
def hf_siglip():
    """Odd sizes on purpose: a text width that is not the embedding's, MLP widths that are no whole ratio."""
    vision = dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=72, num_hidden_layers=2, num_attention_heads=4)
    text = dict(vocab_size=VOCAB, hidden_size=48, intermediate_size=100, num_hidden_layers=2, num_attention_heads=4,
                max_position_embeddings=CONTEXT, projection_size=32)
    torch.manual_seed(0)
    hf = transformers.SiglipModel(transformers.SiglipConfig(text_config=text, vision_config=vision)).eval()
    with torch.no_grad():  # trained weights, not transformers' init (zero biases, ...): every tensor matters
        for parameter in hf.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    return hf


def save_folder(hf, folder, **options):
    hf.save_pretrained(folder, **options)
    processor = {"image_processor_type": "SiglipImageProcessor", "image_mean": [0.5] * 3, "image_std": [0.5] * 3,
                 "resample": 2, "do_resize": True, "size": {"height": 32, "width": 32}}
    (folder / "preprocessor_config.json").write_text(json.dumps(processor))
    return folder


def assert_same_as_transformers(model, hf):
    images, tokens = torch.randn(3, 3, 32, 32), torch.randint(0, VOCAB, (2, CONTEXT))
    with torch.no_grad():
        ours = model.encode_video(images[:, None]), model.encode_text(tokens)  # one frame each, meanp
        theirs = hf.get_image_features(pixel_values=images), hf.get_text_features(input_ids=tokens)
    for mine, reference in zip(ours, theirs):
        reference = torch.nn.functional.normalize(getattr(reference, "pooler_output", reference), dim=-1)
        assert mine.shape == reference.shape and (mine - reference).abs().max() < 1e-5


@pytest.mark.parametrize("shards", [None, "20KB"])
def test_a_siglip_folder_loads_with_transformers_embeddings_scale_bias_and_preprocessing(hf_siglip, tmp_path, shards):
    folder = save_folder(hf_siglip, tmp_path / "hf", **({"max_shard_size": shards} if shards else {}))
    if shards:
        assert (folder / "model.safetensors.index.json").is_file() and len(list(folder.glob("model-*.safetensors"))) > 2
    model = vidclip.load(str(folder), num_frames=1).model.eval()
    assert_same_as_transformers(model, hf_siglip)
    assert model.clip.logit_scale.item() == hf_siglip.logit_scale.item()
    assert model.clip.logit_bias.item() == hf_siglip.logit_bias.item()
    assert model.loss == "sigmoid"
    preprocess = model.preprocess_config
    assert (preprocess["mean"], preprocess["resize_mode"], preprocess["interpolation"], preprocess["image_size"]) == (
        [0.5] * 3, "squash", "bilinear", 32)


def test_a_converted_siglip_model_saves_and_loads_and_names_its_architecture(hf_siglip, tmp_path):
    from vidclip.checkpoint import save
    from vidclip.factory import load_checkpoint

    folder = save_folder(hf_siglip, tmp_path / "hf")
    model = vidclip.create_model(str(folder), adapter="seqtransf", num_frames=2)
    save(model, tmp_path / "ckpt")
    again = load_checkpoint(tmp_path / "ckpt").eval()
    frames = torch.randn(2, 2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(again.encode_video(frames), model.eval().encode_video(frames))
    with pytest.raises(CheckpointError, match=r"another architecture than 'ViT-B-16-SigLIP' \(embed_dim: 768 != 32"):
        vidclip.create_model("ViT-B-16-SigLIP", pretrained=str(folder))


def test_without_tokenizer_files_tokenizing_says_what_to_do(hf_siglip, tmp_path):
    model = vidclip.load(str(save_folder(hf_siglip, tmp_path / "hf")), num_frames=1).model
    with pytest.raises(CheckpointError, match=r"cannot read the tokenizer of .*hf.*save_pretrained\(FOLDER\).*or pass token ids"):
        model.tokenize(["a dog"])


def test_a_siglip2_folder_is_refused_with_what_to_use(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "siglip2", "architectures": ["Siglip2Model"]}))
    with pytest.raises(CheckpointError, match="'siglip2' model; vidclip converts CLIPModel and SiglipModel folders only.*hf-hub:timm/"):
        vidclip.load(str(tmp_path))


def test_open_clips_siglip_names_fit_the_default_siglip_folder_and_other_sizes_do_not(tmp_path):
    """google/siglip-base-patch16-224's config is SiglipConfig's defaults: the same shape as open_clip's
    ViT-B-16-SigLIP (timm's trunk, exact GELU where transformers' has the tanh approximation)."""
    from vidclip.convert.siglip import siglip_config
    from vidclip.factory import _check_name_fits

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "siglip"}))
    converted = siglip_config({"model_type": "siglip"}, tmp_path)
    _check_name_fits("ViT-B-16-SigLIP", converted, tmp_path)
    so400m = dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27, num_attention_heads=16)  # 4304/1152: no whole ratio
    _check_name_fits("ViT-SO400M-14-SigLIP-384", siglip_config(
        {"vision_config": dict(so400m, patch_size=14, image_size=384), "text_config": so400m}, tmp_path), tmp_path)
    with pytest.raises(CheckpointError, match=r"another architecture than 'ViT-B-16-SigLIP-384' \(vision_cfg.image_size: 384 != 224"):
        _check_name_fits("ViT-B-16-SigLIP-384", converted, tmp_path)


def test_a_trunk_name_alone_registers_the_shape_it_spells():
    """What rebuilding a saved checkpoint in a fresh process relies on: the config holds only the name."""
    import timm

    from vidclip.convert.siglip import register_siglip_trunk, siglip_trunk_name

    name = siglip_trunk_name(24, 1, 2, 50, 4, 16, 2.5e-5, "gelu")
    assert "." not in name and not timm.is_model(name)
    register_siglip_trunk(name)
    trunk = timm.create_model(name, num_classes=0)
    block = trunk.blocks[0]
    assert (trunk.embed_dim, len(trunk.blocks), block.attn.num_heads, block.mlp.fc1.out_features) == (24, 1, 2, 50)
    assert trunk.patch_embed.img_size == (16, 16) and trunk.patch_embed.patch_size == (4, 4) and trunk.norm.eps == 2.5e-5
    x = torch.linspace(-3, 3, 7)
    assert torch.equal(block.mlp.act(x), torch.nn.functional.gelu(x))  # exact GELU, as spelled
    assert trunk.attn_pool.mlp.fc1.out_features == 50 and not trunk.has_class_token


def test_siglip_configs_vidclip_cannot_express_are_refused_by_field(tmp_path):
    from vidclip.convert.siglip import siglip_config

    with pytest.raises(CheckpointError, match=r"cannot convert this SiglipModel \(vision_config.vision_use_head=False .*; "
                                              r"vision_config.image_size=\[32, 64\] \(not square\)\)"):
        siglip_config({"vision_config": {"vision_use_head": False, "image_size": [32, 64]}}, tmp_path)
