"""The short clips: planned per split, rendered in jobs, written as MSR-VTT, Kinetics and generic jsonl.

Rows of every split file and of the frame cache follow the same order (the split's plan order).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from vidclip.data.synthetic import jobs, writers
from vidclip.data.synthetic.splits import SPLITS, ClipSpec, plan_clips
from vidclip.data.synthetic.vocab import ACTIONS, CLASS_LABELS, FAMILIES

PLAN_PART = 1  # the `part` entry of the planning seed (see jobs for the per-video ones)


def write_clips(out: Path, settings: jobs.Settings, counts: dict, held_out: dict, twin_fraction: float,
                 pool, log) -> tuple[list[dict], dict]:
    folder = out / "retrieval"
    videos = folder / "videos" / "all"
    videos.mkdir(parents=True)
    specs: dict[str, list[ClipSpec]] = {}
    number = 0
    for split_index, split in enumerate(SPLITS):
        rng = np.random.default_rng([settings.seed, PLAN_PART, split_index])
        specs[split] = plan_clips(rng, split, counts[split], twin_fraction=twin_fraction, held_out=held_out)
        for spec in specs[split]:
            spec.video_id, number = f"video{number}", number + 1

    duration = writers.seconds(settings.num_frames / settings.fps)
    clips, frame_files = [], {}
    for split_index, split in enumerate(SPLITS):
        index = {id(spec): i for i, spec in enumerate(specs[split])}
        units = [[(i, spec)] + ([(index[id(spec.twin)], spec.twin)] if spec.twin else [])
                 for i, spec in enumerate(specs[split]) if not spec.reversed_twin]
        tasks = [(settings, videos, split_index, unit) for unit in units]
        results = [r for unit in jobs.run(jobs.clip_unit, tasks, pool, bar=log.bar(f"{split} clips")) for r in unit]
        cache = np.empty((len(specs[split]), settings.num_frames, 3, settings.size, settings.size), dtype=np.uint8)
        for i, frames, captions in results:
            clips.append(_clip_record(specs[split][i], captions, duration, held_out))
            if settings.frame_cache:
                cache[i] = frames
        if settings.frame_cache:
            np.save(folder / f"frames_{split}.npy", cache)
            frame_files[split] = {"path": f"retrieval/frames_{split}.npy", "shape": list(cache.shape),
                                  "layout": "N T C H W (uint8, RGB, as the MP4 decodes); rows follow retrieval/<split>.csv"}
    clips.sort(key=lambda c: int(c["video_id"].removeprefix("video")))

    splits = {split: [spec.video_id for spec in specs[split]] for split in SPLITS}
    split_files = writers.write_msrvtt(folder, clips, splits)
    twins = {split: [[spec.twin.video_id, spec.video_id] for spec in specs[split] if spec.reversed_twin]
             for split in SPLITS}
    writers.write_json(folder / "twins.json", twins)
    class_files = _write_classes(out, clips, splits, videos)
    generic = _write_generic_clips(out, clips, splits)
    files = {
        "retrieval": {"format": "msrvtt", "data": "retrieval/MSRVTT_data.json", "videos": "retrieval/videos/all",
                      "splits": {s: f"retrieval/{name}" for s, name in split_files.items()},
                      "split_formats": {s: "msrvtt_train_9k" if s == "train" else "msrvtt_1k_a" for s in split_files},
                      "twins": "retrieval/twins.json", "frames": frame_files},
        "classes": class_files,
        "generic": {"clips": generic},
    }
    return clips, files


def _clip_record(spec: ClipSpec, captions: list[dict], duration: float, held_out: dict) -> dict:
    action = ACTIONS[spec.action]
    return {"video_id": spec.video_id, "split": spec.split, "duration": duration,
            "category": FAMILIES.index(action.family), "action": spec.action, "label": action.label,
            "family": action.family, "shape": spec.shape, "colour": spec.colour, "colour2": spec.colour2,
            "twin_of": spec.twin.video_id if spec.twin else None,
            "reversed_from": spec.twin.video_id if spec.reversed_twin else None,
            "novel": held_out.get(spec.shape) == action.family, "captions": captions}


def _write_classes(out: Path, clips: list[dict], splits: dict, videos: Path) -> dict:
    """Kinetics-400 CSVs per split; each clip hard-linked as `<split>/<id>_<start>_<end>.mp4` (the flat
    per-split layout of the CVDF Kinetics release)."""
    folder = out / "classes"
    folder.mkdir()
    files = {}
    for split, split_clips in _clips_by_split(clips, splits):
        rows = []
        for clip in split_clips:
            video_id = clip["video_id"]
            end = int(np.ceil(clip["duration"]))
            rows.append([clip["label"], video_id, 0, end, split])
            target = folder / split
            target.mkdir(exist_ok=True)
            _link(videos / f"{video_id}.mp4", target / f"{writers.kinetics_clip_name(video_id, 0, end)}.mp4")
        writers.write_csv(folder / f"{split}.csv", writers.KINETICS_COLUMNS, rows)
        files[split] = f"classes/{split}.csv"
    (folder / "labels.txt").write_text("".join(f"{label}\n" for label in CLASS_LABELS))
    return {"format": "kinetics", "splits": files, "labels": "classes/labels.txt"}


def _clips_by_split(clips: list[dict], splits: dict) -> list[tuple[str, list[dict]]]:
    """(split name, the split's clip dicts in the split's order) for each split."""
    by_id = {clip["video_id"]: clip for clip in clips}
    return [(split, [by_id[video_id] for video_id in ids]) for split, ids in splits.items()]


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copyfile(source, target)


def _write_generic_clips(out: Path, clips: list[dict], splits: dict) -> dict:
    folder = out / "generic"
    folder.mkdir(exist_ok=True)
    files = {}
    for split, split_clips in _clips_by_split(clips, splits):
        records = []
        for clip in split_clips:
            video_id = clip["video_id"]
            for caption in clip["captions"]:
                records.append({"video": f"../retrieval/videos/all/{video_id}.mp4", "video_id": video_id,
                                "caption": caption["caption"], "duration": clip["duration"],
                                "static": caption["static"], "dynamic": caption["dynamic"],
                                **{k: clip[k] for k in ("split", "action", "shape", "colour", "colour2",
                                                        "twin_of", "reversed_from")}})
        writers.write_jsonl(folder / f"clips_{split}.jsonl", records)
        files[split] = f"generic/clips_{split}.jsonl"
    return files
