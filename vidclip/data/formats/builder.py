"""Turns parsed annotation entries into validated records: the step every reader shares."""

from __future__ import annotations

import logging
from pathlib import Path

from vidclip.data.formats.paths import VIDEO_EXTENSIONS, VideoResolver
from vidclip.data.formats.records import Annotations, Record
from vidclip.data.validation import VIDEO_MISSING, InvalidMoment, LoadReport, check_moment, to_seconds
from vidclip.errors import AnnotationError, locate

logger = logging.getLogger("vidclip.data")

ON_MISSING = ("keep", "drop")
ON_INVALID = ("drop", "error")


class RecordBuilder:
    """Collects one file's records: resolves videos, checks and clips moments, fills the report.

    `video_root` defaults to the annotation file's folder. Missing videos are listed in the report
    and, with ``on_missing="drop"``, their records left out (evaluation on a partial download).
    Records that cannot be valid (start > end, empty window, window past the video) are dropped
    and counted by reason (``on_invalid="drop"``, what peers do) or stop the load ("error").
    Readers of one-line JSON files set `lines = False`: the video id then locates an entry.
    """

    def __init__(self, path, format: str, *, video_root=None, on_missing: str = "keep", on_invalid: str = "drop",
                 extensions: tuple[str, ...] = VIDEO_EXTENSIONS, subdirs: tuple[str, ...] = ()):
        if on_missing not in ON_MISSING:
            raise ValueError(f"on_missing must be one of {ON_MISSING}, got {on_missing!r}")
        if on_invalid not in ON_INVALID:
            raise ValueError(f"on_invalid must be one of {ON_INVALID}, got {on_invalid!r}")
        self.path = Path(path)
        self.on_missing, self.on_invalid = on_missing, on_invalid
        self.lines = True
        self.subdirs = tuple(subdirs)
        self.resolver = VideoResolver(self.path.parent if video_root is None else video_root, extensions)
        self.report = LoadReport(str(path), format)
        self.records: list[Record] = []
        self._videos: dict[tuple, tuple[Path, bool]] = {}

    def error(self, line: int | None, reason: str, video_id: str | None = None) -> AnnotationError:
        return AnnotationError(self.path, line if self.lines else None, reason, video_id)

    def seconds(self, line: int | None, value, what: str, video_id: str | None = None) -> float:
        try:
            return to_seconds(value, what)
        except ValueError as error:
            raise self.error(line, str(error), video_id) from None

    def text(self, line: int | None, value, what: str = "caption", video_id: str | None = None) -> str:
        """Caption text, stripped (ActivityNet sentences start with a space); empty is an error."""
        if not isinstance(value, str) or not value.strip():
            raise self.error(line, f"{what} must be non-empty text, got {value!r}", video_id)
        return " ".join(value.split())

    def drop(self, line: int | None, video_id: str | None, reason: str) -> None:
        self.report.drop(locate(self.path, line if self.lines else None, video_id), reason)

    def invalid(self, line: int | None, video_id: str | None, invalid: InvalidMoment) -> None:
        """A record that cannot be valid: dropped and counted, or (on_invalid="error") an error."""
        if self.on_invalid == "error":
            raise self.error(line, f"{invalid} (on_invalid='drop' leaves such records out)", video_id) from None
        self.drop(line, video_id, invalid.kind)

    def moment(self, line: int | None, start, end, duration: float | None,
               video_id: str | None = None) -> tuple[float | None, float | None] | None:
        """Checked (start, end) in seconds, clipping counted; None when the moment was dropped."""
        if start is None and end is None:
            return None, None
        if start is None or end is None:
            raise self.error(line, f"a moment needs both start and end, got start={start!r} end={end!r}", video_id)
        start, end = self.seconds(line, start, "start", video_id), self.seconds(line, end, "end", video_id)
        try:
            start, end, clipped = check_moment(start, end, duration)
        except InvalidMoment as invalid:
            self.invalid(line, video_id, invalid)
            return None
        if clipped:
            self.report.clipped.append(locate(self.path, line if self.lines else None, video_id))
        return start, end

    def video(self, names, subdirs=()) -> tuple[Path, bool]:
        key = (tuple(names), tuple(subdirs))
        if key not in self._videos:
            found = self.resolver.resolve(names, tuple(subdirs) + self.subdirs)
            self._videos[key] = found
            if not found[1]:
                self.report.missing_videos.append(str(found[0]))
        return self._videos[key]

    def add(self, *, line: int | None, video_id: str, caption: str, start=None, end=None,
            duration: float | None = None, label: int | None = None, names=None, subdirs=(),
            extra: dict | None = None) -> Record | None:
        """Validate and keep one record (None: dropped); `names` are the file names to try (default: the id)."""
        if not isinstance(video_id, str) or not video_id.strip():
            raise self.error(line, f"video id must be non-empty text, got {video_id!r}")
        if duration is not None:
            duration = self.seconds(line, duration, "duration", video_id)
            if duration <= 0:
                raise self.error(line, f"duration must be positive, got {duration:g}", video_id)
        moment = self.moment(line, start, end, duration, video_id)
        if moment is None:
            return None
        path, found = self.video(names or [video_id], subdirs)
        if not found and self.on_missing == "drop":
            self.drop(line, video_id, VIDEO_MISSING)
            return None
        record = Record(video=path, video_id=video_id, caption=caption, start=moment[0], end=moment[1],
                        duration=duration, label=label, source=f"{self.path}:{line or 0}",
                        extra=extra or {})
        self.records.append(record)
        return record

    def finish(self, classes: list[str] | None = None) -> Annotations:
        self.report.num_records = len(self.records)
        self.report.num_videos = len({record.video for record in self.records})
        if not self.report.ok:
            logger.warning("%s", self.report.summary())
        return Annotations(self.records, self.report, classes)
