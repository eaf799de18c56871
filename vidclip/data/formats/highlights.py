"""Highlight-only annotations: TVSum. One record per video, its title as the query, no moment; the
ratings go to ``extra`` as QVHighlights names them (`relevant_clip_ids`, `saliency_scores`: per
2-second clip, one score per annotator), so the saliency head trains on them
(`vidclip.moments.targets.frame_ratings`) and the moment losses, which need a window, skip them.

Two layouts of the same 50 videos:
- the release's `ydata-tvsum50-anno.tsv` (`video_id \\t category \\t s,s,...`): 20 lines per video,
  one per annotator, a 1-5 score per *frame* (constant within each 2-second shot); titles and
  durations (`m:ss`) come from `ydata-tvsum50-info.tsv` beside it (columns category, video_id,
  title, url, length). Frames become 2-second clips at n_frames / duration frames per second.
- Lighthouse's / UMT's `tvsum_{train,val}_release.jsonl`: `{"qid", "query", "vid", "domain",
  "label": clips x 20 scores}`, where "duration" counts the 2-second clips, not seconds.

Dropped and counted (``on_invalid="drop"``; "error" stops instead): an annotator line with a score
that is not a number from 1 to 5, a video whose annotators rated different numbers of frames, a
video the info file does not list.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from vidclip.data.formats.builder import RecordBuilder
from vidclip.data.formats.records import Annotations
from vidclip.data.formats.sources import csv_rows, json_line, numbered_lines
from vidclip.data.validation import InvalidMoment
from vidclip.errors import AnnotationError
from vidclip.eval.metrics import SALIENCY_CLIP_SECONDS

TVSUM_INFO = "ydata-tvsum50-info.tsv"
BAD_SCORES = "importance scores not numbers from 1 to 5"
UNEQUAL_FRAMES = "annotators rated different numbers of frames"
NOT_IN_INFO = "video not in the info file (no title or duration)"


def read_tvsum(path, *, info=None, video_root=None, on_missing: str = "keep", on_invalid: str = "drop") -> Annotations:
    """TVSum: the release's anno tsv (with `info`, default `ydata-tvsum50-info.tsv` beside it) or
    Lighthouse's jsonl (`tvsum_val_release.jsonl`); see the module docstring."""
    build = RecordBuilder(path, "tvsum", video_root=video_root, on_missing=on_missing, on_invalid=on_invalid,
                          subdirs=("video", "videos"))
    if Path(path).name.endswith(".jsonl"):
        _read_lighthouse(build)
    else:
        _read_anno(build, Path(info) if info is not None else Path(path).with_name(TVSUM_INFO))
    return build.finish()


def _read_anno(build: RecordBuilder, info_path: Path) -> None:
    if not info_path.is_file():
        raise AnnotationError(info_path, None, f"TVSum titles and durations come from {TVSUM_INFO}: put it beside "
                              "the anno file or pass info=<path>")
    info = read_tvsum_info(info_path)
    annotators: dict[str, list] = defaultdict(list)  # video id -> [(line, category, per-frame scores)]
    for line, text in numbered_lines(build.path):
        fields = text.split("\t")
        if len(fields) != 3:
            raise build.error(line, f"expected 'video_id<TAB>category<TAB>scores', got {len(fields)} tab-separated fields")
        video_id, category, scores = (field.strip() for field in fields)
        try:
            frames = np.array([float(s) for s in scores.split(",")])
        except ValueError:
            frames = np.array([np.nan])
        if not (np.isfinite(frames).all() and frames.min() >= 1 and frames.max() <= 5):
            build.invalid(line, video_id, InvalidMoment(BAD_SCORES, f"{BAD_SCORES}: {scores[:40]!r}"))
            continue
        annotators[video_id].append((line, category, frames))
    for video_id, rows in annotators.items():
        line = rows[0][0]
        if len({len(frames) for _, _, frames in rows}) > 1:
            build.invalid(line, video_id, InvalidMoment(UNEQUAL_FRAMES, f"{UNEQUAL_FRAMES}: "
                                                        f"{sorted({len(f) for _, _, f in rows})}"))
            continue
        if video_id not in info:
            build.invalid(line, video_id, InvalidMoment(NOT_IN_INFO, f"{NOT_IN_INFO} {build.path.name}"))
            continue
        title, duration = info[video_id]
        per_frame = np.stack([frames for _, _, frames in rows], axis=1)  # (F, A)
        clip = (np.arange(len(per_frame)) * duration / len(per_frame) // SALIENCY_CLIP_SECONDS).astype(int)  # (F,)
        # a shot's frames share one score; the mean over a clip's frames keeps it (and averages a straddling clip)
        scores = [per_frame[clip == k].mean(axis=0).round(3).tolist() for k in range(clip[-1] + 1)]
        build.add(line=line, video_id=video_id, caption=build.text(line, title, "title", video_id), duration=duration,
                  extra={"category": rows[0][1], "relevant_clip_ids": list(range(len(scores))),
                         "saliency_scores": scores})


def read_tvsum_info(path) -> dict[str, tuple[str, float]]:
    """{video id: (title, seconds)} from `ydata-tvsum50-info.tsv` (length as m:ss or h:mm:ss)."""
    out = {}
    for line, row in csv_rows(path, ("video_id", "title", "length"), delimiter="\t"):
        try:
            seconds = sum(float(part) * 60 ** i for i, part in enumerate(reversed(row["length"].strip().split(":"))))
        except ValueError:
            raise AnnotationError(path, line, f"length must be m:ss, got {row['length']!r}") from None
        out[row["video_id"].strip()] = (row["title"], seconds)
    return out


def _read_lighthouse(build: RecordBuilder) -> None:
    for line, text in numbered_lines(build.path):
        entry = json_line(build.path, line, text)
        for key in ("query", "vid", "label"):
            if key not in entry:
                raise build.error(line, f"TVSum (Lighthouse) entry lacks {key!r}")
        video_id, label = str(entry["vid"]), entry["label"]
        try:
            scores = np.asarray(label, dtype=np.float64)  # (clips, annotators)
        except (TypeError, ValueError):
            scores = np.array([np.nan])
        if scores.ndim != 2 or not len(scores) or not (np.isfinite(scores).all() and 1 <= scores.min() <= scores.max() <= 5):
            build.invalid(line, video_id, InvalidMoment(BAD_SCORES, f"{BAD_SCORES}: label {str(label)[:40]}"))
            continue
        build.add(line=line, video_id=video_id, caption=build.text(line, entry["query"], "query", video_id),
                  duration=len(scores) * SALIENCY_CLIP_SECONDS,  # its "duration" counts clips
                  extra={"qid": entry.get("qid", video_id), "category": entry.get("domain"),
                         "relevant_clip_ids": list(range(len(scores))), "saliency_scores": scores.tolist()})
