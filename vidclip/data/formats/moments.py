"""Moment retrieval annotations: Charades-STA, Charades-CD/CG, ActivityNet Captions, QVHighlights.

One record per query, with its moment in seconds; durations come with the file (or, for
Charades-STA, from `Charades_v1_*.csv`) so ends past the video are clipped and counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from vidclip.data.formats.builder import RecordBuilder
from vidclip.data.formats.records import Annotations
from vidclip.data.formats.sources import csv_rows, json_entries, json_line, load_json, numbered_lines
from vidclip.errors import AnnotationError

CHARADES_SUBDIRS = ("Charades_v1_480", "Charades_v1", "videos")


def read_charades_sta(path, *, durations=None, video_root=None, on_missing: str = "keep") -> Annotations:
    """`charades_sta_{train,test}.txt`: `vid start end##sentence` per line.

    `durations` is a mapping or a `Charades_v1_*.csv` path (column `length`); by default the csv
    beside the file with the same split is used when present, else durations stay unknown.
    """
    lengths = _charades_durations(Path(path), durations)
    build = RecordBuilder(path, "charades_sta", video_root=video_root, on_missing=on_missing, subdirs=CHARADES_SUBDIRS)
    for line, text in numbered_lines(path):
        head, separator, sentence = text.partition("##")
        fields = head.split()
        if not separator or len(fields) != 3:
            raise build.error(line, f"expected 'video_id start end##sentence', got {text!r}")
        video_id, start, end = fields
        build.add(line=line, video_id=video_id, caption=build.text(line, sentence, "sentence"),
                  start=start, end=end, duration=lengths.get(video_id))
    return build.finish()


def _charades_durations(path: Path, durations) -> Mapping[str, float]:
    if isinstance(durations, Mapping):
        return durations
    if durations is not None:
        return read_charades_durations(durations)
    split = "test" if "test" in path.name else "train"
    other = "train" if split == "test" else "test"
    lengths: dict[str, float] = {}
    for csv_path in (path.with_name(f"Charades_v1_{other}.csv"), path.with_name(f"Charades_v1_{split}.csv")):
        if csv_path.is_file():
            lengths.update(read_charades_durations(csv_path))
    return lengths


def read_charades_durations(path) -> dict[str, float]:
    """{video id: seconds} from `Charades_v1_train.csv` / `Charades_v1_test.csv` (columns id, length)."""
    lengths = {}
    for line, row in csv_rows(path, ("id", "length")):
        try:
            lengths[row["id"].strip()] = float(row["length"])
        except ValueError:
            raise AnnotationError(path, line, f"length must be a number of seconds, got {row['length']!r}") from None
    return lengths


def read_moment_json(path, *, video_root=None, on_missing: str = "keep", format: str | None = None) -> Annotations:
    """`{vid: {"duration", "timestamps": [[s, e], ...], "sentences": [...]}}`: ActivityNet Captions
    (`train.json`, `val_1.json`), Charades-CD (`charades_test_ood.json`) and Charades-CG files.

    ActivityNet sentences often start with a space: stripped. ActivityNet ids are `v_<youtube id>`;
    the file may be named with or without the `v_` prefix.
    """
    text, data = load_json(path)
    if not isinstance(data, dict):
        raise AnnotationError(path, 1, f"expected a JSON object of video id -> moments, got {type(data).__name__}")
    if format is None:
        format = "activitynet" if any(str(key).startswith("v_") for key in list(data)[:20]) else "charades_json"
    build = RecordBuilder(path, format, video_root=video_root, on_missing=on_missing, subdirs=CHARADES_SUBDIRS)
    for video_id, entry, line, _ in json_entries(text):
        if not isinstance(entry, dict) or not {"timestamps", "sentences"} <= entry.keys():
            raise build.error(line, f'{video_id!r} needs "timestamps" and "sentences"')
        timestamps, sentences = entry["timestamps"], entry["sentences"]
        if not isinstance(timestamps, list) or not isinstance(sentences, list) or len(timestamps) != len(sentences):
            raise build.error(line, f"{video_id!r}: timestamps and sentences must be lists of equal length, "
                              f"got {len(timestamps) if isinstance(timestamps, list) else timestamps!r} and "
                              f"{len(sentences) if isinstance(sentences, list) else sentences!r}")
        names = [video_id, video_id[2:]] if video_id.startswith("v_") else [video_id]
        for index, (window, sentence) in enumerate(zip(timestamps, sentences)):
            if not isinstance(window, list) or len(window) != 2:
                raise build.error(line, f"{video_id!r} timestamps[{index}] must be [start, end], got {window!r}")
            build.add(line=line, video_id=video_id, caption=build.text(line, sentence, "sentence"),
                      start=window[0], end=window[1], duration=entry.get("duration"), names=names,
                      extra={"sentence_index": index})
    return build.finish()


def read_qvhighlights(path, *, video_root=None, on_missing: str = "keep") -> Annotations:
    """QVHighlights jsonl: one record per query.

    A query may have several relevant windows: all are kept (checked, clipped) in
    ``extra["relevant_windows"]``; start/end hold the first. Test queries have no windows.
    """
    build = RecordBuilder(path, "qvhighlights", video_root=video_root, on_missing=on_missing, subdirs=("videos",))
    for line, text in numbered_lines(path):
        entry = json_line(path, line, text)
        for key in ("qid", "query", "vid"):
            if key not in entry:
                raise build.error(line, f"QVHighlights entry lacks {key!r}")
        duration = build.seconds(line, entry["duration"], "duration") if "duration" in entry else None
        windows = entry.get("relevant_windows") or []
        if not isinstance(windows, list) or not all(isinstance(w, list) and len(w) == 2 for w in windows):
            raise build.error(line, f"relevant_windows must be a list of [start, end], got {windows!r}")
        windows = [build.moment(line, start, end, duration) for start, end in windows]
        first = windows[0] if windows else (None, None)
        extra = {"qid": entry["qid"], "relevant_windows": windows}
        for key in ("relevant_clip_ids", "saliency_scores"):
            if key in entry:
                extra[key] = entry[key]
        build.add(line=line, video_id=str(entry["vid"]), caption=build.text(line, entry["query"], "query"),
                  start=first[0], end=first[1], duration=duration, extra=extra)
    return build.finish()

