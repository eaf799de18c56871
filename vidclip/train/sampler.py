"""Data order as a pure function of (seed, epoch, world size): what makes `--resume` exact.

A run resumed at (epoch, batch) sees the very batches the uninterrupted run saw, because the
order is recomputed rather than carried in an iterator. Ranks take consecutive slices of each
global batch, so N processes see the same global batch as one process with N times the batch.
"""

import torch


class EpochBatchSampler:
    """Batches of indices for one rank: epoch e shuffles with seed + e, the last ragged batch is dropped."""

    def __init__(self, num_samples, batch_size, *, seed=0, rank=0, world_size=1, shuffle=True):
        assert batch_size > 0 and world_size > 0 and 0 <= rank < world_size
        self.num_samples = int(num_samples)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.rank = rank
        self.world_size = world_size
        self.shuffle = shuffle
        self.epoch = 0
        self.start_batch = 0

    @property
    def global_batch(self):
        return self.batch_size * self.world_size

    def __len__(self):
        """Batches per epoch (same on every rank)."""
        return self.num_samples // self.global_batch

    def set_epoch(self, epoch, start_batch=0):
        """Select the epoch's order and skip the batches a resumed run already consumed."""
        self.epoch, self.start_batch = int(epoch), int(start_batch)

    def order(self):
        if not self.shuffle:
            return torch.arange(self.num_samples)
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return torch.randperm(self.num_samples, generator=generator)

    def __iter__(self):
        order = self.order()
        for b in range(self.start_batch, len(self)):
            start = b * self.global_batch + self.rank * self.batch_size
            yield order[start:start + self.batch_size].tolist()
