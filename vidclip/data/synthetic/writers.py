"""Annotation files in the public datasets' own formats (see shared/formats/README.md).

Each writer takes plain records and knows one format; nothing here decides what the data is.
Output is byte-for-byte deterministic (fixed key order, fixed number formatting).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

QV_CLIP_SECONDS = 2.0  # QVHighlights scores 2-second clips


def seconds(value: float) -> float:
    """Times rounded to the millisecond: frame boundaries (k / fps) stay exact for usual rates."""
    return round(float(value), 3)


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n")


def write_jsonl(path: Path, records) -> None:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))


def write_csv(path: Path, header: list[str], rows) -> None:
    with open(path, "w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


# ---- text-video retrieval: MSR-VTT ---------------------------------------------------------------

def write_msrvtt(folder: Path, clips: list[dict], splits: dict[str, list[str]]) -> dict[str, str]:
    """`MSRVTT_data.json` (all videos and sentences), `train.csv` in the train-9k form (column video_id),
    and `<split>.csv` in the 1k-A form (`key,vid_key,video_id,sentence`, one caption per video) for
    the other splits. Video entries keep the synthetic ground truth (action, shape, twin_of, ...)."""
    videos, sentences = [], []
    for clip in clips:
        number = int(clip["video_id"].removeprefix("video"))
        videos.append({"video_id": clip["video_id"], "category": clip["category"], "url": "",
                       "start time": 0.0, "end time": clip["duration"], "split": clip["split"], "id": number,
                       **{k: clip[k] for k in ("action", "label", "family", "shape", "colour", "colour2",
                                               "twin_of", "reversed_from", "novel")}})
        for caption in clip["captions"]:
            sentences.append({"caption": caption["caption"], "video_id": clip["video_id"], "sen_id": len(sentences)})
    write_json(folder / "MSRVTT_data.json", {"videos": videos, "sentences": sentences})
    by_id = {clip["video_id"]: clip for clip in clips}
    files = {}
    for split, ids in splits.items():
        path = folder / f"{split}.csv"
        if split == "train":
            write_csv(path, ["video_id"], [[video_id] for video_id in ids])
        else:
            rows = [[f"ret{i}", f"msr{by_id[v]['video_id'].removeprefix('video')}", v, by_id[v]["captions"][0]["caption"]]
                    for i, v in enumerate(ids)]
            write_csv(path, ["key", "vid_key", "video_id", "sentence"], rows)
        files[split] = path.name
    return files


# ---- moment retrieval: Charades-STA, Charades-CG, QVHighlights -----------------------------------

def write_charades_sta(path: Path, queries: list[dict]) -> None:
    """One `vid start end##sentence` line per query."""
    path.write_text("".join(f"{q['vid']} {seconds(q['start'])} {seconds(q['end'])}##{q['query']}\n" for q in queries))


CHARADES_V1_COLUMNS = ["id", "subject", "scene", "quality", "relevance", "verified", "script", "objects",
                       "descriptions", "actions", "length"]


def write_charades_durations(path: Path, durations: dict[str, float]) -> None:
    """`Charades_v1_<split>.csv`: the real header; only `id` and `length` (seconds) are filled."""
    rows = [[vid] + [""] * (len(CHARADES_V1_COLUMNS) - 2) + [seconds(d)] for vid, d in durations.items()]
    write_csv(path, CHARADES_V1_COLUMNS, rows)


def write_charades_cg(path: Path, queries: list[dict], durations: dict[str, float]) -> None:
    """`{vid: {"duration", "timestamps": [[s, e], ...], "sentences": [...]}}` (Charades-CG / ActivityNet)."""
    data: dict[str, dict] = {}
    for q in queries:
        entry = data.setdefault(q["vid"], {"duration": seconds(durations[q["vid"]]), "timestamps": [], "sentences": []})
        entry["timestamps"].append([seconds(q["start"]), seconds(q["end"])])
        entry["sentences"].append(q["query"])
    write_json(path, data)


def qvhighlights_entry(q: dict, duration: float) -> dict:
    """A QVHighlights line: windows, the 2 s clips they touch, and 3 saliency scores (0-4) per clip
    that grow with how much of the clip the event covers (full clip: 4, 4, 3)."""
    start, end = seconds(q["start"]), seconds(q["end"])
    first, last = int(start // QV_CLIP_SECONDS), int(math.ceil(end / QV_CLIP_SECONDS)) - 1
    clip_ids, scores = [], []
    for k in range(first, max(first, last) + 1):
        clip_start, clip_end = k * QV_CLIP_SECONDS, min((k + 1) * QV_CLIP_SECONDS, duration)
        covered = max(0.0, min(end, clip_end) - max(start, clip_start)) / max(clip_end - clip_start, 1e-9)
        if covered <= 0:
            continue
        score = 1 + int(round(3 * covered))
        clip_ids.append(k)
        scores.append([score, score, max(score - 1, 0)])
    return {"qid": q["qid"], "query": q["query"], "duration": seconds(duration), "vid": q["vid"],
            "relevant_windows": [[start, end]], "relevant_clip_ids": clip_ids, "saliency_scores": scores}


# ---- action classes: Kinetics ---------------------------------------------------------------------

KINETICS_COLUMNS = ["label", "youtube_id", "time_start", "time_end", "split"]


def kinetics_clip_name(youtube_id: str, start: int, end: int) -> str:
    return f"{youtube_id}_{start:06d}_{end:06d}"
