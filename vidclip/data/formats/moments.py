"""Moment retrieval annotations: Charades-STA, Charades-CD/CG, ActivityNet Captions, TACoS, QVHighlights.

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
UNITS = ("sentence", "paragraph")


def read_charades_sta(path, *, durations=None, video_root=None, on_missing: str = "keep",
                      on_invalid: str = "drop") -> Annotations:
    """`charades_sta_{train,test}.txt`: `vid start end##sentence` per line.

    `durations` is a mapping or a `Charades_v1_*.csv` path (column `length`); by default the csv
    beside the file with the same split is used when present, else durations stay unknown.
    """
    lengths = _charades_durations(Path(path), durations)
    build = RecordBuilder(path, "charades_sta", video_root=video_root, on_missing=on_missing, on_invalid=on_invalid,
                          subdirs=CHARADES_SUBDIRS)
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


def read_moment_json(path, *, video_root=None, on_missing: str = "keep", on_invalid: str = "drop",
                     unit: str = "sentence", format: str | None = None) -> Annotations:
    """`{vid: {"duration", "timestamps": [[s, e], ...], "sentences": [...]}}`: ActivityNet Captions
    (`train.json`, `val_1.json`), Charades-CD (`charades_test_ood.json`, duration as `video_duration`),
    Charades-CG files and TACoS as VSLNet ships it (`{"s13-d21.avi": {"timestamps": frames, "fps", "num_frames"}}`).

    ActivityNet sentences often start with a space: stripped. ActivityNet ids are `v_<youtube id>`;
    the file may be named with or without the `v_` prefix. unit="paragraph": one record per video,
    its sentences joined, no moment (ActivityNet paragraph-to-video retrieval, as CLIP4Clip).
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    text, data = load_json(path)
    if not isinstance(data, dict):
        raise AnnotationError(path, 1, f"expected a JSON object of video id -> moments, got {type(data).__name__}")
    if format is None:
        format = "activitynet" if any(str(key).startswith("v_") for key in list(data)[:20]) else "charades_json"
    build = RecordBuilder(path, format, video_root=video_root, on_missing=on_missing, on_invalid=on_invalid,
                          subdirs=CHARADES_SUBDIRS)
    build.lines = text.strip().count("\n") > 0  # ActivityNet's files are one line: the video id says where
    for key, entry, line, _ in json_entries(text):
        if not isinstance(entry, dict) or not {"timestamps", "sentences"} <= entry.keys():
            raise build.error(line, 'needs "timestamps" and "sentences"', key)
        timestamps, sentences = entry["timestamps"], entry["sentences"]
        if not isinstance(timestamps, list) or not isinstance(sentences, list) or len(timestamps) != len(sentences):
            raise build.error(line, "timestamps and sentences must be lists of equal length, got "
                              f"{len(timestamps) if isinstance(timestamps, list) else timestamps!r} and "
                              f"{len(sentences) if isinstance(sentences, list) else sentences!r}", key)
        seconds_per_unit, duration = _moment_json_time(build, line, key, entry, format)
        video_id = Path(key).stem if format == "tacos" else key
        names = [key, key[2:]] if key.startswith("v_") else [key]
        if unit == "paragraph":
            paragraph = " ".join(build.text(line, sentence, "sentence", key) for sentence in sentences)
            build.add(line=line, video_id=video_id, caption=paragraph, duration=duration, names=names)
            continue
        for index, (window, sentence) in enumerate(zip(timestamps, sentences)):
            if not isinstance(window, list) or len(window) != 2:
                raise build.error(line, f"timestamps[{index}] must be [start, end], got {window!r}", key)
            start, end = (build.seconds(line, value, what, key) * seconds_per_unit
                          for value, what in zip(window, ("start", "end")))
            build.add(line=line, video_id=video_id, caption=build.text(line, sentence, "sentence", key),
                      start=start, end=end, duration=duration, names=names, extra={"sentence_index": index})
    return build.finish()


def _moment_json_time(build: RecordBuilder, line: int, key: str, entry: dict,
                      format: str) -> tuple[float, float | None]:
    """(seconds per timestamp unit, duration): TACoS counts frames (`fps`, `num_frames`), the others seconds."""
    if format == "tacos":
        if "fps" not in entry or "num_frames" not in entry:
            raise build.error(line, 'a TACoS entry needs "fps" and "num_frames" (its timestamps are frames)', key)
        fps = build.seconds(line, entry["fps"], "fps", key)
        if fps <= 0:
            raise build.error(line, f"fps must be positive, got {fps:g}", key)
        return 1.0 / fps, build.seconds(line, entry["num_frames"], "num_frames", key) / fps
    duration = entry.get("duration", entry.get("video_duration"))  # Charades-CD names it video_duration
    return 1.0, duration


def read_qvhighlights(path, *, video_root=None, on_missing: str = "keep", on_invalid: str = "drop") -> Annotations:
    """QVHighlights jsonl: one record per query.

    A query may have several relevant windows: all are kept (checked, clipped) in
    ``extra["relevant_windows"]``; start/end hold the first. Test queries have no windows. An invalid
    window is dropped (and counted) alone; a query left with none is dropped.
    """
    build = RecordBuilder(path, "qvhighlights", video_root=video_root, on_missing=on_missing, on_invalid=on_invalid,
                          subdirs=("videos",))
    for line, text in numbered_lines(path):
        entry = json_line(path, line, text)
        for key in ("qid", "query", "vid"):
            if key not in entry:
                raise build.error(line, f"QVHighlights entry lacks {key!r}")
        video_id = str(entry["vid"])
        duration = build.seconds(line, entry["duration"], "duration") if "duration" in entry else None
        windows = entry.get("relevant_windows") or []
        if not isinstance(windows, list) or not all(isinstance(w, list) and len(w) == 2 for w in windows):
            raise build.error(line, f"relevant_windows must be a list of [start, end], got {windows!r}")
        checked = [build.moment(line, start, end, duration, video_id) for start, end in windows]
        windows = [window for window in checked if window is not None]
        if checked and not windows:
            continue
        first = windows[0] if windows else (None, None)
        extra = {"qid": entry["qid"], "relevant_windows": windows}
        for key in ("relevant_clip_ids", "saliency_scores"):
            if key in entry:
                extra[key] = entry[key]
        build.add(line=line, video_id=video_id, caption=build.text(line, entry["query"], "query"),
                  start=first[0], end=first[1], duration=duration, extra=extra)
    return build.finish()

