"""A tiny contrastive model, dataset and task for the training tests (CPU, milliseconds per step).

Also a script: `python _trainkit.py RUN_DIR STEPS [--resume] [--sleep S]` trains in a subprocess,
so a test can SIGKILL it mid-run.
"""

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vidclip.train.loop import LoopOptions, Trainer  # noqa: E402
from vidclip.train.optim import build_optimizer, build_scheduler  # noqa: E402


class TinyVideoText(nn.Module):
    """Frames (B, T, F) -> mean of a linear map; tokens (B, L) -> mean of embeddings."""

    def __init__(self, frame_dim=6, vocab=32, dim=8, dropout=0.0):
        super().__init__()
        self.visual = nn.Linear(frame_dim, dim)
        self.adapter = nn.Sequential(nn.Linear(dim, dim), nn.Dropout(dropout))
        self.token_embedding = nn.Embedding(vocab, dim)
        self.logit_scale = nn.Parameter(torch.tensor(2.0))

    def encode_video(self, frames):
        x = self.visual(frames).mean(dim=1)  # (B, D)
        return F.normalize(x + self.adapter(x), dim=-1)

    def encode_text(self, tokens):
        return F.normalize(self.token_embedding(tokens).mean(dim=1), dim=-1)  # (B, D)


class TinyDataset(torch.utils.data.Dataset):
    def __init__(self, n=40, frames=3, frame_dim=6, length=4, vocab=32, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.frames = torch.randn(n, frames, frame_dim, generator=g)
        self.tokens = torch.randint(0, vocab, (n, length), generator=g)

    def __len__(self):
        return len(self.frames)

    def __getitem__(self, i):
        return {"frames": self.frames[i], "tokens": self.tokens[i]}


class TinyTask:
    """Symmetric InfoNCE over the (gathered) global batch; `nan_calls` injects NaN losses.

    A random feature jitter makes the step depend on the torch RNG, so resume must restore it.
    """

    def __init__(self, nan_calls=(), sleep=0.0, jitter=0.0):
        self.nan_calls, self.sleep, self.jitter, self.calls = set(nan_calls), sleep, jitter, 0

    def losses(self, model, batch, gather):
        self.calls += 1
        if self.sleep:
            time.sleep(self.sleep)
        video = model.encode_video(batch["frames"])
        video = video + self.jitter * torch.randn_like(video)
        video, text = gather(video), gather(model.encode_text(batch["tokens"]))
        logits = model.logit_scale.exp() * text @ video.T  # (Nt, Nv)
        labels = torch.arange(len(logits))
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
        if self.calls in self.nan_calls:
            loss = loss * float("nan")
        return {"loss": loss}

    def batch_size(self, batch):
        return len(batch["frames"])


def make_trainer(run_dir, steps, *, batch_size=8, task=None, dataset=None, dist_info=None, dropout=0.1, jitter=0.05,
                 seed=0, collate_fn=None, **options):
    torch.manual_seed(seed)
    model = TinyVideoText(dropout=dropout)
    optimizer = build_optimizer(model, tower_lr=1e-2, new_lr=5e-2, weight_decay=0.1)
    scheduler = build_scheduler(optimizer, total_steps=steps, warmup_steps=2)
    opts = LoopOptions(steps=steps, batch_size=batch_size, seed=seed, progress=False, tensorboard=False,
                       log_every=1, **options)
    return Trainer(model=model, task=task or TinyTask(jitter=jitter), dataset=dataset if dataset is not None else TinyDataset(), optimizer=optimizer,
                   scheduler=scheduler, options=opts, run_dir=run_dir, dist_info=dist_info, collate_fn=collate_fn,
                   config_dict={"model": {"name": "tiny"}, "train": {"steps": steps}})


def state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("steps", type=int)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--checkpoint-every", type=int, default=2)
    args = parser.parse_args()
    trainer = make_trainer(args.run_dir, args.steps, task=TinyTask(sleep=args.sleep, jitter=0.05),
                           checkpoint_every=args.checkpoint_every, grad_accum=2, batch_size=4)
    trainer.run(resume_from=Path(args.run_dir) / "last" if args.resume else None)
