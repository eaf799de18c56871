"""Demo stages on the library's training machinery: a `Config` (from configs/synthetic_*.yaml),
the model from `vidclip.factory`, AdamW + warmup/cosine from `vidclip.train.optim`, and
`vidclip.train.loop.Trainer` over the cached-tensor datasets of `vidclip.demo.data`.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch


def train_stage(config, *, dataset, task, collate_fn, device, run_dir, progress=True, model=None, began=None):
    """Train one stage as `config` says; returns (model in eval mode, summary dict with "seconds").

    `model`: one already built from `config` (by `vidclip.train.runner.create_model`), e.g. to cache
    its frozen tower's outputs first; `began`: when the stage started (perf_counter), if earlier.
    """
    from vidclip.train.config import config_to_dict
    from vidclip.train.distributed import DistInfo
    from vidclip.train.loop import LoopOptions, Trainer
    from vidclip.train.runner import build_optimization, create_model

    began = time.perf_counter() if began is None else began
    device = torch.device(device)
    model = create_model(config, device) if model is None else model
    o, t = config.optim, config.train
    steps = t.max_steps or max(1, t.epochs * (len(dataset) // t.batch_size))
    optimizer, scheduler = build_optimization(config, model, steps)
    options = LoopOptions(steps=steps, batch_size=t.batch_size, grad_accum=o.accumulation,
                          clip_grad_norm=o.clip_grad_norm or 0.0, precision=t.precision, seed=t.seed,
                          log_every=min(t.log_every, steps), max_bad_steps=t.max_bad_steps,
                          grad_checkpointing=config.model.grad_checkpointing, num_workers=0,
                          progress=progress and t.progress, tensorboard=t.tensorboard)
    trainer = Trainer(model=model, task=task, dataset=dataset, optimizer=optimizer, scheduler=scheduler,
                      options=options, run_dir=Path(run_dir), collate_fn=collate_fn,
                      dist_info=DistInfo(device=device), config_dict=config_to_dict(config))
    summary = trainer.run()
    summary.update(seconds=time.perf_counter() - began, trainable_parameters=model.num_trainable_parameters(),
                   parameters=model.num_parameters())
    return model.eval(), summary
