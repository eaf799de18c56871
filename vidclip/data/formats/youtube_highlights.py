"""Highlight-only annotations: YouTube Highlights (Sun et al. 2014), as Lighthouse's / UMT's
`youtube_highlight_{train,val}_release.jsonl`. One record per video; the query is its domain word
("dog", "surfing", ...), there is no moment. Each line labels overlapping windows of ~100 frames at
a ~50-frame stride ("clip": [[start_frame, end_frame], ...], not 2-second clips) with "match" (1
highlight, 0 boundary, -1 not) and "label" ([[1]] where match > 0, else [[0]]).

The windows go to ``extra`` in seconds (frame / the line's "fps") as "clip_windows", their 0/1
labels as "clip_labels" (1 where match > 0, as UMT's `get_saliency`; Lighthouse reads "label",
which agrees), with "qid" and "category" (the domain). The saliency head trains on them
(`vidclip.moments.targets.window_ratings`), the eval scores one prediction per window with
`vidclip.eval.metrics.youtube_highlight_metrics`.

Kept as released: windows ending a few frames past "frames", a first window starting at frame 1,
uneven strides and widths. Dropped and counted (``on_invalid="drop"``; "error" stops instead): a
line without usable windows (missing, empty, not [start, end] frame pairs with start < end), without
a -1/0/1 match per window, whose "label" disagrees with match > 0, or without a positive fps.
"""

from __future__ import annotations

import numpy as np

from vidclip.data.formats.builder import RecordBuilder
from vidclip.data.formats.records import Annotations
from vidclip.data.formats.sources import json_line, numbered_lines
from vidclip.data.validation import InvalidMoment

BAD_WINDOWS = "clip windows not [start_frame, end_frame] pairs with start < end"
BAD_MATCH = "match not one of -1, 0, 1 per clip window"
LABEL_DISAGREES = "label disagrees with match > 0"
BAD_FPS = "fps not a positive number"


def read_youtube_highlights(path, *, video_root=None, on_missing: str = "keep",
                            on_invalid: str = "drop") -> Annotations:
    """YouTube Highlights from Lighthouse's jsonl; see the module docstring."""
    build = RecordBuilder(path, "youtube_highlights", video_root=video_root, on_missing=on_missing,
                          on_invalid=on_invalid, subdirs=("video", "videos"))
    for line, text in numbered_lines(build.path):
        entry = json_line(build.path, line, text)
        for key in ("query", "vid"):
            if key not in entry:
                raise build.error(line, f"YouTube Highlights entry lacks {key!r}")
        video_id = str(entry["vid"])
        checked = _windows_and_labels(entry)
        if isinstance(checked, InvalidMoment):
            build.invalid(line, video_id, checked)
            continue
        windows, labels, fps = checked
        duration = entry.get("duration") or entry.get("frames", 0) / fps or None
        build.add(line=line, video_id=video_id, caption=build.text(line, entry["query"], "query", video_id),
                  duration=duration,
                  extra={"qid": entry.get("qid", video_id), "category": entry.get("domain"),
                         "clip_windows": (windows / fps).round(4).tolist(), "clip_labels": labels.tolist()})
    return build.finish()


def _windows_and_labels(entry: dict):
    """(windows (C, 2) frames, labels (C,) 0/1, fps), or the InvalidMoment saying why the line is dropped."""
    try:
        fps = float(entry.get("fps"))
    except (TypeError, ValueError):
        fps = float("nan")
    if not (np.isfinite(fps) and fps > 0):
        return InvalidMoment(BAD_FPS, f"{BAD_FPS}: {entry.get('fps')!r}")
    windows = _array(entry.get("clip"))
    if windows.ndim != 2 or windows.shape[1] != 2 or not len(windows) or not np.isfinite(windows).all() \
            or (windows[:, 1] <= windows[:, 0]).any() or windows.min() < 0:
        return InvalidMoment(BAD_WINDOWS, f"{BAD_WINDOWS}: {str(entry.get('clip'))[:40]}")
    match = _array(entry.get("match"))
    if match.shape != (len(windows),) or not np.isin(match, (-1, 0, 1)).all():
        return InvalidMoment(BAD_MATCH, f"{BAD_MATCH}: {len(windows)} windows, match {str(entry.get('match'))[:40]}")
    labels = (match > 0).astype(int)  # (C,)
    if entry.get("label") is not None:
        label = _array(entry["label"])
        if label.size != len(labels) or not np.array_equal(label.reshape(-1) > 0, labels > 0):
            return InvalidMoment(LABEL_DISAGREES, f"{LABEL_DISAGREES}: label {str(entry['label'])[:40]}")
    return windows, labels, fps


def _array(value) -> np.ndarray:
    """A float array of `value`, or an empty one where it is not numbers of one shape."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return np.zeros(0)
