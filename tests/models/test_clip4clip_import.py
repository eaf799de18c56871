"""A CLIP4Clip checkpoint (its key layout, random weights) imports with CLIP4Clip's own outputs.

The reference is CLIP4Clip's forward written out in float64 from its code (modules/module_clip.py,
module_cross.py, modeling.py `_loose_similarity`), independent of open_clip and of vidclip.
"""

import math

import pytest
import torch
import torch.nn.functional as F

import vidclip
from vidclip.cli import main
from vidclip.convert.clip4clip import import_clip4clip
from vidclip.errors import CheckpointError

WIDTH, EMBED, PATCH, GRID, CONTEXT, VOCAB, LAYERS = 128, 128, 8, 4, 77, 49408, 2  # heads: WIDTH // 64 = 2


def _block(state, prefix, width, generator):
    def rand(*shape, scale=0.05):
        return torch.randn(*shape, generator=generator) * scale

    for norm in ("ln_1", "ln_2"):
        state[f"{prefix}{norm}.weight"], state[f"{prefix}{norm}.bias"] = 1 + rand(width, scale=0.1), rand(width, scale=0.1)
    state[f"{prefix}attn.in_proj_weight"], state[f"{prefix}attn.in_proj_bias"] = rand(3 * width, width, scale=0.15), rand(3 * width)
    state[f"{prefix}attn.out_proj.weight"], state[f"{prefix}attn.out_proj.bias"] = rand(width, width, scale=0.1), rand(width)
    state[f"{prefix}mlp.c_fc.weight"], state[f"{prefix}mlp.c_fc.bias"] = rand(4 * width, width, scale=0.1), rand(4 * width)
    state[f"{prefix}mlp.c_proj.weight"], state[f"{prefix}mlp.c_proj.bias"] = rand(width, 4 * width), rand(width)


def fake_checkpoint(seq_transf, seed=0):
    """CLIP4Clip's state dict: `clip.` + OpenAI CLIP (fp16 matrices, as its convert_weights leaves them)."""
    g = torch.Generator().manual_seed(seed)
    state = {"clip.visual.conv1.weight": torch.randn(WIDTH, 3, PATCH, PATCH, generator=g) * 0.05,
             "clip.visual.class_embedding": torch.randn(WIDTH, generator=g) * 0.1,
             "clip.visual.positional_embedding": torch.randn(GRID * GRID + 1, WIDTH, generator=g) * 0.1,
             "clip.visual.proj": torch.randn(WIDTH, EMBED, generator=g) * 0.1,
             "clip.token_embedding.weight": torch.randn(VOCAB, WIDTH, generator=g) * 0.1,
             "clip.positional_embedding": torch.randn(CONTEXT, WIDTH, generator=g) * 0.1,
             "clip.text_projection": torch.randn(WIDTH, EMBED, generator=g) * 0.1,
             "clip.logit_scale": torch.tensor(math.log(1 / 0.07))}
    for norm in ("clip.visual.ln_pre", "clip.visual.ln_post", "clip.ln_final"):
        state[f"{norm}.weight"], state[f"{norm}.bias"] = 1 + torch.randn(WIDTH, generator=g) * 0.1, torch.randn(WIDTH, generator=g) * 0.1
    for layer in range(LAYERS):
        _block(state, f"clip.visual.transformer.resblocks.{layer}.", WIDTH, g)
        _block(state, f"clip.transformer.resblocks.{layer}.", WIDTH, g)
    state = {k: v.half() if v.ndim == 2 else v for k, v in state.items()}
    if seq_transf:
        state["frame_position_embeddings.weight"] = torch.randn(CONTEXT, EMBED, generator=g) * 0.5
        for layer in range(LAYERS + 1):  # a depth other than vidclip's default 4
            _block(state, f"transformerClip.resblocks.{layer}.", WIDTH, g)
    return state


def _ln(x, s, prefix):
    return F.layer_norm(x, x.shape[-1:], s[prefix + "weight"], s[prefix + "bias"], eps=1e-5)


def _blocks(x, s, prefix, mask=None):
    """OpenAI residual blocks, batch first: x (N, L, W); mask (N or 1, L, L) additive."""
    heads, layer = x.shape[-1] // 64, 0
    while f"{prefix}{layer}.ln_1.weight" in s:
        p = f"{prefix}{layer}."
        q, k, v = (_ln(x, s, p + "ln_1.") @ s[p + "attn.in_proj_weight"].T + s[p + "attn.in_proj_bias"]).chunk(3, dim=-1)
        q, k, v = (t.unflatten(-1, (heads, -1)).transpose(1, 2) for t in (q, k, v))  # (N, H, L, d)
        logits = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + (0 if mask is None else mask[:, None])
        attended = (logits.softmax(-1) @ v).transpose(1, 2).flatten(2)  # (N, L, W)
        x = x + attended @ s[p + "attn.out_proj.weight"].T + s[p + "attn.out_proj.bias"]
        h = _ln(x, s, p + "ln_2.") @ s[p + "mlp.c_fc.weight"].T + s[p + "mlp.c_fc.bias"]
        x = x + (h * torch.sigmoid(1.702 * h)) @ s[p + "mlp.c_proj.weight"].T + s[p + "mlp.c_proj.bias"]
        layer += 1
    return x


def clip4clip_reference(state, frames, video_mask, tokens):
    """CLIP4Clip's normalised (video, text) embeddings, float64."""
    s = {k: v.double() for k, v in state.items()}
    batch, num_frames = frames.shape[:2]
    x = F.conv2d(frames.flatten(0, 1).double(), s["clip.visual.conv1.weight"], stride=PATCH).flatten(2).transpose(1, 2)
    x = torch.cat([s["clip.visual.class_embedding"].expand(len(x), 1, -1), x], 1) + s["clip.visual.positional_embedding"]
    x = _blocks(_ln(x, s, "clip.visual.ln_pre."), s, "clip.visual.transformer.resblocks.")
    visual = (_ln(x[:, 0], s, "clip.visual.ln_post.") @ s["clip.visual.proj"]).unflatten(0, (batch, num_frames))
    if "frame_position_embeddings.weight" in s:  # seqTransf
        extended = (1.0 - video_mask.double()[:, None, :]) * -1000000.0  # (B, 1, T)
        hidden = _blocks(visual + s["frame_position_embeddings.weight"][:num_frames], s, "transformerClip.resblocks.",
                         extended.expand(-1, num_frames, -1))
        visual = hidden + visual
    visual = visual / visual.norm(dim=-1, keepdim=True)
    m = video_mask.double()[..., None]
    video = (visual * m).sum(1) / m.sum(1).clamp(min=1)
    length = tokens.shape[1]  # CLIP4Clip's max_words: the first positions only
    x = s["clip.token_embedding.weight"][tokens] + s["clip.positional_embedding"][:length]
    causal = torch.full((length, length), float("-inf"), dtype=torch.float64).triu(1)
    x = _ln(_blocks(x, s, "clip.transformer.resblocks.", causal[None]), s, "clip.ln_final.")
    text = x[torch.arange(len(x)), tokens.argmax(-1)] @ s["clip.text_projection"]
    return F.normalize(video, dim=-1), F.normalize(text, dim=-1)


@pytest.fixture(scope="module")
def inputs():
    g = torch.Generator().manual_seed(1)
    frames = torch.randn(2, 3, 3, PATCH * GRID, PATCH * GRID, generator=g)
    return frames, torch.tensor([[True, True, True], [True, True, False]])


@pytest.mark.parametrize("seq_transf", [False, True], ids=["meanP", "seqTransf"])
def test_a_clip4clip_checkpoint_imports_with_its_own_outputs(tmp_path, inputs, seq_transf):
    frames, mask = inputs
    state = fake_checkpoint(seq_transf)
    torch.save(state, tmp_path / "pytorch_model.bin.1")
    if seq_transf:  # through the command
        assert main(["import", "clip4clip", str(tmp_path / "pytorch_model.bin.1"), "--out", str(tmp_path / "out"),
                     "--num-frames", "3"]) == 0
    else:
        import_clip4clip(tmp_path / "pytorch_model.bin.1", tmp_path / "out", num_frames=3)
    model = vidclip.load(str(tmp_path / "out")).model.eval()
    assert model.adapter.name == ("seqtransf" if seq_transf else "meanp") and model.config["model"] == "clip4clip-vit"
    tokens = model.tokenize(["a man plays a guitar on stage", "cooking", "a very long caption " * 12])
    assert tokens.shape == (3, 32) and tokens[2, -1] == 49407  # CLIP4Clip's 32 words, cut with the end token kept
    with torch.no_grad():
        ours = model.encode_video(frames, mask), model.encode_text(tokens)
    video, text = clip4clip_reference(state, frames, mask, tokens)
    assert (ours[0].double() - video).abs().max() < 1e-5
    assert (ours[1].double() - text).abs().max() < 1e-5
    if seq_transf:  # the temporal transformer mattered: meanP of the same towers is elsewhere
        meanp, _ = clip4clip_reference({k: v for k, v in state.items() if k.startswith("clip.")}, frames, mask, tokens)
        assert (meanp - video).abs().max() > 1e-2


@pytest.mark.parametrize("key, option", [("lstm_visual.weight_ih_l0", "seqLSTM"), ("cross.pooler.dense.weight", "tightTransf"),
                                         ("clip.visual.conv2.weight", "linear_patch 3d")])
def test_options_vidclip_lacks_are_refused_by_name(tmp_path, key, option):
    torch.save({"clip.logit_scale": torch.tensor(1.0), key: torch.zeros(2, 2)}, tmp_path / "pytorch_model.bin.0")
    with pytest.raises(CheckpointError, match=f"uses .*{option}.*no adapter for"):
        import_clip4clip(tmp_path / "pytorch_model.bin.0", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_not_a_checkpoint_exits_2_naming_it(tmp_path, capsys):
    (tmp_path / "pytorch_model.bin.0").write_bytes(b"junk\n")
    assert main(["import", "clip4clip", str(tmp_path / "pytorch_model.bin.0"), "--out", str(tmp_path / "out")]) == 2
    assert "pytorch_model.bin.0 is not a PyTorch weights file" in capsys.readouterr().err


def test_the_architecture_is_named_from_the_weights_shapes():
    """ViT-B/32's shapes (meta tensors: no memory), as CLIP4Clip's own code reads them."""
    from vidclip.convert.clip4clip import model_name, openai_clip_config

    shapes = {"visual.conv1.weight": (768, 3, 32, 32), "visual.positional_embedding": (50, 768),
              "text_projection": (512, 512), "positional_embedding": (32, 512), "token_embedding.weight": (49408, 512),
              "ln_final.weight": (512,)}
    shapes.update({f"{tower}transformer.resblocks.{i}.ln_1.weight": (1,) for tower in ("visual.", "") for i in range(12)})
    config = openai_clip_config({key: torch.empty(shape, device="meta") for key, shape in shapes.items()})
    assert model_name(config) == "clip4clip-ViT-B-32-quickgelu"
    assert model_name({**config, "embed_dim": 256}) == "clip4clip-vit"
