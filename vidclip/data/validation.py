"""Checks applied while annotation files load, so bad data fails early and points at its source.

Errors name ``file:line``; moments ending past their video are clipped (and counted) rather than
rejected, since real datasets round end times up; missing videos are listed, not fatal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from vidclip.errors import AnnotationError


@dataclass
class LoadReport:
    """What loading one annotation file found: counts for a summary, lists for fixing the data."""

    path: str
    format: str
    num_records: int = 0
    num_videos: int = 0
    clipped: list[str] = field(default_factory=list)  # "file:line" of each moment clipped to its video
    missing_videos: list[str] = field(default_factory=list)  # expected paths of videos not found
    dropped_records: int = 0  # records left out because their video is missing (on_missing="drop")

    @property
    def num_clipped(self) -> int:
        return len(self.clipped)

    @property
    def num_missing(self) -> int:
        return len(self.missing_videos)

    @property
    def ok(self) -> bool:
        return not self.clipped and not self.missing_videos

    def summary(self, max_listed: int = 5) -> str:
        lines = [
            f"{self.path} ({self.format}): {self.num_records} records, {self.num_videos} videos, "
            f"{self.num_clipped} moments clipped to the video's duration, {self.num_missing} videos missing"
            + (f" ({self.dropped_records} records dropped)" if self.dropped_records else "")
        ]
        for title, items in (("clipped", self.clipped), ("missing", self.missing_videos)):
            for item in items[:max_listed]:
                lines.append(f"  {title}: {item}")
            if len(items) > max_listed:
                lines.append(f"  ... and {len(items) - max_listed} more {title}")
        return "\n".join(lines)

    __str__ = summary


def to_seconds(value, what: str) -> float:
    """A finite float from a JSON number or a text field; ValueError (with `what`) otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number of seconds, got {value!r}")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number of seconds, got {value!r}") from None
    if not math.isfinite(seconds):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return seconds


def check_moment(start: float, end: float, duration: float | None) -> tuple[float, float, bool]:
    """Validate a [start, end] moment against its video; returns (start, end, clipped).

    start > end is an error; a negative start or an end past `duration` is clipped (the caller
    counts it); a moment that begins after the video ends cannot be repaired and is an error.
    """
    if start > end:
        raise ValueError(f"start {start:g} > end {end:g}")
    clipped = False
    if start < 0:
        start, clipped = 0.0, True
    if duration is not None and end > duration:
        if start > duration:
            raise ValueError(f"moment [{start:g}, {end:g}] starts after the video ends ({duration:g} s)")
        end, clipped = float(duration), True
    return start, end, clipped
