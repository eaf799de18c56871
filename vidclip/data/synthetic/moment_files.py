"""The untrimmed videos: planned per split, rendered in jobs, written as Charades-STA, Charades-CG,
QVHighlights and generic jsonl, with their durations in Charades_v1_<split>.csv.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vidclip.data.synthetic import jobs, writers
from vidclip.data.synthetic.splits import SPLITS
from vidclip.data.synthetic.untrimmed import MomentVideo, plan_moment_video

PLAN_PART = 3  # the `part` entry of the planning seed (see jobs for the per-video ones)


def write_moments(out: Path, settings: jobs.Settings, counts: dict, held_out: dict, pool,
                   log) -> tuple[list[MomentVideo], dict]:
    fps = settings.fps
    folder = out / "moments"
    (folder / "videos").mkdir(parents=True)
    (out / "generic").mkdir(exist_ok=True)
    all_videos, files, query_counts = [], {"format": "charades_sta+qvhighlights+charades_cg", "videos": "moments/videos"}, {}
    durations: dict[str, dict[str, float]] = {"train": {}, "test": {}}
    number, qid = 0, 0
    cg_names = {"train": "train.json", "test": "test_trivial.json", "novel": "novel_composition.json"}
    for split_index, split in enumerate(SPLITS):
        plan_rng = np.random.default_rng([settings.seed, PLAN_PART, split_index])
        videos = [plan_moment_video(plan_rng, split, held_out, fps=fps) for _ in range(counts[split])]
        for video in videos:
            video.video_id, number = f"moment{number:05d}", number + 1
        tasks = [(settings, folder / "videos", split_index, i, video) for i, video in enumerate(videos)]
        frames_per_video = jobs.run(jobs.moment_video, tasks, pool, bar=log.bar(f"{split} moments"))
        queries, generic = [], []
        for video in videos:
            duration = video.num_frames / fps
            durations["train" if split == "train" else "test"][video.video_id] = duration
            for event in video.events:
                if split == "novel" and not event.novel:
                    continue  # like Charades-CG novel-composition: only the queries with a held-out pair
                query = {"qid": qid, "vid": video.video_id, "query": event.caption["caption"],
                         "start": event.start_frame / fps, "end": event.end_frame / fps}
                qid += 1
                queries.append(query)
                generic.append({"video": f"../moments/videos/{video.video_id}.mp4", "video_id": video.video_id,
                                "caption": query["query"], "start": writers.seconds(query["start"]),
                                "end": writers.seconds(query["end"]), "duration": writers.seconds(duration),
                                "static": event.caption["static"], "dynamic": event.caption["dynamic"],
                                "split": split, "action": event.action, "shape": event.start_state.shape,
                                "colour": event.start_state.colour,
                                "colour2": event.end_state.colour if event.action == "change_colour" else None,
                                "novel": event.novel})
        video_durations = {v.video_id: v.num_frames / fps for v in videos}
        writers.write_charades_sta(folder / f"charades_sta_{split}.txt", queries)
        writers.write_charades_cg(folder / cg_names[split], queries, video_durations)
        writers.write_jsonl(folder / f"highlight_{split}_release.jsonl",
                            [writers.qvhighlights_entry(q, video_durations[q["vid"]]) for q in queries])
        writers.write_jsonl(out / "generic" / f"moments_{split}.jsonl", generic)
        files.setdefault("charades_sta", {})[split] = f"moments/charades_sta_{split}.txt"
        files.setdefault("charades_cg", {})[split] = f"moments/{cg_names[split]}"
        files.setdefault("qvhighlights", {})[split] = f"moments/highlight_{split}_release.jsonl"
        files.setdefault("generic", {})[split] = f"generic/moments_{split}.jsonl"
        if settings.frame_cache:
            _save_moment_cache(folder, split, videos, frames_per_video, settings.size, files)
        query_counts[split] = len(queries)
        all_videos += videos
    for split, lengths in durations.items():
        writers.write_charades_durations(folder / f"Charades_v1_{split}.csv", lengths)
    files["durations"] = {"train": "moments/Charades_v1_train.csv", "test": "moments/Charades_v1_test.csv"}
    files["query_counts"] = query_counts
    return all_videos, files


def _save_moment_cache(folder: Path, split: str, videos: list[MomentVideo], frames: list[np.ndarray], size: int,
                       files: dict) -> None:
    lengths = [len(f) for f in frames]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(int).tolist()
    stacked = np.concatenate(frames) if frames else np.zeros((0, 3, size, size), dtype=np.uint8)
    np.save(folder / f"frames_{split}.npy", stacked)
    writers.write_json(folder / f"frames_{split}.json",
                       {"video_ids": [v.video_id for v in videos], "offsets": offsets[:-1], "num_frames": lengths})
    files.setdefault("frames", {})[split] = {
        "path": f"moments/frames_{split}.npy", "index": f"moments/frames_{split}.json", "shape": list(stacked.shape),
        "layout": "sum(F) C H W (uint8, RGB); video i is rows offsets[i] : offsets[i] + num_frames[i]"}
