"""Turns parsed annotation entries into validated records: the step every reader shares."""

from __future__ import annotations

import logging
from pathlib import Path

from vidclip.data.formats.paths import VIDEO_EXTENSIONS, VideoResolver
from vidclip.data.formats.records import Annotations, Record
from vidclip.errors import AnnotationError
from vidclip.data.validation import LoadReport, check_moment, to_seconds

logger = logging.getLogger("vidclip.data")

ON_MISSING = ("keep", "drop")


class RecordBuilder:
    """Collects one file's records: resolves videos, checks and clips moments, fills the report.

    `video_root` defaults to the annotation file's folder. Missing videos are listed in the report
    and, with ``on_missing="drop"``, their records left out (evaluation on a partial download).
    """

    def __init__(self, path, format: str, *, video_root=None, on_missing: str = "keep",
                 extensions: tuple[str, ...] = VIDEO_EXTENSIONS, subdirs: tuple[str, ...] = ()):
        if on_missing not in ON_MISSING:
            raise ValueError(f"on_missing must be one of {ON_MISSING}, got {on_missing!r}")
        self.path = Path(path)
        self.on_missing = on_missing
        self.subdirs = tuple(subdirs)
        self.resolver = VideoResolver(self.path.parent if video_root is None else video_root, extensions)
        self.report = LoadReport(str(path), format)
        self.records: list[Record] = []
        self._videos: dict[tuple, tuple[Path, bool]] = {}

    def error(self, line: int | None, reason: str) -> AnnotationError:
        return AnnotationError(self.path, line, reason)

    def seconds(self, line: int | None, value, what: str) -> float:
        try:
            return to_seconds(value, what)
        except ValueError as error:
            raise self.error(line, str(error)) from None

    def text(self, line: int | None, value, what: str = "caption") -> str:
        """Caption text, stripped (ActivityNet sentences start with a space); empty is an error."""
        if not isinstance(value, str) or not value.strip():
            raise self.error(line, f"{what} must be non-empty text, got {value!r}")
        return " ".join(value.split())

    def moment(self, line: int | None, start, end, duration: float | None) -> tuple[float | None, float | None]:
        """Checked (start, end) in seconds; clipping to `duration` is counted in the report."""
        if start is None and end is None:
            return None, None
        if start is None or end is None:
            raise self.error(line, f"a moment needs both start and end, got start={start!r} end={end!r}")
        start, end = self.seconds(line, start, "start"), self.seconds(line, end, "end")
        try:
            start, end, clipped = check_moment(start, end, duration)
        except ValueError as error:
            raise self.error(line, str(error)) from None
        if clipped:
            self.report.clipped.append(f"{self.path}:{line}")
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
        """Validate and keep one record; `names` are the file names to try (default: the id)."""
        if not isinstance(video_id, str) or not video_id.strip():
            raise self.error(line, f"video id must be non-empty text, got {video_id!r}")
        if duration is not None:
            duration = self.seconds(line, duration, "duration")
            if duration <= 0:
                raise self.error(line, f"duration must be positive, got {duration:g}")
        start, end = self.moment(line, start, end, duration)
        path, found = self.video(names or [video_id], subdirs)
        if not found and self.on_missing == "drop":
            self.report.dropped_records += 1
            return None
        record = Record(video=path, video_id=video_id, caption=caption, start=start, end=end,
                        duration=duration, label=label, source=f"{self.path}:{line or 0}",
                        extra=extra or {})
        self.records.append(record)
        return record

    def finish(self, classes: list[str] | None = None) -> Annotations:
        self.report.num_records = len(self.records)
        self.report.num_videos = len(self._videos)
        if not self.report.ok:
            logger.warning("%s", self.report.summary())
        return Annotations(self.records, self.report, classes)
