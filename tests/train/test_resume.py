"""--resume continues exactly: a SIGKILLed run, resumed, ends where the uninterrupted run ends."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from _trainkit import make_trainer, state

KIT = Path(__file__).with_name("_trainkit.py")
STEPS = 12


def _spawn(run_dir, *extra):
    return subprocess.Popen([sys.executable, str(KIT), str(run_dir), str(STEPS), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _checkpoint_step(run_dir):
    try:
        return json.loads((Path(run_dir) / "last" / "progress.json").read_text())["step"]
    except (OSError, ValueError):
        return -1


def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path):
    # the uninterrupted run, same settings as the script (grad_accum 2, batch 4, dropout + jitter)
    reference = make_trainer(tmp_path / "reference", STEPS, checkpoint_every=2, grad_accum=2, batch_size=4)
    reference.run()
    expected = state(reference.model)

    run_dir = tmp_path / "killed"
    proc = _spawn(run_dir, "--sleep", "0.05")
    deadline = time.monotonic() + 60
    while _checkpoint_step(run_dir) < 5 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = _checkpoint_step(run_dir)
    assert 5 <= killed_at < STEPS

    resumed = make_trainer(run_dir, STEPS, checkpoint_every=2, grad_accum=2, batch_size=4)
    summary = resumed.run(resume_from=run_dir / "last")
    assert summary["steps"] == STEPS
    got = state(resumed.model)
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=0, atol=1e-6, msg=key)

    # the metrics log has each step once, whatever the killed run had written past its checkpoint
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, STEPS + 1))


def test_resume_restores_optimizer_scheduler_and_position(tmp_path):
    first = make_trainer(tmp_path, 10, checkpoint_every=4)
    first.options.steps = 4  # stop early, as a crash right after the step-4 checkpoint would
    first.run()
    second = make_trainer(tmp_path, 10)
    progress = second.resume(tmp_path / "last")
    assert progress["step"] == 4 and second.step == 4
    assert second.scheduler.last_epoch == 4
    assert second.optimizer.state_dict()["state"], "optimizer moments were not restored"
    assert (second.epoch, second.batch_in_epoch) == (first.epoch, first.batch_in_epoch)


def test_resume_with_another_seed_is_refused(tmp_path):
    make_trainer(tmp_path, 2).run()
    other = make_trainer(tmp_path, 4, seed=1)
    with pytest.raises(Exception, match="seed 0.*uses 1"):
        other.resume(tmp_path / "last")
