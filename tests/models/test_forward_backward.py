"""Every (architecture x adapter) pair trains on CPU; gradient checkpointing changes nothing."""

import pytest
import torch

from model_testing import ADAPTER_NAMES, CAPTIONS, TINY_ARCHS, perturb_new_parameters, random_frames


@pytest.mark.parametrize("arch", TINY_ARCHS)
@pytest.mark.parametrize("adapter", ADAPTER_NAMES)
def test_forward_backward(tiny, arch, adapter):
    model = tiny(adapter, num_frames=3, arch=arch).train()
    frames = random_frames(model, num_frames=3)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    losses = model.training_losses(frames, mask, model.tokenize(CAPTIONS), captions=CAPTIONS)
    assert torch.isfinite(losses["loss"]) and losses["loss"].ndim == 0
    losses["loss"].backward()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    unused = {n for n, p in trainable.items() if p.grad is None}
    assert unused <= {n for n in trainable if ".moment_head." in n}, sorted(unused)[:5]
    assert all(torch.isfinite(p.grad).all() for p in trainable.values() if p.grad is not None)


@pytest.mark.parametrize("adapter", ADAPTER_NAMES)
def test_grad_checkpointing_same_outputs(tiny, adapter):
    model = tiny(adapter, num_frames=3).train()
    perturb_new_parameters(model)
    frames, tokens = random_frames(model, num_frames=3), model.tokenize(CAPTIONS)

    def run():
        model.zero_grad()
        torch.manual_seed(0)  # the same dropout masks (EZ-CLIP's prompt dropout) in both runs
        loss = model.training_losses(frames, None, tokens, captions=CAPTIONS)["loss"]
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    plain_loss, plain_grads = run()
    model.set_grad_checkpointing(True)
    ckpt_loss, ckpt_grads = run()
    assert torch.allclose(plain_loss, ckpt_loss, atol=1e-6)
    assert len(plain_grads) == len(ckpt_grads)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(plain_grads, ckpt_grads))


def test_prompts_freeze_towers_by_default(tiny):
    model = tiny("prompts")
    assert model.freeze == "towers"
    assert all(not p.requires_grad for n, p in model.named_parameters() if n.startswith("clip.") and "logit" not in n)
    assert model.num_trainable_parameters() == sum(p.numel() for p in model.adapter.parameters()) + 1


def test_param_groups_split_towers_and_new(tiny):
    model = tiny("seqtransf", freeze="visual")
    from vidclip.train.optim import param_groups

    groups = param_groups(model, tower_lr=1e-6, new_lr=1e-4, weight_decay=0.2)
    by_name = {g["name"]: g for g in groups}
    assert by_name["tower"]["lr"] == 1e-6 and by_name["new"]["lr"] == 1e-4
    assert by_name["tower_no_decay"]["weight_decay"] == 0.0
    grouped = sum(p.numel() for g in groups for p in g["params"])
    assert grouped == model.num_trainable_parameters()
    assert not any(p is q for p in model.clip.visual.parameters() for g in groups for q in g["params"])
    group_of = {id(p): g["name"] for g in groups for p in g["params"]}
    assert group_of[id(model.clip.logit_scale)] == "new_no_decay"  # the temperature trains with the new modules
    assert group_of[id(model.adapter.temporal.position)] == "new_no_decay"  # a learned per-frame vector
    assert group_of[id(model.clip.positional_embedding)] == "tower_no_decay"


def test_learned_slots_skip_decay_but_linear_layers_named_query_do_not(tiny):
    from vidclip.train.optim import param_groups

    for adapter, slot, linear in (("glscl", "adapter.queries", None), ("vdi", "adapter.temporal.position",
                                                                         "adapter.moment_head.query_in.weight")):
        model = tiny(adapter)
        names = dict(model.named_parameters())
        groups = param_groups(model, tower_lr=1e-6, new_lr=1e-4, weight_decay=0.2)
        decay = {id(p): g["weight_decay"] for g in groups for p in g["params"]}
        assert decay[id(names[slot])] == 0.0
        if linear:
            assert decay[id(names[linear])] == 0.2


def test_bad_options_are_named(tiny):
    with pytest.raises(ValueError, match="adapter options"):
        tiny("glscl", not_an_option=1)
    with pytest.raises(ValueError, match="unknown adapter"):
        tiny("nope")
    with pytest.raises(ValueError, match="freeze"):
        tiny("meanp", freeze="everything")
