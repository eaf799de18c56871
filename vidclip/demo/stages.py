"""Demo stages on the library's training machinery: a `Config` (from configs/synthetic_*.yaml), the
model and trainer that `vidclip.train.runner` builds for `vidclip train`, over the cached-tensor
datasets of `vidclip.demo.data`.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch


def train_stage(config, *, dataset, task, collate_fn, device, run_dir, progress=True, model=None, began=None):
    """Train one stage as `config` says; returns (model in eval mode, summary dict with "seconds").

    `model`: one already built from `config` (by `vidclip.train.runner.create_video_model`), e.g. to
    cache its frozen tower's outputs first; `began`: when the stage started (perf_counter), if earlier.
    """
    from vidclip.train.distributed import DistInfo
    from vidclip.train.runner import create_video_model, make_trainer

    began = time.perf_counter() if began is None else began
    device = torch.device(device)
    model = create_video_model(config, device) if model is None else model
    trainer = make_trainer(config, model=model, task=task, dataset=dataset, dist_info=DistInfo(device=device),
                           run_dir=Path(run_dir), collate_fn=collate_fn, num_workers=0,
                           progress=progress and config.train.progress)
    summary = trainer.run()
    summary.update(seconds=time.perf_counter() - began, trainable_parameters=model.num_trainable_parameters(),
                   parameters=model.num_parameters())
    return model.eval(), summary
