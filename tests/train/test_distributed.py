"""Two Gloo processes on CPU train exactly like one process with the same global batch."""

import socket

import torch
import torch.multiprocessing as mp
from _trainkit import make_trainer, state

from vidclip.train import distributed

STEPS = 4


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world_size, port, run_dir, out):
    import os

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    info = distributed.init_distributed(device="cpu")
    try:
        _train(info, run_dir, out)
    finally:
        distributed.cleanup()


def _train(info, run_dir, out):
    """Own frame, so DDP is gone before the process group is destroyed."""
    trainer = make_trainer(run_dir, STEPS, batch_size=4, dist_info=info, dropout=0.0, jitter=0.0, checkpoint_every=2)
    summary = trainer.run()
    if info.is_main:
        torch.save({"state": state(trainer.model), "loss": summary["train"]["loss"]}, out)


def test_two_gloo_processes_match_one_process(tmp_path):
    single = make_trainer(tmp_path / "single", STEPS, batch_size=8, dropout=0.0, jitter=0.0)
    single_summary = single.run()

    out = tmp_path / "ddp.pt"
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path / "ddp"), str(out)), nprocs=2, join=True)
    ddp = torch.load(out, weights_only=True)

    assert abs(ddp["loss"] - single_summary["train"]["loss"]) < 1e-5
    for key, value in state(single.model).items():
        torch.testing.assert_close(ddp["state"][key], value, rtol=1e-5, atol=1e-6, msg=key)
    assert (tmp_path / "ddp" / "last" / "progress.json").exists()


def test_all_gather_is_identity_in_one_process():
    x = torch.randn(3, 4, requires_grad=True)
    assert distributed.all_gather_with_grad(x) is x
    assert distributed.all_gather_with_grad({"a": x})["a"] is x
