"""Text-video retrieval annotations: MSR-VTT, MSVD, DiDeMo, LSMDC (one record per caption)."""

from __future__ import annotations

from pathlib import Path

from vidclip.data.formats.builder import RecordBuilder
from vidclip.data.formats.records import Annotations
from vidclip.data.formats.sources import csv_rows, json_entries, load_json, numbered_lines
from vidclip.errors import AnnotationError

MSRVTT_SUBDIRS = ("videos/all", "all")
MSVD_CAPTION_FILES = ("raw-captions.json", "captions_msvd.json", "captions.json", "msvd_captions.json",
                      "raw-captions.pkl")
DIDEMO_SEGMENT_SECONDS = 5.0
DIDEMO_NUM_SEGMENTS = 6


def read_msrvtt(path, *, video_root=None, split: str | None = None, video_ids=None,
                on_missing: str = "keep", on_invalid: str = "drop", format: str = "msrvtt") -> Annotations:
    """`MSRVTT_data.json`: one record per sentence, filtered by `split` or by `video_ids`.

    `split` is a split name of the file's videos (train, validate, test) or a split csv
    (`MSRVTT_train.9k.csv`, `MSRVTT_train.7k.csv`: the videos of CLIP4Clip's 9k and 7k training sets).
    """
    text, data = load_json(path)
    if not isinstance(data, dict) or not {"videos", "sentences"} <= data.keys():
        raise AnnotationError(path, 1, 'MSR-VTT JSON needs top-level "videos" and "sentences"')
    build = RecordBuilder(path, format, video_root=video_root, on_missing=on_missing, on_invalid=on_invalid,
                          subdirs=MSRVTT_SUBDIRS)
    positions = {key: (line, position) for key, _, line, position in json_entries(text)}
    videos, durations = {}, {}
    for _, video, line, _ in json_entries(text, positions["videos"][1]):
        if not isinstance(video, dict) or "video_id" not in video:
            raise build.error(line, f'a video entry needs "video_id", got {video!r}')
        videos[video["video_id"]] = video
        if "start time" in video and "end time" in video:  # times in the YouTube source: the clip's length
            start = build.seconds(line, video["start time"], "start time")
            length = build.seconds(line, video["end time"], "end time") - start
            durations[video["video_id"]] = length if length > 0 else None
    if split is not None and split not in {video.get("split") for video in videos.values()}:
        video_ids, split = _msrvtt_split_file(path, split, videos), None
    wanted = None if video_ids is None else set(video_ids)
    for _, sentence, line, _ in json_entries(text, positions["sentences"][1]):
        if not isinstance(sentence, dict) or "video_id" not in sentence:
            raise build.error(line, f'a sentence entry needs "video_id" and "caption", got {sentence!r}')
        video_id = sentence["video_id"]
        video = videos.get(video_id)
        if video is None:
            raise build.error(line, f"sentence for {video_id!r}, which is not in \"videos\"")
        if (wanted is not None and video_id not in wanted) or (split is not None and video.get("split") != split):
            continue
        build.add(line=line, video_id=video_id, caption=build.text(line, sentence.get("caption")),
                  duration=durations.get(video_id),
                  extra={"sen_id": sentence.get("sen_id"), "split": video.get("split")})
    if wanted is not None:
        absent = wanted - videos.keys()
        if absent:
            example = sorted(absent)[:3]
            raise build.error(None, f"{len(absent)} requested video id(s) are not in this file, e.g. {example}")
    return build.finish()


def _msrvtt_split_file(path, split: str, videos: dict) -> list[str]:
    """The video ids of a split csv; a `split` that is neither a name nor a file is an error listing both."""
    if not Path(split).is_file():
        names = sorted({str(video.get("split")) for video in videos.values()})
        raise AnnotationError(path, None, f"unknown split {split!r}: give one of this file's splits "
                              f"({', '.join(names)}) or a split csv such as MSRVTT_train.9k.csv")
    return [row["video_id"].strip() for _, row in csv_rows(split, ("video_id",))]


def read_msrvtt_split(path, *, data_json=None, video_root=None, on_missing: str = "keep",
                      on_invalid: str = "drop") -> Annotations:
    """`MSRVTT_train.9k.csv` (column video_id): the captions come from `MSRVTT_data.json` beside it."""
    data_json = Path(data_json) if data_json is not None else Path(path).with_name("MSRVTT_data.json")
    if not data_json.is_file():
        raise AnnotationError(path, None, f"a split list holds no captions and {data_json} was not found; "
                              "pass data_json= (the MSRVTT_data.json with the sentences)")
    if video_root is None:
        video_root = Path(path).parent
    return read_msrvtt(data_json, video_root=video_root, split=str(path), on_missing=on_missing,
                       on_invalid=on_invalid, format="msrvtt_split")


def read_msrvtt_jsfusion(path, *, video_root=None, on_missing: str = "keep", on_invalid: str = "drop") -> Annotations:
    """The 1k-A test CSV (`key,vid_key,video_id,sentence`): one caption per test video."""
    build = RecordBuilder(path, "msrvtt_jsfusion", video_root=video_root, on_missing=on_missing,
                          on_invalid=on_invalid, subdirs=MSRVTT_SUBDIRS)
    for line, row in csv_rows(path, ("video_id", "sentence")):
        build.add(line=line, video_id=(row["video_id"] or "").strip(), caption=build.text(line, row["sentence"]),
                  extra={"key": row.get("key")})
    return build.finish()


def read_msvd(path, *, captions=None, allow_pickle: bool = False, video_root=None,
              on_missing: str = "keep", on_invalid: str = "drop") -> Annotations:
    """MSVD: an id list (`test_list.txt`) with captions from a JSON (`{id: [caption, ...]}`).

    `captions` defaults to a JSON beside the list (`raw-captions.json` as CLIP4Clip users convert it,
    `captions_msvd.json`, `captions.json`),
    else `raw-captions.pkl`, which is read only with ``allow_pickle=True``: unpickling runs code.
    A captions file given as `path` loads every video in it.
    """
    path = Path(path)
    if path.suffix in (".json", ".pkl"):
        ids, captions_path = None, path
    else:
        ids = [(line, text) for line, text in numbered_lines(path)]
        captions_path = Path(captions) if captions is not None else _find_msvd_captions(path)
    build = RecordBuilder(path, "msvd", video_root=video_root, on_missing=on_missing, on_invalid=on_invalid)
    by_video = _read_msvd_captions(captions_path, allow_pickle)
    if ids is None:
        ids = [(line, video_id) for video_id, (line, _) in by_video.items()]
    for line, video_id in ids:
        if video_id not in by_video:
            raise build.error(line, f"video {video_id!r} has no captions in {captions_path}")
        for caption in by_video[video_id][1]:
            build.add(line=line, video_id=video_id, caption=caption)
    return build.finish()


def _find_msvd_captions(list_path: Path) -> Path:
    for name in MSVD_CAPTION_FILES:
        if (list_path.parent / name).is_file():
            return list_path.parent / name
    raise AnnotationError(list_path, None, "an MSVD id list needs captions: pass captions= (a JSON "
                          '{"video_id": ["caption", ...]}); none of ' + ", ".join(MSVD_CAPTION_FILES) +
                          " is beside the list")


def _read_msvd_captions(path: Path, allow_pickle: bool) -> dict[str, tuple[int | None, list[str]]]:
    """{video id: (line, captions)}; token lists (the pickle's form) are joined with spaces."""
    if path.suffix == ".pkl":
        data = _read_pickle(path, allow_pickle)
        entries = [(key, value, None) for key, value in data.items()] if isinstance(data, dict) else None
    else:
        text, data = load_json(path)
        entries = [(key, value, line) for key, value, line, _ in json_entries(text)] if isinstance(data, dict) else None
    if entries is None:
        kind = type(data).__name__
        raise AnnotationError(path, 1, f"MSVD captions must map video id -> list of captions, got {kind}")
    captions = {}
    for video_id, texts, line in entries:
        if not isinstance(texts, list):
            raise AnnotationError(path, line, f"captions of {video_id!r} must be a list, got {texts!r}")
        texts = [" ".join(map(str, t)) if isinstance(t, (list, tuple)) else t for t in texts]
        if not all(isinstance(t, str) and t.strip() for t in texts):
            raise AnnotationError(path, line, f"captions of {video_id!r} must be non-empty text, got {texts!r}")
        captions[str(video_id)] = (line, [" ".join(t.split()) for t in texts])
    return captions


def _read_pickle(path: Path, allow_pickle: bool):
    if not allow_pickle:
        raise AnnotationError(path, None, "refusing to unpickle: a pickle can run arbitrary code. Pass "
                              "allow_pickle=True if you trust this file, or convert it once to JSON "
                              '({"video_id": ["caption", ...]}) and load that')
    import pickle

    with open(path, "rb") as file:
        return pickle.load(file)


def read_didemo(path, *, unit: str = "paragraph", video_root=None, on_missing: str = "keep",
                on_invalid: str = "drop") -> Annotations:
    """DiDeMo `train_data.json`/`val_data.json`/`test_data.json`.

    unit="paragraph" (paragraph-to-video retrieval): one record per video, its descriptions joined,
    with the per-sentence moments in ``extra["moments"]`` as (sentence, start, end) seconds.
    unit="sentence": one record per description with its moment. `times` are 5-s segment indices
    (0-5) from several annotators: start = mean(first) * 5, end = (mean(last) + 1) * 5, as CLIP4Clip.
    A video is its file name without extension: the official files name some videos twice (`x.mov`
    and `x.mp4`) or with a bare trailing dot (`x.`), and the split sizes (test 1004, val 1065) count
    each once.
    """
    if unit not in ("paragraph", "sentence"):
        raise ValueError(f"unit must be 'paragraph' or 'sentence', got {unit!r}")
    text, data = load_json(path)
    if not isinstance(data, list):
        raise AnnotationError(path, 1, f"DiDeMo annotations must be a JSON list, got {type(data).__name__}")
    build = RecordBuilder(path, "didemo", video_root=video_root, on_missing=on_missing, on_invalid=on_invalid)
    build.lines = text.strip().count("\n") > 0  # the official files are one line: the video id says where
    videos: dict[str, list] = {}
    file_names: dict[str, list[str]] = {}
    for _, entry, line, _ in json_entries(text):
        if not isinstance(entry, dict) or not {"video", "times", "description"} <= entry.keys():
            raise build.error(line, f'a DiDeMo entry needs "video", "times" and "description", got {entry!r}')
        video_id = didemo_video_id(build, line, entry["video"])
        moment = build.moment(line, *_didemo_seconds(build, line, entry["times"], video_id), None, video_id)
        sentence = build.text(line, entry["description"], "description", video_id)
        file_names.setdefault(video_id, []).append(entry["video"])
        if moment is not None:
            videos.setdefault(video_id, []).append((line, sentence, *moment))
    for video_id, moments in videos.items():
        names = [name for name in dict.fromkeys(file_names[video_id]) if not name.endswith(".")] + [video_id]
        if unit == "sentence":
            for line, sentence, start, end in moments:
                build.add(line=line, video_id=video_id, caption=sentence, start=start, end=end, names=names)
        else:
            paragraph = " ".join(sentence for _, sentence, _, _ in moments)
            build.add(line=moments[0][0], video_id=video_id, caption=paragraph, names=names,
                      extra={"moments": [(sentence, start, end) for _, sentence, start, end in moments]})
    return build.finish()


def didemo_video_id(build: RecordBuilder, line: int, name) -> str:
    """'x.mov', 'x.mp4' and 'x.' are one video, 'x'."""
    if not isinstance(name, str) or not name.strip(". "):
        raise build.error(line, f'"video" must be a file name, got {name!r}')
    return Path(name.rstrip(".")).stem


def _didemo_seconds(build: RecordBuilder, line: int, times, video_id: str) -> tuple[float, float]:
    if not isinstance(times, list) or not times or not all(isinstance(t, list) and len(t) == 2 for t in times):
        raise build.error(line, f"times must be a non-empty list of [first, last] segment pairs, got {times!r}",
                          video_id)
    for first, last in times:
        for index in (first, last):
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < DIDEMO_NUM_SEGMENTS:
                raise build.error(line, f"segment index {index!r} is not an integer in 0..{DIDEMO_NUM_SEGMENTS - 1}",
                                  video_id)
        if first > last:  # one annotator's reversed pair: handed on as start > end, which the builder drops
            return first * DIDEMO_SEGMENT_SECONDS, last * DIDEMO_SEGMENT_SECONDS
    start = sum(first for first, _ in times) / len(times) * DIDEMO_SEGMENT_SECONDS
    end = (sum(last for _, last in times) / len(times) + 1) * DIDEMO_SEGMENT_SECONDS
    return start, end


def read_lsmdc(path, *, video_root=None, on_missing: str = "keep", on_invalid: str = "drop") -> Annotations:
    """LSMDC tab-separated `clip_id, start, end, start, end, sentence`; clips sit in a per-movie folder.

    The times locate the clip in its movie (the clip file is already cut), so they go to `extra`.
    """
    build = RecordBuilder(path, "lsmdc", video_root=video_root, on_missing=on_missing, on_invalid=on_invalid)
    for line, raw in numbered_lines(path):
        cells = raw.split("\t")
        if len(cells) < 2:
            raise build.error(line, f"expected tab-separated clip_id ... sentence, got {raw!r}")
        clip_id = cells[0].strip()
        movie = clip_id.rsplit("_", 1)[0]
        sentence = "\t".join(cells[5:]) if len(cells) >= 6 else cells[-1]
        build.add(line=line, video_id=clip_id, caption=build.text(line, sentence),
                  subdirs=(movie,), extra={"movie": movie, "movie_times": [c.strip() for c in cells[1:5]]})
    return build.finish()
