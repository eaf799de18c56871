"""`generate`: render, encode and annotate the whole synthetic dataset under one folder.

Every random draw comes from a generator seeded by (seed, part, split, index), so the output is
the same bytes for the same seed and flags, whatever order the parts are built in.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np

from vidclip.data.synthetic import jobs, writers
from vidclip.data.synthetic.clip_files import write_clips
from vidclip.data.synthetic.moment_files import write_moments
from vidclip.data.synthetic.splits import SPLITS, held_out_families, novel_pairs
from vidclip.data.synthetic.stills import render_stills
from vidclip.data.synthetic.vocab import ACTIONS, CLASS_LABELS, COLOURS, SHAPES

FORMAT_VERSION = 1
OUTPUT_PARTS = ("manifest.json", "retrieval", "moments", "classes", "images", "generic")
HELD_OUT_PART, STILLS_PART = 0, 5  # `part` entries of seeds; clip_files, moment_files and jobs hold the others


def generate(out_dir, *, seed: int = 0, num_train: int = 2000, num_test: int = 500, num_novel: int = 300,
             num_frames: int = 8, size: int = 32, fps: float = 8, twin_fraction: float = 0.5,
             captions_per_clip: int = 5, num_moment_train: int = 200, num_moment_test: int = 100,
             num_moment_novel: int = 100, num_images: int = 10000, frame_cache: bool = True,
             workers: int | None = None, overwrite: bool = False, progress: bool = False) -> dict:
    """Write the synthetic dataset to `out_dir` and return its manifest (also `out_dir/manifest.json`).

    Defaults (what the demo uses): 2000/500/300 train/test/novel clips of 8 frames at 32x32 and
    8 fps, half of them in temporal-twin pairs, 5 captions each; 200/100/100 untrimmed moment
    videos; 10000 still image-caption pairs; decoded frames cached as .npy next to the MP4s.
    `workers` processes render and encode (default: one per CPU core, at most 8; 1 = no processes);
    the output does not depend on it. `overwrite` replaces a previous output (only the parts this
    function writes).
    """
    _check_arguments(num_frames=num_frames, size=size, fps=fps, twin_fraction=twin_fraction,
                     captions_per_clip=captions_per_clip,
                     counts=dict(num_train=num_train, num_test=num_test, num_novel=num_novel,
                                 num_moment_train=num_moment_train, num_moment_test=num_moment_test,
                                 num_moment_novel=num_moment_novel, num_images=num_images))
    out = _prepare(Path(out_dir), overwrite)
    fps = int(fps) if float(fps).is_integer() else float(fps)  # 8 and 8.0 give the same manifest
    timings = {}
    log = _Logger(progress)
    settings = jobs.Settings(seed=seed, size=size, fps=fps, num_frames=num_frames,
                             captions_per_clip=captions_per_clip, frame_cache=frame_cache)
    workers = min(_usable_cpus(), 8) if workers is None else workers

    held_out = held_out_families(np.random.default_rng([seed, HELD_OUT_PART]))
    with jobs.worker_pool(workers) as pool:
        began = time.perf_counter()
        clip_counts = {"train": num_train, "test": num_test, "novel": num_novel}
        clips, clip_files = write_clips(out, settings, clip_counts, held_out, twin_fraction, pool, log)
        timings["clips"] = time.perf_counter() - began

        began = time.perf_counter()
        moment_counts = {"train": num_moment_train, "test": num_moment_test, "novel": num_moment_novel}
        moments, moment_files = write_moments(out, settings, moment_counts, held_out, pool, log)
        timings["moments"] = time.perf_counter() - began
    clip_files["generic"]["moments"] = moment_files.pop("generic")

    began = time.perf_counter()
    image_files = _write_stills(out, seed, num_images, size)
    timings["images"] = time.perf_counter() - began

    counts = {"clips": {s: sum(c["split"] == s for c in clips) for s in SPLITS},
              "twin_pairs": {s: sum(c["split"] == s and c["reversed_from"] is not None for c in clips) for s in SPLITS},
              "moment_videos": {s: sum(v.split == s for v in moments) for s in SPLITS},
              "moment_queries": moment_files.pop("query_counts"), "images": num_images}
    files = {**clip_files, "moments": moment_files, "images": image_files}
    manifest = _manifest(settings, twin_fraction=twin_fraction, counts=counts, held_out=held_out, files=files)
    writers.write_json(out / "manifest.json", manifest)  # last: its presence means the output is complete
    log(f"clips {timings['clips']:.1f}s, moments {timings['moments']:.1f}s, images {timings['images']:.1f}s")
    return manifest


def _manifest(settings: jobs.Settings, *, twin_fraction: float, counts: dict, held_out: dict, files: dict) -> dict:
    return {
        "generator": "vidclip.data.synthetic", "format_version": FORMAT_VERSION, "seed": settings.seed,
        "fps": settings.fps, "size": settings.size, "num_frames": settings.num_frames,
        "clip_seconds": writers.seconds(settings.num_frames / settings.fps), "twin_fraction": twin_fraction,
        "captions_per_clip": settings.captions_per_clip, "counts": counts,
        "vocabulary": {"shapes": list(SHAPES), "colours": list(COLOURS), "classes": list(CLASS_LABELS),
                       "actions": {name: {"family": a.family, "reverse": a.reverse, "label": a.label}
                                   for name, a in ACTIONS.items()}},
        "held_out_families": held_out,
        "novel_pairs": [list(pair) for pair in novel_pairs(held_out)],
        "files": files,
        "notes": {
            "paths": "relative to this manifest's folder; generic jsonl 'video' paths are relative to the jsonl's folder",
            "twins": "a clip with reversed_from holds exactly the frames of that clip in reverse order",
            "novel": "the novel split's (action, shape) pairs (novel_pairs) never occur in train or test",
            "classes": "Kinetics-400 CSV; classes/<split>/<id>_000000_<end>.mp4 are hard links to the retrieval clips",
            "qvhighlights": "all splits carry labels; saliency_scores are 3 synthetic annotators per 2 s clip",
        },
    }


def _check_arguments(*, num_frames, size, fps, twin_fraction, captions_per_clip, counts):
    negative = [name for name, value in counts.items() if value < 0]
    if negative:
        raise ValueError(f"counts must not be negative: {', '.join(f'{n}={counts[n]}' for n in negative)}")
    if size < 8 or size % 2:
        raise ValueError(f"size must be an even number of pixels >= 8 (H.264 4:2:0), got {size}")
    if num_frames < 2:
        raise ValueError(f"num_frames must be at least 2 (an action needs a start and an end), got {num_frames}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not 0 <= twin_fraction <= 1:
        raise ValueError(f"twin_fraction must lie in [0, 1], got {twin_fraction}")
    if captions_per_clip < 1:
        raise ValueError(f"captions_per_clip must be at least 1, got {captions_per_clip}")


def _usable_cpus() -> int:
    """CPUs this process may run on (a container's share, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _prepare(out: Path, overwrite: bool) -> Path:
    existing = [part for part in OUTPUT_PARTS if (out / part).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{out} already holds synthetic data ({', '.join(existing)}); pass overwrite=True "
                              "(--overwrite) to replace it")
    for part in existing:
        path = out / part
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out


class _Logger:
    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, message: str):
        if self.enabled:
            print(f"[synth] {message}", flush=True)

    def bar(self, description: str):
        """A wrapper (items, total) -> items that shows a progress bar when enabled."""
        if not self.enabled:
            return None
        from tqdm import tqdm

        return lambda items, total: tqdm(items, total=total, desc=description, unit="video", leave=False)


# ---- stills: image-text pre-training ----------------------------------------------------------------

def _write_stills(out: Path, seed: int, count: int, size: int) -> dict:
    folder = out / "images"
    folder.mkdir()
    images, records = render_stills(np.random.default_rng([seed, STILLS_PART]), count, size)
    np.save(folder / "images.npy", images)
    writers.write_jsonl(folder / "captions.jsonl", [{"index": i, **r} for i, r in enumerate(records)])
    return {"images": "images/images.npy", "captions": "images/captions.jsonl", "shape": list(images.shape),
            "layout": "N C H W (uint8, RGB); line i of captions.jsonl describes image i"}
