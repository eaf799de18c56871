"""The records every annotation reader produces and every dataset consumes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidclip.data.validation import LoadReport


@dataclass(frozen=True)
class Record:
    """One video-text pair: a caption (retrieval), a query with its moment, or an action label.

    `start`/`end` are seconds inside the video file (None: the whole video); `video` is resolved
    against the video root (the expected path when the file is missing, see the load report);
    `source` is the ``file:line`` it came from; `extra` keeps format-specific fields.
    """

    video: Path
    video_id: str
    caption: str
    start: float | None = None
    end: float | None = None
    duration: float | None = None
    label: int | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def has_moment(self) -> bool:
        return self.start is not None and self.end is not None


@dataclass
class Annotations(Sequence):
    """The records of one annotation file, its load report and, for actions, the class names."""

    records: list[Record]
    report: LoadReport
    classes: list[str] | None = None  # action class names; Record.label indexes this list

    @property
    def format(self) -> str:
        return self.report.format

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index):
        return self.records[index]

    def __iter__(self):
        return iter(self.records)

    def video_ids(self) -> list[str]:
        """Unique video ids in first-seen order (retrieval evaluates per video)."""
        return list(dict.fromkeys(record.video_id for record in self.records))
