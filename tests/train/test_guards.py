"""Bad steps and bad input: NaN guard, crash mid-save, empty data, another architecture."""

import json
import math
from pathlib import Path

import pytest
import torch
from _trainkit import TinyDataset, TinyTask, TinyVideoText, make_trainer, state

from vidclip import checkpoint
from vidclip.train import run_state
from vidclip.errors import EmptyDatasetError, TrainingStopped


def test_nan_losses_are_skipped_and_counted(tmp_path):
    trainer = make_trainer(tmp_path, 8, task=TinyTask(nan_calls={3, 5}), dropout=0.0, jitter=0.0)
    summary = trainer.run()
    assert summary["skipped_steps"] == 2
    assert all(torch.isfinite(v).all() for v in trainer.model.state_dict().values())
    log = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert log[-1]["skipped_steps"] == 2
    assert math.isfinite(log[-1]["loss"])


def test_run_of_nans_stops_and_keeps_last_good_checkpoint(tmp_path):
    good = make_trainer(tmp_path, 20, checkpoint_every=2, task=TinyTask(nan_calls=range(5, 100)))
    with pytest.raises(TrainingStopped, match=r"3 consecutive steps had a non-finite .*last good checkpoint is"):
        good.options.max_bad_steps = 3
        good.run()
    assert good.skipped_steps == 3
    progress = run_state.read_progress(tmp_path / "last")
    assert progress["step"] == 4  # steps 5.. were bad: no checkpoint from inside the bad run
    fresh = TinyVideoText()
    checkpoint.load_weights(fresh, tmp_path / "last")
    # the weights after step 4 are the weights the stopped run still holds (bad steps change nothing)
    for key, value in state(good.model).items():
        torch.testing.assert_close(fresh.state_dict()[key], value, rtol=0, atol=0)


def test_crash_mid_save_leaves_previous_checkpoint(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path, 2)
    trainer.run()
    before = {p.name: p.read_bytes() for p in (tmp_path / "last").iterdir()}

    real_save = run_state._torch_save

    def dying_save(obj, path):
        if str(path).endswith("rng.pt"):
            raise OSError("disk full (injected)")
        return real_save(obj, path)

    monkeypatch.setattr(run_state, "_torch_save", dying_save)
    trainer.step += 1
    with pytest.raises(OSError, match="injected"):
        trainer.save()
    after = {p.name: p.read_bytes() for p in (tmp_path / "last").iterdir()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # temp dir cleaned up


def test_crash_between_renames_falls_back_to_previous(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path, 2)
    trainer.run()
    real_replace = run_state.os.replace

    def dying_replace(src, dst):
        if str(src).endswith(".tmp") and Path(src).is_dir():  # the new checkpoint folder moving in: power loss
            raise KeyboardInterrupt
        return real_replace(src, dst)

    monkeypatch.setattr(run_state.os, "replace", dying_replace)
    trainer.step += 1
    with pytest.raises(KeyboardInterrupt):
        trainer.save()
    resolved = run_state.resolve(tmp_path)
    assert resolved.name == "last.old"
    assert run_state.read_progress(resolved)["step"] == 2
    monkeypatch.undo()
    trainer.save()  # the next save cleans up and moves on
    assert run_state.resolve(tmp_path) == tmp_path / "last"
    assert not (tmp_path / "last.old").exists()


def test_empty_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(EmptyDatasetError, match="the training dataset is empty"):
        make_trainer(tmp_path, 2, dataset=TinyDataset(n=0))


def test_dataset_smaller_than_a_batch_is_a_clear_error(tmp_path):
    with pytest.raises(EmptyDatasetError, match="3 samples, fewer than one global batch of 8"):
        make_trainer(tmp_path, 2, dataset=TinyDataset(n=3))


class PartlyBroken(TinyDataset):
    """Samples in `broken` fail to load (None), like videos that do not decode."""

    def __init__(self, broken, **kwargs):
        super().__init__(**kwargs)
        self.broken = set(broken)

    def __getitem__(self, i):
        return None if i in self.broken else super().__getitem__(i)


def drop_broken(samples):
    good = [s for s in samples if s is not None]
    batch = torch.utils.data.default_collate(good) if good else {
        "frames": torch.zeros(0, 3, 6), "tokens": torch.zeros(0, 4, dtype=torch.long)}
    return {**batch, "skipped": len(samples) - len(good)}


def test_all_broken_micro_batches_are_passed_over_not_counted_as_nan(tmp_path):
    # 36 of 40 broken: each epoch of 5 batches of 8 has at least one batch with no good sample
    dataset = PartlyBroken(range(36), n=40)
    trainer = make_trainer(tmp_path, 6, dataset=dataset, collate_fn=drop_broken, dropout=0.0, jitter=0.0)
    summary = trainer.run()
    assert summary["steps"] == 6 and summary["skipped_steps"] == 0
    assert summary["bad_videos"] >= 36
    assert all(torch.isfinite(v).all() for v in trainer.model.state_dict().values())


def test_data_that_never_decodes_is_a_clear_error(tmp_path):
    dataset = PartlyBroken(range(40), n=40)
    trainer = make_trainer(tmp_path, 3, dataset=dataset, collate_fn=drop_broken)
    with pytest.raises(EmptyDatasetError, match="no usable sample: 40 videos failed to decode"):
        trainer.run()


def test_checkpoint_of_another_architecture_names_both(tmp_path):
    make_trainer(tmp_path, 1).run()
    with pytest.raises(run_state.CheckpointError, match="does not fit this model"):
        checkpoint.load_weights(TinyVideoText(dim=16), tmp_path / "last")


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(run_state.CheckpointError, match="no complete checkpoint"):
        run_state.resolve(tmp_path)
    with pytest.raises(run_state.CheckpointError, match="does not exist"):
        run_state.resolve(tmp_path / "nope")
