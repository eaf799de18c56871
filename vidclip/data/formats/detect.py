"""`load_annotations`: one entry point that recognises a dataset's file by its name and content."""

from __future__ import annotations

import csv
import inspect
import json
import re
from functools import partial
from pathlib import Path

from vidclip.data.formats.actions import read_hmdb51, read_kinetics, read_ucf101
from vidclip.data.formats.highlights import read_tvsum
from vidclip.data.formats.jsonl import read_jsonl
from vidclip.data.formats.moments import read_charades_sta, read_moment_json, read_qvhighlights
from vidclip.data.formats.records import Annotations
from vidclip.data.formats.retrieval import (read_didemo, read_lsmdc, read_msrvtt, read_msrvtt_jsfusion,
                                            read_msrvtt_split, read_msvd)
from vidclip.data.formats.sources import json_entries, load_json, numbered_lines, read_text
from vidclip.data.formats.youtube_highlights import read_youtube_highlights
from vidclip.errors import AnnotationError, ConfigError
from vidclip.registry import DATASETS

_READERS = {
    "msrvtt": read_msrvtt,
    "msrvtt_split": read_msrvtt_split,
    "msrvtt_jsfusion": read_msrvtt_jsfusion,
    "msvd": read_msvd,
    "didemo": read_didemo,
    "lsmdc": read_lsmdc,
    "charades_sta": read_charades_sta,
    "activitynet": partial(read_moment_json, format="activitynet"),
    "charades_cd": partial(read_moment_json, format="charades_cd"),
    "charades_cg": partial(read_moment_json, format="charades_cg"),
    "charades_json": partial(read_moment_json, format="charades_json"),
    "tacos": partial(read_moment_json, format="tacos"),
    "qvhighlights": read_qvhighlights,
    "tvsum": read_tvsum,
    "youtube_highlights": read_youtube_highlights,
    "kinetics": read_kinetics,
    "ucf101": read_ucf101,
    "hmdb51": read_hmdb51,
    "jsonl": read_jsonl,
}
for _name, _reader in _READERS.items():
    DATASETS.register(_name)(_reader)

_UCF_LIST = re.compile(r"^(train|test)list\d+\.txt$", re.IGNORECASE)
_HMDB_SPLIT = re.compile(r"_test_split\d+\.txt$")


def load_annotations(path, format: str = "auto", video_root=None, **options) -> Annotations:
    """Read any supported annotation file into validated records.

    format: "auto" (by name and content) or a name in `vidclip.registry.DATASETS`. video_root: where the videos are
    (default: the file's folder). options go to the reader, e.g. on_missing="drop", on_invalid="error",
    split="test" (MSR-VTT), allow_pickle=True (MSVD), unit="sentence" (DiDeMo), subset="train" (HMDB51);
    an option the reader does not take is a ConfigError that lists those it does.
    """
    if format == "auto":
        format = detect_format(path)
    reader = DATASETS[format]
    accepted = reader_options(reader)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(f"format {format!r} has no option {', '.join(unknown)}; its options: {', '.join(accepted)}")
    return reader(path, video_root=video_root, **options)


def reader_options(reader) -> list[str]:
    """The keyword options a reader takes (what a recipe may put in `options:`)."""
    parameters = inspect.signature(reader).parameters.values()
    return [p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.name not in ("video_root", "format")]


def detect_format(path) -> str:
    """The `DATASETS` name for a file, from its name first, then its first entry."""
    path = Path(path)
    name = path.name.lower()
    if path.is_dir():
        if any(_HMDB_SPLIT.search(p.name) for p in path.iterdir()):
            return "hmdb51"
        raise AnnotationError(path, None, "a folder is only recognised as HMDB51 split files")
    if not path.is_file():
        raise FileNotFoundError(f"annotation file not found: {path}")
    if _HMDB_SPLIT.search(path.name):
        return "hmdb51"
    if _UCF_LIST.match(name):
        return "ucf101"
    if name == "classind.txt" or name.startswith("charades_v1_"):
        raise AnnotationError(path, None, "this file lists classes or durations, not samples: load the split "
                              "file (UCF101 testlist01.txt, charades_sta_test.txt) and it is found beside it")
    if name.endswith(".pkl"):
        return "msvd"
    if name.endswith(".jsonl"):
        return _detect_jsonl(path)
    if name.endswith(".json"):
        return _detect_json(path)
    if name.endswith((".csv", ".tsv")):
        return _detect_table(path)
    if name.endswith(".txt"):
        return _detect_lines(path)
    known = ", ".join(DATASETS.names())
    raise AnnotationError(path, None, f"cannot tell the format from the name; pass format= one of {known}")


def _first_line(path) -> tuple[int, str]:
    for line, text in numbered_lines(path):
        return line, text
    raise AnnotationError(path, None, "empty annotation file")


def _detect_jsonl(path) -> str:
    line, text = _first_line(path)
    try:
        entry = json.loads(text)
    except json.JSONDecodeError as error:
        raise AnnotationError(path, line, f"invalid JSON: {error.msg}") from None
    if isinstance(entry, dict) and {"clip", "match"} <= entry.keys():
        return "youtube_highlights"  # Lighthouse's youtube_highlight_*_release.jsonl: labelled frame windows
    if isinstance(entry, dict) and isinstance(entry.get("label"), list) and entry["label"] \
            and isinstance(entry["label"][0], list):
        return "tvsum"  # Lighthouse's tvsum_*_release.jsonl: per-clip ratings of 20 annotators, no windows
    if isinstance(entry, dict) and ("relevant_windows" in entry or {"qid", "vid", "query"} <= entry.keys()):
        return "qvhighlights"
    if isinstance(entry, dict) and "video" in entry:
        return "jsonl"
    raise AnnotationError(path, line, "unrecognised jsonl: expected QVHighlights (qid, query, vid) or "
                          'vidclip\'s {"video", "caption", "start", "end"}')


def _detect_json(path) -> str:
    text = read_text(path)
    try:
        key, value, _, _ = next(json_entries(text), (None, None, None, None))
    except (json.JSONDecodeError, KeyError, IndexError):
        load_json(path)  # raises the located syntax error
        raise AnnotationError(path, 1, "expected a JSON object or list") from None
    if text.lstrip().startswith("["):
        if isinstance(value, dict) and "times" in value and "description" in value:
            return "didemo"
    elif key in ("info", "videos", "sentences"):
        return "msrvtt"
    elif isinstance(value, dict) and "timestamps" in value and {"fps", "num_frames"} <= value.keys():
        return "tacos"
    elif isinstance(value, dict) and "timestamps" in value:
        return "activitynet" if str(key).startswith("v_") else "charades_json"
    elif isinstance(value, list):
        return "msvd"
    raise AnnotationError(path, None, "unrecognised JSON: expected MSR-VTT, MSVD captions, DiDeMo, "
                          "ActivityNet Captions, Charades-CD/CG or TACoS")


def _detect_table(path) -> str:
    line, first = _first_line(path)
    fields = first.split("\t")
    if len(fields) == 3 and "," in fields[2]:
        return "tvsum"  # ydata-tvsum50-anno.tsv: video_id, category, per-frame scores
    if "\t" in first:
        return "lsmdc"
    header = {column.strip() for column in next(csv.reader([first]))}
    if {"label", "youtube_id"} <= header:
        return "kinetics"
    if {"video_id", "sentence"} <= header:
        return "msrvtt_jsfusion"
    if "video_id" in header:
        return "msrvtt_split"
    raise AnnotationError(path, line, f"unrecognised CSV header {sorted(header)}")


def _detect_lines(path) -> str:
    line, first = _first_line(path)
    fields = first.split()
    if "##" in first:
        return "charades_sta"
    if len(fields) in (1, 2) and "/" in fields[0]:
        return "ucf101"
    if len(fields) == 2 and fields[1] in ("0", "1", "2") and "." in fields[0]:
        return "hmdb51"
    if len(fields) == 1:
        return "msvd"
    raise AnnotationError(path, line, f"unrecognised text format from its first line {first!r}")
