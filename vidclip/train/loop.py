"""The training loop: one path for CPU, one GPU and many GPUs under torchrun.

What the loop owns: data order (by seed + epoch, resumable mid-epoch), mixed precision (bf16 on
CUDA, fp32 on CPU), gradient accumulation and clipping, the non-finite-loss guard, checkpoints,
metrics, the periodic eval hook and the end-of-run report. What a batch means is the task's business
(`vidclip.train.tasks`): `task.losses(model, batch, gather)` returns a dict with a scalar "loss".
"""

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from vidclip.errors import CheckpointError, EmptyDatasetError, TrainingStopped
from vidclip.train import distributed, run_state
from vidclip.train.metrics_log import MetricsLog
from vidclip.train.sampler import EpochBatchSampler


@dataclass
class LoopOptions:
    steps: int                         # optimizer steps in the whole run
    batch_size: int                    # samples per rank per micro-step
    grad_accum: int = 1                # micro-steps per optimizer step
    clip_grad_norm: float = 1.0        # 0 disables clipping (the norm is still checked)
    precision: str = "auto"            # auto | bf16 | fp16 | fp32  (auto: bf16 on CUDA, fp32 on CPU)
    seed: int = 0
    checkpoint_every: int = 0          # optimizer steps; 0 = only at the end
    eval_every: int = 0                # optimizer steps; 0 = only at the end (when an eval hook is given)
    log_every: int = 10
    max_bad_steps: int = 10            # consecutive non-finite steps before giving up
    grad_checkpointing: bool = False
    num_workers: int = 0
    progress: bool = True
    tensorboard: bool = True
    find_unused_parameters: bool = True


def resolve_precision(precision, device):
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    if precision not in ("bf16", "fp16", "fp32"):
        raise ValueError(f"precision must be one of auto, bf16, fp16, fp32; got {precision!r}")
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("precision fp16 needs a CUDA device; use fp32 (or bf16) on CPU")
    return precision


class _TaskModule(torch.nn.Module):
    """model + task as one module, so DDP sees the loss computation as its forward."""

    def __init__(self, model, task, gather):
        super().__init__()
        self.model, self.task, self.gather = model, task, gather

    def forward(self, batch):
        return self.task.losses(self.model, batch, gather=self.gather)


class Trainer:
    """Runs `options.steps` optimizer steps of `task` on `dataset`, checkpointing into `run_dir`."""

    def __init__(self, *, model, task, dataset, optimizer, options, run_dir, scheduler=None, collate_fn=None,
                 dist_info=None, evaluate=None, config_dict=None):
        self.model, self.task, self.dataset = model, task, dataset
        self.optimizer, self.scheduler, self.options = optimizer, scheduler, options
        self.run_dir = Path(run_dir)
        self.collate_fn = collate_fn
        self.dist = dist_info or distributed.current()
        self.evaluate = evaluate
        self.config_dict = config_dict
        self.device = self.dist.device
        self.precision = resolve_precision(options.precision, self.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.sampler = self._make_sampler()
        self.step = self.epoch = self.batch_in_epoch = 0
        self.skipped_steps = self.bad_videos = self.consecutive_bad = 0
        self.last_metrics, self.lrs = {}, {}
        if options.grad_checkpointing:
            if not hasattr(model, "set_grad_checkpointing"):
                raise ValueError(f"{type(model).__name__} does not support gradient checkpointing")
            model.set_grad_checkpointing(True)
        wrapped = _TaskModule(model, task, distributed.all_gather_with_grad)
        if self.dist.enabled:
            wrapped = torch.nn.parallel.DistributedDataParallel(
                wrapped, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=options.find_unused_parameters)
        self.wrapped = wrapped

    # ---- setup -------------------------------------------------------------------------------
    def _make_sampler(self):
        n = len(self.dataset)
        global_batch = self.options.batch_size * self.dist.world_size
        if n == 0:
            raise EmptyDatasetError(f"the training dataset is empty ({_describe(self.dataset)}): nothing to train on")
        if n < global_batch:
            raise EmptyDatasetError(
                f"the training dataset has {n} samples, fewer than one global batch of {global_batch} "
                f"(batch_size {self.options.batch_size} x {self.dist.world_size} processes)")
        return EpochBatchSampler(n, self.options.batch_size, seed=self.options.seed,
                                 rank=self.dist.rank, world_size=self.dist.world_size)

    def resume(self, checkpoint_dir):
        """Continue from a checkpoint: weights, optimizer, scheduler, RNG and the data position."""
        progress = run_state.restore_run_state(
            checkpoint_dir, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
            scaler=self.scaler, rank=self.dist.rank)
        if progress.get("seed", self.options.seed) != self.options.seed:
            raise CheckpointError(
                f"checkpoint {checkpoint_dir} was trained with seed {progress['seed']}, this run uses "
                f"{self.options.seed}: the data order would not continue")
        self.step, self.epoch, self.batch_in_epoch = progress["step"], progress["epoch"], progress["batch_in_epoch"]
        self.skipped_steps = progress.get("skipped_steps", 0)
        self.bad_videos = progress.get("bad_videos", 0) if self.dist.is_main else 0
        return progress

    # ---- data ----------------------------------------------------------------------------------
    def _micro_batches(self):
        """Micro-batches forever, epoch after epoch, tracking the position for checkpoints."""
        while True:
            self.sampler.set_epoch(self.epoch, self.batch_in_epoch)
            # an explicit generator keeps the loader from drawing on the global torch RNG
            generator = torch.Generator().manual_seed(self.options.seed * 100_003 + self.epoch)
            loader = DataLoader(self.dataset, batch_sampler=self.sampler, collate_fn=self.collate_fn,
                                num_workers=self.options.num_workers, generator=generator,
                                pin_memory=self.device.type == "cuda")
            usable, first = 0, self.batch_in_epoch  # first > 0: resumed mid-epoch
            for batch in loader:
                self.batch_in_epoch += 1
                self.bad_videos += _skipped_in(batch)
                # every video of the micro-batch failed to decode (on some rank): no loss to take
                if distributed.any_rank(self.task.batch_size(batch) == 0, self.device):
                    continue
                usable += 1
                yield batch
            if usable == 0 and first == 0 and self.batch_in_epoch > 0:
                raise EmptyDatasetError(f"a whole epoch of the training data yielded no usable sample: "
                                        f"{self.bad_videos} videos failed to decode ({_describe(self.dataset)})")
            self.epoch, self.batch_in_epoch = self.epoch + 1, 0

    # ---- one optimizer step --------------------------------------------------------------------
    def _autocast(self):
        if self.precision == "fp32":
            return nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def _train_step(self, batches):
        """Forward/backward over grad_accum micro-batches, then one guarded optimizer step."""
        accum = self.options.grad_accum
        self.optimizer.zero_grad(set_to_none=True)
        totals, samples, finite = {}, 0, True
        for micro in range(accum):
            batch = next(batches)
            last = micro == accum - 1
            sync = self.wrapped.no_sync() if (self.dist.enabled and not last) else nullcontext()
            with sync:
                with self._autocast():
                    losses = self.wrapped(batch)
                loss = losses["loss"]
                finite = finite and bool(torch.isfinite(loss.detach()).item())
                # backward even for a bad loss: under DDP every rank must join the gradient all-reduce
                self.scaler.scale(loss / accum).backward()
            for key, value in losses.items():
                totals[key] = totals.get(key, 0.0) + float(value.detach()) / accum
            samples += self.task.batch_size(batch)
        bad = distributed.any_rank(not finite, self.device)
        grad_norm = float("nan")
        if not bad:
            self.scaler.unscale_(self.optimizer)
            params = [p for group in self.optimizer.param_groups for p in group["params"] if p.grad is not None]
            limit = self.options.clip_grad_norm or float("inf")
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, limit))
            # fp16: an overflow is the grad scaler's to handle (it skips and lowers the scale)
            bad = not math.isfinite(grad_norm) and self.precision != "fp16"
        if bad:
            self.optimizer.zero_grad(set_to_none=True)
            self.skipped_steps += 1
            self.consecutive_bad += 1
        else:
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.consecutive_bad = 0
        self.lrs = {group.get("name", str(i)): group["lr"] for i, group in enumerate(self.optimizer.param_groups)}
        if self.scheduler is not None:
            self.scheduler.step()
        self.step += 1
        return totals, grad_norm, samples * self.dist.world_size, bad

    # ---- checkpoints, eval ------------------------------------------------------------------------
    def save(self):
        """Checkpoint into run_dir/last (rank 0 writes; every rank contributes its RNG state)."""
        rng_states = distributed.all_gather_object(run_state.rng_state())
        bad_videos = distributed.all_reduce_sum(self.bad_videos, self.device)
        if self.dist.is_main:
            progress = {"step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                        "seed": self.options.seed, "world_size": self.dist.world_size,
                        "skipped_steps": self.skipped_steps, "bad_videos": bad_videos,
                        "metrics": self.last_metrics}
            extra = {"train_config.json": self.config_dict} if self.config_dict is not None else None
            run_state.save_run_state(self.run_dir, model=self.model, optimizer=self.optimizer,
                                          scheduler=self.scheduler, scaler=self.scaler, progress=progress,
                                          rng_states=rng_states, extra_files=extra)
        distributed.barrier()

    def _run_eval(self, log):
        if self.evaluate is None:
            return {}
        metrics = {}
        if self.dist.is_main:
            was_training = self.model.training
            self.model.eval()
            with torch.no_grad(), self._autocast():
                metrics = self.evaluate(self.model) or {}
            self.model.train(was_training)
            log.write(self.step, {f"eval/{k}": v for k, v in metrics.items() if isinstance(v, (int, float))})
        distributed.barrier()
        return metrics

    # ---- the loop ----------------------------------------------------------------------------------
    def run(self, resume_from=None):
        """Train to `options.steps`; returns a summary dict. Raises TrainingStopped on a NaN run."""
        opts = self.options
        if resume_from is not None:
            self.resume(resume_from)
        if self.dist.is_main and self.config_dict is not None:
            run_state.save_run_config(self.run_dir, self.config_dict)
        log = MetricsLog(self.run_dir, resume_step=self.step if resume_from is not None else None,
                         tensorboard=opts.tensorboard) if self.dist.is_main else None
        bar = _progress_bar(opts, self.step, enabled=opts.progress and self.dist.is_main)
        batches = self._micro_batches()
        window, window_steps, window_samples, window_start = {}, 0, 0, time.perf_counter()
        eval_metrics = {}
        self.model.train()
        try:
            while self.step < opts.steps:
                totals, grad_norm, samples, bad = self._train_step(batches)
                if self.consecutive_bad >= opts.max_bad_steps:
                    raise TrainingStopped(self._stop_message())
                window_samples += samples
                if not bad:
                    window_steps += 1
                    for key, value in totals.items():
                        window[key] = window.get(key, 0.0) + value
                    window["grad_norm"] = window.get("grad_norm", 0.0) + grad_norm
                if self.step % opts.log_every == 0 or self.step == opts.steps:
                    elapsed = time.perf_counter() - window_start
                    record = self._window_record(window, window_steps, window_samples / max(elapsed, 1e-9))
                    self.last_metrics = record
                    if log is not None:
                        log.write(self.step, record)
                    if bar is not None:
                        bar.set_postfix(loss=f"{record.get('loss', float('nan')):.4f}",
                                        samples_s=f"{record['samples_per_s']:.1f}")
                    window, window_steps, window_samples, window_start = {}, 0, 0, time.perf_counter()
                if bar is not None:
                    bar.update(1)
                if opts.eval_every and self.step % opts.eval_every == 0 and self.step < opts.steps:
                    eval_metrics = self._run_eval(log or _NullLog())
                periodic = opts.checkpoint_every and self.step % opts.checkpoint_every == 0
                # no periodic checkpoint inside a run of bad steps: the last good one stays as it is
                if (periodic and self.consecutive_bad == 0) or self.step == opts.steps:
                    self.save()
            eval_metrics = self._run_eval(log or _NullLog())
        finally:
            if bar is not None:
                bar.close()
            if log is not None:
                log.close()
        return self._summary(eval_metrics)

    def _window_record(self, window, steps, samples_per_s):
        record = {key: value / steps for key, value in window.items()} if steps else {}
        keys = sorted(record)
        if self.dist.enabled and keys:  # mean over ranks, so the log describes the global batch
            values = torch.tensor([record[k] for k in keys], dtype=torch.float64, device=self.device)
            torch.distributed.all_reduce(values)
            record = dict(zip(keys, (values / self.dist.world_size).tolist()))
        record.update(epoch=self.epoch, samples_per_s=samples_per_s, skipped_steps=self.skipped_steps)
        record.update({f"lr/{name}": lr for name, lr in self.lrs.items()})
        return record

    def _stop_message(self):
        last = self.run_dir / run_state.LAST
        where = f"the last good checkpoint is {last}" if run_state.is_complete(last) else "no checkpoint was written yet"
        return (f"training stopped at step {self.step}: {self.consecutive_bad} consecutive steps had a non-finite "
                f"(NaN or inf) loss or gradient ({self.skipped_steps} skipped in total); {where}. "
                f"Lower the learning rate, check the data, or raise train.max_bad_steps.")

    def _summary(self, eval_metrics):
        bad_videos = distributed.all_reduce_sum(self.bad_videos, self.device)
        summary = {"steps": self.step, "skipped_steps": self.skipped_steps, "bad_videos": bad_videos,
                   "checkpoint": str(self.run_dir / run_state.LAST), "train": self.last_metrics,
                   "eval": eval_metrics}
        if self.dist.is_main:
            distributed.print_main(
                f"done: {self.step} steps, {self.skipped_steps} skipped for non-finite loss, "
                f"{bad_videos} unreadable videos skipped; checkpoint in {summary['checkpoint']}")
        return summary


class _NullLog:
    def write(self, step, values):
        pass


def _skipped_in(batch):
    """How many broken samples the collate dropped from this batch (0 when it does not say)."""
    if isinstance(batch, dict):
        skipped = batch.get("num_skipped", batch.get("skipped", 0))
        return len(skipped) if isinstance(skipped, (list, tuple)) else int(skipped)
    return int(getattr(batch, "num_skipped", 0) or 0)


def _describe(dataset):
    return getattr(dataset, "description", None) or type(dataset).__name__


def _progress_bar(options, initial, enabled):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=options.steps, initial=initial, desc="train", unit="step", dynamic_ncols=True)
