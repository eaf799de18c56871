"""vidclip's own generic format: one JSON object per line, the simplest way to bring new data.

    {"video": "clips/a.mp4", "caption": "a dog runs", "start": 1.5, "end": 4.0}

`video` is a path (relative to the video root) or an id; `start`/`end` (seconds), `duration`,
`video_id` and `label` are optional; other keys are kept in `Record.extra`.
"""

from __future__ import annotations

from pathlib import Path

from vidclip.data.formats.builder import RecordBuilder
from vidclip.data.formats.records import Annotations
from vidclip.data.formats.sources import json_line, numbered_lines

_KNOWN_KEYS = {"video", "caption", "start", "end", "duration", "video_id", "label"}


def read_jsonl(path, *, video_root=None, on_missing: str = "keep", on_invalid: str = "drop") -> Annotations:
    build = RecordBuilder(path, "jsonl", video_root=video_root, on_missing=on_missing, on_invalid=on_invalid)
    for line, text in numbered_lines(path):
        entry = json_line(path, line, text)
        video = entry.get("video")
        if not isinstance(video, str) or not video.strip():
            raise build.error(line, f'"video" must be a path or id, got {video!r}')
        label = entry.get("label")
        if label is not None and (isinstance(label, bool) or not isinstance(label, int)):
            raise build.error(line, f'"label" must be an integer class index, got {label!r}')
        build.add(line=line, video_id=str(entry.get("video_id") or Path(video).stem),
                  caption=build.text(line, entry.get("caption")), start=entry.get("start"), end=entry.get("end"),
                  duration=entry.get("duration"), label=label, names=[video],
                  extra={key: value for key, value in entry.items() if key not in _KNOWN_KEYS})
    return build.finish()
