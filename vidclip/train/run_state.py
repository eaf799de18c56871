"""A training run's resumable state (weights, optimizer, RNG, progress), crash-safe in its run folder.

    RUN_DIR/
      train_config.json       the run's full config (what `--resume` rebuilds from)
      last/                   the newest complete checkpoint
        model.safetensors     weights (+ config.json beside them: a loadable vidclip checkpoint)
        training_state.pt     optimizer, scheduler and grad-scaler state (plain tensors; weights_only)
        rng.pt                python / numpy / torch / cuda RNG states, one entry per rank
        progress.json         step, epoch, batch within epoch, data seed, counters

A checkpoint is written into a hidden sibling directory, every file fsync'ed, then swapped in with
renames (last -> last.old, new -> last). A crash at any point leaves either `last/` or `last.old/`
complete, and `resolve()` picks whichever is; the previous good checkpoint is never modified in place.
"""

import io
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from vidclip import checkpoint
from vidclip.atomic import current_umask, fsync_path, remove_stale_temps, temp_prefix, write_text_atomic
from vidclip.errors import CheckpointError, ConfigError

LAST = "last"
_OLD = "last.old"
_PROGRESS = "progress.json"
_STATE = "training_state.pt"
_RNG = "rng.pt"
_CONFIG = "train_config.json"


# ---- RNG states as plain data -------------------------------------------------------------------

def rng_state():
    """Every RNG the loop touches, as tensors and plain numbers (loadable with weights_only=True)."""
    version, keys, gauss = random.getstate()
    kind, np_keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": {"version": version, "keys": torch.tensor(keys, dtype=torch.int64), "gauss": gauss},
        "numpy": {"kind": kind, "keys": torch.from_numpy(np_keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state):
    py = state["python"]
    random.setstate((py["version"], tuple(py["keys"].tolist()), py["gauss"]))
    npy = state["numpy"]
    np.random.set_state((npy["kind"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = state["cuda"][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(cuda_states)


# ---- whole checkpoints ------------------------------------------------------------------------

def save_run_state(run_dir, *, model, optimizer, progress, scheduler=None, scaler=None, rng_states=None,
                    extra_files=None):
    """Write RUN_DIR/last/ atomically (see module docstring). Call on rank 0 only.

    `progress` is a JSON-able dict (step, epoch, batch_in_epoch, seed, ...); `rng_states` the list of
    per-rank RNG states (defaults to this process's); `extra_files` maps names to JSON-able dicts.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(run_dir / LAST)  # the half-written checkpoints of killed runs
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(LAST), suffix=".tmp", dir=run_dir))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())
        checkpoint.save(model, tmp)
        _torch_save({
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
        }, tmp / _STATE)
        _torch_save({"ranks": rng_states if rng_states is not None else [rng_state()]}, tmp / _RNG)
        for name, data in (extra_files or {}).items():
            (tmp / name).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        (tmp / _PROGRESS).write_text(json.dumps(progress, indent=2, sort_keys=True) + "\n")
        for file in tmp.iterdir():
            fsync_path(file)
        fsync_path(tmp)
        _swap_in(run_dir, tmp)
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(error, OSError) and error.errno is not None:  # name the checkpoint, not a file in its temp
            raise type(error)(error.errno, error.strerror, str(run_dir / LAST)) from error
        raise
    return run_dir / LAST


def _torch_save(obj, path):
    """torch.save through a Python write: a full disk is then an OSError(ENOSPC), not torch's
    "enforce fail at inline_container.cc"."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    Path(path).write_bytes(buffer.getbuffer())


def _swap_in(run_dir, new):
    last, old = run_dir / LAST, run_dir / _OLD
    if last.exists():
        if old.exists():  # left by an earlier crash; `last` is complete, so it is stale
            shutil.rmtree(old)
        os.replace(last, old)
        fsync_path(run_dir)
    os.replace(new, last)
    fsync_path(run_dir)
    shutil.rmtree(old, ignore_errors=True)


def is_complete(directory):
    directory = Path(directory)
    return all((directory / name).exists() for name in (_PROGRESS, _STATE, _RNG, "model.safetensors"))


def resolve(run_dir):
    """The newest complete checkpoint directory of a run (or a checkpoint directory itself)."""
    run_dir = Path(run_dir)
    if is_complete(run_dir):
        return run_dir
    for candidate in (run_dir / LAST, run_dir / _OLD):
        if is_complete(candidate):
            return candidate
    if not run_dir.exists():
        raise CheckpointError(f"run directory {run_dir} does not exist")
    raise CheckpointError(f"no complete checkpoint in {run_dir} (expected {run_dir / LAST}/{_PROGRESS} and weights)")


def read_progress(checkpoint_dir):
    return json.loads((Path(checkpoint_dir) / _PROGRESS).read_text())


def restore_run_state(checkpoint_dir, *, model, optimizer=None, scheduler=None, scaler=None, rank=0):
    """Restore weights, optimizer/scheduler/scaler and this rank's RNG; return the progress dict."""
    checkpoint_dir = Path(checkpoint_dir)
    checkpoint.load_weights(model, checkpoint_dir)
    state = torch.load(checkpoint_dir / _STATE, map_location="cpu", weights_only=True)
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    if scaler is not None and state["scaler"] is not None:
        scaler.load_state_dict(state["scaler"])
    ranks = torch.load(checkpoint_dir / _RNG, map_location="cpu", weights_only=True)["ranks"]
    set_rng_state(ranks[rank % len(ranks)])
    return read_progress(checkpoint_dir)


def save_run_config(run_dir, config_dict):
    write_text_atomic(Path(run_dir) / _CONFIG, json.dumps(config_dict, indent=2, sort_keys=True) + "\n")


def holds_run(run_dir) -> bool:
    """Whether a folder already holds (part of) a training run: its config, metrics or a checkpoint."""
    run_dir = Path(run_dir)
    return any((run_dir / name).exists() for name in (_CONFIG, LAST, _OLD, "metrics.jsonl"))


def claim_run_dir(out_dir, *, overwrite=False, default=False):
    """The folder a new run writes to. One that holds a run is refused (its checkpoint and metrics
    would be replaced) unless `overwrite`; the default folder instead moves on to a free name
    (`runs/default-2`, ...), so repeated quick runs never replace each other."""
    out_dir = Path(out_dir)
    if overwrite or not holds_run(out_dir):
        return out_dir
    if default:
        number = 2
        while holds_run(out_dir.with_name(f"{out_dir.name}-{number}")):
            number += 1
        free = out_dir.with_name(f"{out_dir.name}-{number}")
        print(f"{out_dir} holds an earlier run; this one goes to {free}", file=sys.stderr)
        return free
    raise ConfigError(f"train.out_dir: {out_dir} already holds a run; continue it with --resume {out_dir}, "
                      f"replace it with --overwrite, or set another train.out_dir")


def read_run_config(run_dir):
    path = Path(run_dir) / _CONFIG
    if not path.exists():
        raise CheckpointError(f"{run_dir} is not a vidclip run directory (no {_CONFIG})")
    return json.loads(path.read_text())
