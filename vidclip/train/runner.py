"""From a `Config` to a finished run: model, data, task, optimizer, schedule, trainer.

Kept apart from the loop so the loop stays usable from Python with any model, dataset and task
(the demo and the tests do that), and apart from the CLI so `vidclip train` stays a thin shell.
"""

import contextlib
import logging
import os
from pathlib import Path

import torch

from vidclip.train import distributed, run_state
from vidclip.errors import ConfigError, EmptyDatasetError
from vidclip.train.config import TrainConfig, config_from_dict, config_to_dict

logger = logging.getLogger("vidclip.train")


def video_dataset(records, config, model, *, train):
    from vidclip.data.dataset import VideoTextDataset
    from vidclip.video.transforms import resize_options

    data = config.data
    size = data.image_size or model.preprocess_config["image_size"]
    sampling = {"fps": data.fps, "num_frames": None} if data.fps else {"num_frames": data.num_frames or model.num_frames}
    return VideoTextDataset(records, **sampling, jitter=train and data.train_sampling == "random",
                            clip_to_moment=config.train.task != "moments",
                            size=size if isinstance(size, int) else size[0],
                            **resize_options(model.preprocess_config))


def create_video_model(config, device):
    """The VideoCLIP that `config.model` describes, seeded so every rank and rerun starts the same."""
    from vidclip.factory import create_model

    m = config.model
    torch.manual_seed(config.train.seed)  # the same initial weights on every rank and every rerun
    try:
        model = create_model(m.name, pretrained=m.pretrained, adapter=m.adapter, num_frames=m.num_frames,
                             freeze=None if m.freeze == "auto" else m.freeze, loss=m.loss, **m.adapter_options)
    except ValueError as error:  # unknown architecture, pretrained or adapter option: a config mistake
        raise ConfigError(f"model: {error}") from error
    if config.data.max_words is not None:
        context = model.tokenize("").shape[1]
        if config.data.max_words > context:
            raise ConfigError(f"data.max_words: {config.data.max_words} exceeds {m.name}'s {context}-token context; "
                              f"use at most {context}")
        model.config["max_words"] = config.data.max_words  # saved with the checkpoint: eval tokenizes alike
    return model.to(device)


def micro_batch_size(config, world_size):
    """Samples per process per micro-step: the configured global batch split over ranks and accumulation."""
    split = world_size * config.optim.accumulation
    if config.train.batch_size % split:
        raise ConfigError(f"train.batch_size: {config.train.batch_size} is not divisible by {world_size} "
                          f"processes x optim.accumulation {config.optim.accumulation}")
    return config.train.batch_size // split


def total_steps(config, num_samples):
    if config.train.max_steps:
        return config.train.max_steps
    steps = config.train.epochs * (num_samples // config.train.batch_size)
    if steps <= 0:
        raise ConfigError(f"train.epochs: {config.train.epochs} epochs of {num_samples} samples at "
                          f"train.batch_size {config.train.batch_size} make no optimizer step; set train.max_steps")
    return steps


def check_data(config, *, sample=2):
    """{config field: Annotations} of every set of the run, checked before the model is built.

    What `vidclip data check` does, in seconds: a set that fails to load or holds no records stops
    the run now, not after an epoch; the others' problems (dropped, missing, undecodable) are logged.
    """
    from vidclip.data.check import check_recipe

    checks = check_recipe(config, sample=sample)
    for check in checks:
        if check.error is not None:
            raise check.error
        if check.empty:
            raise EmptyDatasetError(f"{check.where}: {check.annotations.report.path} holds no annotations: "
                                    f"nothing to {'train' if check.where == 'data.train' else 'evaluate'} on "
                                    "(`vidclip data check` lists what was dropped)")
        if check.status:
            logger.warning("%s", check.summary())
    return {check.where: check.annotations for check in checks}


def eval_hook(config, device, annotations_by_set):
    """The periodic evaluation: metrics on the first eval set (or data.val), or None."""
    from vidclip.eval.evaluation import evaluate_annotations

    where = "eval.sets[0]" if config.eval.sets else "data.val"
    if where not in annotations_by_set:
        return None
    annotations = annotations_by_set[where]
    task = None if config.train.task == "image_text" else config.train.task

    def evaluate(model):
        return evaluate_annotations(model, annotations, task=task, device=device, batch_size=config.eval.batch_size,
                                    templates=config.data.templates, num_windows=config.eval.num_windows,
                                    ties=config.eval.ties, v2t_rank=config.eval.v2t_rank)

    return evaluate


def build_optimization(config, model, steps):
    """(AdamW over the model's parameter groups, warmup + decay schedule) as `config.optim` says."""
    from vidclip.train.optim import build_optimizer, build_scheduler

    o = config.optim
    optimizer = build_optimizer(model, tower_lr=o.tower_lr, new_lr=o.lr, weight_decay=o.weight_decay,
                                betas=o.betas, eps=o.eps)
    warmup = o.warmup_steps if o.warmup_steps is not None else round(o.warmup_ratio * steps)
    scheduler = build_scheduler(optimizer, total_steps=steps, warmup_steps=warmup, min_ratio=o.min_lr_ratio,
                                shape=o.schedule)
    return optimizer, scheduler


def loop_options(config, *, steps, world_size, **changes):
    """The one translation of `config` into the loop's options.

    `train.batch_size` is the global batch (what the papers report); the loop gets the per-process
    micro-batch: the global batch over processes and accumulation steps.
    """
    from vidclip.train.loop import LoopOptions

    o, t = config.optim, config.train
    options = dict(
        steps=steps, batch_size=micro_batch_size(config, world_size), grad_accum=o.accumulation,
        clip_grad_norm=o.clip_grad_norm or 0.0, precision=t.precision, seed=t.seed, checkpoint_every=t.save_every,
        eval_every=t.eval_every, log_every=min(t.log_every, steps), max_bad_steps=t.max_bad_steps,
        grad_checkpointing=config.model.grad_checkpointing, num_workers=config.data.workers, progress=t.progress,
        tensorboard=t.tensorboard)
    return LoopOptions(**{**options, **changes})


def make_trainer(config, *, model, task, dataset, dist_info, run_dir, collate_fn, evaluate=None, **loop_changes):
    """A `Trainer` for any model, dataset and task (the demo's cached-feature datasets too), as `config` says."""
    from vidclip.train.loop import Trainer

    steps = total_steps(config, len(dataset))
    optimizer, scheduler = build_optimization(config, model, steps)
    options = loop_options(config, steps=steps, world_size=dist_info.world_size, **loop_changes)
    return Trainer(model=model, task=task, dataset=dataset, optimizer=optimizer, scheduler=scheduler,
                   options=options, run_dir=run_dir, collate_fn=collate_fn, dist_info=dist_info,
                   evaluate=evaluate, config_dict=config_to_dict(config))


def build_trainer(config, dist_info, *, run_dir=None):
    """Everything `Trainer` needs, from a checked Config: annotations, model, task, dataset."""
    from vidclip.data.dataset import collate_videos
    from vidclip.train.tasks import build_task

    if config.data.train is None:
        raise ConfigError("data.train: no training annotations given (set data.train.annotations)")
    annotations_by_set = check_data(config)
    annotations = annotations_by_set["data.train"]
    model = create_video_model(config, dist_info.device)
    task = build_task(config.train.task, classes=annotations.classes, templates=config.data.templates,
                      class_loss=config.train.class_loss)
    dataset = video_dataset(annotations.records, config, model, train=True)
    return make_trainer(config, model=model, task=task, dataset=dataset, dist_info=dist_info,
                        run_dir=run_dir or config.train.out_dir, collate_fn=collate_videos,
                        evaluate=eval_hook(config, dist_info.device, annotations_by_set))


def resume_config(run_dir, overrides=()):
    """The saved config of a run, with `--set` overrides applied on top."""
    from vidclip.train.config import apply_overrides

    return config_from_dict(apply_overrides(run_state.read_run_config(run_dir), list(overrides)))


def train(config, *, resume=None, device=None, overwrite=False):
    """Run (or resume) training in this process (or its torchrun process group); returns the summary.

    A fresh run refuses an out_dir that holds a run (see `run_state.claim_run_dir`) unless
    `overwrite`; the run folder is locked while training, so two runs never write into one.
    """
    mode = config.train.distributed
    if mode == "ddp" and int(os.environ.get("WORLD_SIZE", "1")) < 2:
        raise ConfigError("train.distributed: 'ddp' needs several processes; launch with "
                          "`torchrun --nproc_per_node N -m vidclip train ...` (or use 'auto')")
    info = distributed.DistInfo(device=distributed.pick_device(device)) if mode == "none" else \
        distributed.init_distributed(device=device)
    try:
        return _train(config, info, resume, overwrite)
    finally:
        distributed.cleanup()


def _train(config, info, resume, overwrite):
    """Own frame, so the trainer (and DDP) are gone before the process group is destroyed."""
    from vidclip.locking import locked

    if resume is not None:
        run_dir = Path(resume)
        run_state.resolve(run_dir)  # a clear error before the model is built
    else:
        run_dir = run_state.claim_run_dir(config.train.out_dir, overwrite=overwrite,
                                          default=config.train.out_dir == _DEFAULT_OUT_DIR)
        config.train.out_dir = str(run_dir)
    distributed.barrier()  # every rank has looked at the folder before rank 0 writes into it
    if info.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)  # so its lock is always RUN_DIR/.lock
    with locked(run_dir, wait=False, what="run folder") if info.is_main else contextlib.nullcontext():
        trainer = build_trainer(config, info, run_dir=run_dir)
        checkpoint = run_state.resolve(run_dir) if resume is not None else None
        return trainer.run(resume_from=checkpoint)


_DEFAULT_OUT_DIR = TrainConfig.out_dir
