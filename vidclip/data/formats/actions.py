"""Action recognition lists (Kinetics-400, UCF101, HMDB51) and class names turned into text.

Records carry the class index as `label` and a prompt from `template` as `caption`;
`Annotations.classes` holds the class names, `class_prompts` the texts for zero-shot classifiers.
"""

from __future__ import annotations

import re
from pathlib import Path

from vidclip.data.formats.builder import RecordBuilder
from vidclip.data.formats.records import Annotations
from vidclip.data.formats.sources import csv_rows, numbered_lines
from vidclip.data.validation import START_AFTER_END, InvalidMoment
from vidclip.errors import AnnotationError

DEFAULT_TEMPLATE = "a video of a person {}."
ACTION_TEMPLATES = (
    "a video of a person {}.",
    "a video of a person doing {}.",
    "a photo of a person {}.",
    "a clip of {}.",
)
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_HMDB_SPLIT_FILE = re.compile(r"^(?P<label>.+)_test_split(?P<number>\d+)\.txt$")
HMDB_SUBSETS = {"train": "1", "test": "2", "unused": "0"}


def class_name_to_text(name: str) -> str:
    """'brush_hair' -> 'brush hair', 'ApplyEyeMakeup' -> 'apply eye makeup' (what a text tower reads)."""
    return " ".join(_CAMEL_BOUNDARY.sub(" ", name.replace("_", " ")).split()).lower()


def class_prompts(classes, templates=ACTION_TEMPLATES) -> list[list[str]]:
    """Per class, its text in every template (a zero-shot classifier averages their embeddings)."""
    return [[template.format(class_name_to_text(name)) for template in templates] for name in classes]


def read_kinetics(path, *, classes=None, template: str = DEFAULT_TEMPLATE, video_root=None,
                  on_missing: str = "keep", on_invalid: str = "drop") -> Annotations:
    """Kinetics CSV `label,youtube_id,time_start,time_end,split`; clips `<id>_<start:06d>_<end:06d>.mp4`,
    found in the root, a `label/` folder or `split/label/`. Pass `classes` to share indices across splits.
    """
    rows = list(csv_rows(path, ("label", "youtube_id", "time_start", "time_end")))
    classes = list(classes) if classes is not None else sorted({row["label"].strip() for _, row in rows})
    index = {name: i for i, name in enumerate(classes)}
    build = RecordBuilder(path, "kinetics", video_root=video_root, on_missing=on_missing, on_invalid=on_invalid)
    for line, row in rows:
        label, youtube_id, split = row["label"].strip(), row["youtube_id"].strip(), (row.get("split") or "").strip()
        if label not in index:
            raise build.error(line, f"label {label!r} is not among the {len(classes)} classes given")
        start = build.seconds(line, row["time_start"], "time_start")
        end = build.seconds(line, row["time_end"], "time_end")
        clip = f"{youtube_id}_{int(start):06d}_{int(end):06d}"
        if start > end:
            build.invalid(line, clip, InvalidMoment(START_AFTER_END, f"time_start {start:g} > time_end {end:g}"))
            continue
        subdirs = (label, label.replace(" ", "_"), f"{split}/{label}" if split else "", split)
        build.add(line=line, video_id=clip, caption=template.format(class_name_to_text(label)), label=index[label],
                  names=[clip, youtube_id], subdirs=subdirs,
                  extra={"youtube_id": youtube_id, "time_start": start, "time_end": end, "split": split})
    return build.finish(classes)


def read_class_index(path) -> list[str]:
    """UCF101 `classInd.txt` (`1 ApplyEyeMakeup`): class names in label order."""
    names = {}
    for line, text in numbered_lines(path):
        fields = text.split()
        if len(fields) != 2 or not fields[0].isdigit():
            raise AnnotationError(path, line, f"expected '<index> <ClassName>', got {text!r}")
        names[int(fields[0])] = fields[1]
    if sorted(names) != list(range(1, len(names) + 1)):
        raise AnnotationError(path, None, "class indices must run 1..N without gaps")
    return [names[i] for i in sorted(names)]


def read_ucf101(path, *, class_index=None, template: str = DEFAULT_TEMPLATE, video_root=None,
                on_missing: str = "keep", on_invalid: str = "drop") -> Annotations:
    """UCF101 `testlist01.txt` (`Class/v_Class_g01_c01.avi`) or `trainlist01.txt` (`... <label>`).

    Classes come from `classInd.txt` (default: beside the list), else from the folder names.
    """
    entries = []
    for line, text in numbered_lines(path):
        fields = text.split()
        if len(fields) not in (1, 2) or "/" not in fields[0]:
            raise AnnotationError(path, line, f"expected 'Class/video.avi [label]', got {text!r}")
        entries.append((line, fields[0], fields[1] if len(fields) == 2 else None))
    if class_index is None and Path(path).with_name("classInd.txt").is_file():
        class_index = Path(path).with_name("classInd.txt")
    if class_index is not None:
        classes = read_class_index(class_index)
    else:
        classes = sorted({video.split("/")[0] for _, video, _ in entries})
    index = {name: i for i, name in enumerate(classes)}
    build = RecordBuilder(path, "ucf101", video_root=video_root, on_missing=on_missing, on_invalid=on_invalid)
    for line, video, number in entries:
        label = video.split("/")[0]
        if label not in index:
            raise build.error(line, f"class {label!r} is not in the class index")
        if number is not None and (not number.isdigit() or int(number) != index[label] + 1):
            raise build.error(line, f"label {number} disagrees with class {label!r} (index {index[label] + 1})")
        build.add(line=line, video_id=Path(video).stem, caption=template.format(class_name_to_text(label)),
                  label=index[label], names=[video, Path(video).name])
    return build.finish(classes)


def read_hmdb51(path, *, split: str | int | None = None, subset: str = "test", template: str = DEFAULT_TEMPLATE,
                video_root=None, on_missing: str = "keep", on_invalid: str = "drop") -> Annotations:
    """HMDB51 split files `<class>_test_split<n>.txt` (lines `<video>.avi <0|1|2>`, 1 train, 2 test).

    `path` is the folder of split files or any one of them: all classes of that split number load
    (one file holds one class, useless alone). `split` is the split number (1-3; default: the
    file's, else the first); `subset` picks train, test or unused videos.
    """
    if subset not in HMDB_SUBSETS:
        raise ValueError(f"subset must be one of {sorted(HMDB_SUBSETS)}, got {subset!r}")
    path = Path(path)
    number, folder = None, path
    if path.is_file():
        match = _HMDB_SPLIT_FILE.match(path.name)
        if match is None:
            raise AnnotationError(path, None, "not an HMDB51 split file (<class>_test_split<n>.txt)")
        number, folder = match["number"], path.parent
    by_number: dict[str, list[tuple[str, Path]]] = {}
    for file in sorted(folder.iterdir()):
        match = _HMDB_SPLIT_FILE.match(file.name)
        if match is not None:
            by_number.setdefault(match["number"], []).append((match["label"], file))
    if not by_number:
        raise AnnotationError(path, None, "no HMDB51 split files (<class>_test_split<n>.txt) found")
    number = str(split) if split is not None else number or min(by_number)
    if number not in by_number:
        raise AnnotationError(path, None, f"unknown split {number!r}: the split files here are split "
                              f"{', '.join(sorted(by_number))}")
    files = by_number[number]
    classes = [label for label, _ in files]
    build = RecordBuilder(files[0][1], "hmdb51", video_root=video_root if video_root is not None else folder,
                          on_missing=on_missing, on_invalid=on_invalid)
    for label_index, (label, file) in enumerate(files):
        build.path = file
        for line, text in numbered_lines(file):
            fields = text.split()
            if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
                raise build.error(line, f"expected '<video>.avi <0|1|2>', got {text!r}")
            if fields[1] != HMDB_SUBSETS[subset]:
                continue
            build.add(line=line, video_id=Path(fields[0]).stem, caption=template.format(class_name_to_text(label)),
                      label=label_index, names=[fields[0]], subdirs=(label,))
    build.report.path = f"{folder} (split {number}, {subset})"
    return build.finish(classes)
