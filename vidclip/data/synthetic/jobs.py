"""The per-video work (render, encode, decode back) as picklable jobs, run inline or in processes.

Each job draws from its own generator, seeded by (seed, part, split, index), so results do not
depend on how jobs are spread over workers. Workers are forked on Linux, as torch's DataLoader
does (jobs use only numpy and PyAV, never torch), so a caller's script needs no `__main__` guard;
elsewhere they use the platform's default start method.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidclip.data.synthetic.captions import clip_captions
from vidclip.data.synthetic.encode import read_mp4, write_mp4
from vidclip.data.synthetic.motion import clip_endpoints
from vidclip.data.synthetic.scene import Track, backgrounds, render
from vidclip.data.synthetic.splits import ClipSpec
from vidclip.data.synthetic.untrimmed import MomentVideo, moment_tracks

CLIP_PART, MOMENT_PART = 2, 4  # the `part` entry of per-video seeds


@dataclass(frozen=True)
class Settings:
    seed: int
    size: int
    fps: float
    num_frames: int
    captions_per_clip: int
    frame_cache: bool  # decode each MP4 back and return its frames (N, 3, H, W)


def render_clip(rng: np.random.Generator, spec: ClipSpec, num_frames: int, size: int) -> np.ndarray:
    """(T, H, W, 3) uint8 frames of one object doing `spec.action` from the first frame to the last."""
    start, end = clip_endpoints(rng, spec.action, spec.shape, spec.colour, spec.colour2)
    track = Track.between(start, end, np.linspace(0.0, 1.0, num_frames))
    return render([track], backgrounds(rng, 1, size)[0])


def clip_unit(settings: Settings, folder: Path, split_index: int, unit: list[tuple[int, ClipSpec]]) -> list[tuple]:
    """A clip, or a clip and its reversed twin: [(index, decoded frames or None, captions), ...]."""
    results, rendered = [], None
    for index, spec in unit:  # the rendered clip comes first in a unit, its reversed twin second
        rng = np.random.default_rng([settings.seed, CLIP_PART, split_index, index])
        if spec.reversed_twin:
            frames = rendered[::-1]  # exactly the same frames, played backwards
        else:
            frames = rendered = render_clip(rng, spec, settings.num_frames, settings.size)
        path = folder / f"{spec.video_id}.mp4"
        write_mp4(path, frames, settings.fps)
        decoded = read_mp4(path).transpose(0, 3, 1, 2) if settings.frame_cache else None  # the MP4 is the truth
        captions = clip_captions(rng, settings.captions_per_clip, action=spec.action, shape=spec.shape,
                                 colour=spec.colour, colour2=spec.colour2)
        results.append((index, decoded, captions))
    return results


def moment_video(settings: Settings, folder: Path, split_index: int, index: int, video: MomentVideo):
    """Render and encode one untrimmed video; its decoded frames (F, 3, H, W) or None."""
    rng = np.random.default_rng([settings.seed, MOMENT_PART, split_index, index])
    frames = render(moment_tracks(video), backgrounds(rng, 1, settings.size)[0])
    path = folder / f"{video.video_id}.mp4"
    write_mp4(path, frames, settings.fps, keyframe_interval=max(1, int(round(2 * settings.fps))))
    return read_mp4(path).transpose(0, 3, 1, 2) if settings.frame_cache else None


@contextmanager
def worker_pool(workers: int):
    """A pool of `workers` processes, or None (run inline) for workers <= 1."""
    if workers <= 1:
        yield None
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        yield pool


def run(function, tasks: list[tuple], pool, *, bar=None) -> list:
    """function(*task) for each task, results in task order, in `pool` if there is one."""
    bar = bar or (lambda items, total: items)
    if not tasks:
        return []
    if pool is None:
        return list(bar((function(*task) for task in tasks), len(tasks)))
    chunk = max(1, len(tasks) // 32)  # few round trips, yet work left to balance at the end
    return list(bar(pool.map(function, *zip(*tasks), chunksize=chunk), len(tasks)))
