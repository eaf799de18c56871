"""torch.distributed plumbing: start from torchrun's environment, gather features, log once.

Single-process runs go through the same functions (they become no-ops), so the loop has one path.
"""

import datetime
import os
import sys
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist

from vidclip.errors import InputError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self):
        return self.rank == 0

    @property
    def enabled(self):
        return self.world_size > 1


def init_distributed(device=None, timeout_minutes=30):
    """Join the process group described by torchrun's env vars (RANK, WORLD_SIZE, LOCAL_RANK).

    NCCL when the device is CUDA, Gloo on CPU. Without those variables this is a single process.
    `device` ("cpu", "cuda", None = CUDA when available) picks the accelerator.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local_rank)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(
            backend="nccl" if dev.type == "cuda" else "gloo",
            rank=rank,
            world_size=world_size,
            timeout=datetime.timedelta(minutes=timeout_minutes),
        )
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank, device=dev)


def rank_from_env(device=None):
    """This process's place under torchrun (RANK, WORLD_SIZE, LOCAL_RANK), without joining a process
    group: for work split by rank that never talks to the other ranks (a dead rank stops no other)."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    return DistInfo(rank=int(os.environ.get("RANK", "0")), world_size=int(os.environ.get("WORLD_SIZE", "1")),
                    local_rank=local_rank, device=pick_device(device, local_rank))


def pick_device(device=None, local_rank=0):
    """torch.device for "cpu" / "cuda" / None (CUDA when available); CUDA picks the local rank's GPU."""
    want_cuda = torch.cuda.is_available() if device is None else str(device).startswith("cuda")
    if not want_cuda:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise InputError(f"device {device!r} was requested but CUDA is not available here: use --device cpu "
                         "(or a machine with a GPU and a CUDA build of torch)")
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)


def current():
    """DistInfo of the already-initialised process group (rank 0 of 1 when there is none)."""
    if not (dist.is_available() and dist.is_initialized()):
        return DistInfo()
    return DistInfo(rank=dist.get_rank(), world_size=dist.get_world_size())


def cleanup():
    """Leave the process group together: a rank tearing down while another still talks aborts Gloo.

    Then let Gloo's worker threads drop their last works before the interpreter shuts down. A work
    can outlive its wait() by a moment (the barrier's holds the collectives still in flight when it
    began), and when a worker thread frees one during interpreter finalisation, freeing a tensor made
    in Python needs the GIL, the thread is made to exit inside C++ and the process aborts
    ("terminate called without an active exception": 1 run in ~20 of the two-process test, seen in
    a core dump). Sleeping releases the GIL; the threads need microseconds."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
        time.sleep(0.05)


def barrier():
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def _gather_padded(tensor, sizes):
    """all_gather of tensors whose dim 0 differs per rank: pad to the largest, gather, trim."""
    padded = tensor.new_zeros((max(sizes), *tensor.shape[1:]))
    padded[: tensor.shape[0]] = tensor
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded.contiguous())
    return torch.cat([part[:n] for part, n in zip(parts, sizes)], dim=0)  # (sum(sizes), ...)


def _batch_sizes(tensor):
    """dim 0 of `tensor` on every rank (ranks may hold fewer samples after skipping bad videos)."""
    local = torch.tensor([tensor.shape[0]], device=tensor.device)
    sizes = [torch.empty_like(local) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, local)
    return [int(size) for size in sizes]


class _AllGather(torch.autograd.Function):
    """all_gather whose backward sums the gradients of every rank's copy back into the owner.

    Each rank computes the same loss over the global batch; DDP then averages parameter
    gradients, so the sum here makes the result equal to one process with the whole batch.
    """

    @staticmethod
    def forward(ctx, tensor, sizes):
        ctx.sizes, ctx.rank = sizes, dist.get_rank()
        return _gather_padded(tensor, sizes)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous()
        dist.all_reduce(grad)
        start = sum(ctx.sizes[: ctx.rank])
        return grad[start:start + ctx.sizes[ctx.rank]], None


def _gather_tensor(tensor):
    sizes = _batch_sizes(tensor)
    if tensor.dtype == torch.bool:  # not every backend moves bools
        return _gather_padded(tensor.to(torch.uint8), sizes).bool()
    if not tensor.is_floating_point():
        return _gather_padded(tensor, sizes)
    return _AllGather.apply(tensor, sizes)


def all_gather_with_grad(features):
    """Concatenate `features` of every rank along dim 0, keeping gradients; tensors nested in
    dicts, lists and tuples are gathered too. Identity in a single process.

    Ranks may hold different batch sizes (a collate that skipped broken videos).
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return features
    if isinstance(features, torch.Tensor):
        return _gather_tensor(features)
    if isinstance(features, dict):
        return {key: all_gather_with_grad(value) for key, value in features.items()}
    if isinstance(features, (list, tuple)):
        return type(features)(all_gather_with_grad(value) for value in features)
    return features


def gather_list(items):
    """Concatenate a per-rank Python list (e.g. captions) in rank order, matching gathered features."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return list(items)
    return [item for part in all_gather_object(list(items)) for item in part]


def all_reduce_sum(value, device=None):
    """Sum a number over ranks (for counters such as skipped videos)."""
    if not (dist.is_available() and dist.is_initialized()):
        return value
    tensor = torch.tensor(float(value), dtype=torch.float64, device=device or "cpu")
    dist.all_reduce(tensor)
    return type(value)(tensor.item())


def any_rank(flag, device=None):
    """True when `flag` is true on at least one rank, so every rank takes the same branch."""
    if not (dist.is_available() and dist.is_initialized()):
        return bool(flag)
    tensor = torch.tensor(1.0 if flag else 0.0, device=device or "cpu")
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor.item())


def all_gather_object(obj):
    """List of `obj` from every rank (a single-element list in one process)."""
    if not (dist.is_available() and dist.is_initialized()):
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def print_main(*args, file=None, **kwargs):
    """print() on rank 0 only."""
    if current().is_main:
        print(*args, file=file or sys.stderr, flush=True, **kwargs)
