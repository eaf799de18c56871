"""Parameter groups and the learning-rate schedule."""

import pytest
import torch
from _trainkit import TinyVideoText

from vidclip.train.optim import WarmupSchedule, build_optimizer, build_scheduler


def test_groups_split_towers_from_new_modules_and_skip_decay_where_it_hurts():
    model = TinyVideoText()
    model.token_embedding.weight.requires_grad_(False)  # frozen parameters stay out
    optimizer = build_optimizer(model, tower_lr=1e-5, new_lr=1e-3, weight_decay=0.2)
    groups = {group["name"]: group for group in optimizer.param_groups}
    by_param = {id(p): name for name, group in groups.items() for p in group["params"]}
    assert by_param[id(model.visual.weight)] == "tower" and groups["tower"]["lr"] == 1e-5
    assert by_param[id(model.visual.bias)] == "tower_no_decay" and groups["tower_no_decay"]["weight_decay"] == 0
    assert by_param[id(model.adapter[0].weight)] == "new" and groups["new"]["lr"] == 1e-3
    assert groups["new"]["weight_decay"] == 0.2
    assert by_param[id(model.logit_scale)] == "new_no_decay"
    assert id(model.token_embedding.weight) not in by_param


def test_nothing_to_train_is_a_clear_error():
    model = TinyVideoText().requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        build_optimizer(model, tower_lr=1e-5, new_lr=1e-3)


@pytest.mark.parametrize("shape", ["cosine", "linear", "constant"])
def test_warmup_then_decay(shape):
    schedule = WarmupSchedule(total_steps=10, warmup_steps=4, min_ratio=0.1, shape=shape)
    values = [schedule(step) for step in range(11)]
    assert values[:4] == [0.25, 0.5, 0.75, 1.0]
    assert values[4] == 1.0
    assert values[10] == pytest.approx(1.0 if shape == "constant" else 0.1)
    assert all(a >= b for a, b in zip(values[4:], values[5:]))


def test_scheduler_state_round_trips_with_weights_only(tmp_path):
    model = TinyVideoText()
    optimizer = build_optimizer(model, tower_lr=1e-5, new_lr=1e-3)
    scheduler = build_scheduler(optimizer, total_steps=10, warmup_steps=2)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    torch.save(scheduler.state_dict(), tmp_path / "s.pt")
    again = build_scheduler(optimizer, total_steps=10, warmup_steps=2)
    again.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    assert again.last_epoch == 3 and again.get_last_lr() == scheduler.get_last_lr()
