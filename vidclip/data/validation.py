"""Checks applied while annotation files load, so bad data fails early and points at its source.

Errors name ``file:line``; moments ending past their video are clipped (and counted) rather than
rejected, since real datasets round end times up; missing videos are listed, not fatal. Records
that cannot be valid (start > end, empty window, window past the video: a few lines of the real
Charades-STA and ActivityNet files) are dropped and counted by reason, as every peer does.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

# why a record was dropped (LoadReport.dropped keys)
START_AFTER_END = "start > end"
EMPTY_WINDOW = "zero-length window"
PAST_VIDEO = "window starts after the video ends"
VIDEO_MISSING = "video missing"


class InvalidMoment(ValueError):
    """A moment no clipping can repair; `kind` is one of the drop reasons above."""

    def __init__(self, kind: str, detail: str):
        self.kind = kind
        super().__init__(detail)


@dataclass
class LoadReport:
    """What loading one annotation file found: counts for a summary, lists for fixing the data."""

    path: str
    format: str
    num_records: int = 0
    num_videos: int = 0
    clipped: list[str] = field(default_factory=list)  # "file:line" of each moment clipped to its video
    missing_videos: list[str] = field(default_factory=list)  # expected paths of videos not found
    dropped: Counter = field(default_factory=Counter)  # reason -> records left out
    dropped_where: list[str] = field(default_factory=list)  # "file:line (video id): reason" of each

    @property
    def dropped_records(self) -> int:
        return sum(self.dropped.values())

    @property
    def num_clipped(self) -> int:
        return len(self.clipped)

    @property
    def num_missing(self) -> int:
        return len(self.missing_videos)

    @property
    def ok(self) -> bool:
        return not self.clipped and not self.missing_videos and not self.dropped

    def drop(self, where: str, reason: str) -> None:
        self.dropped[reason] += 1
        self.dropped_where.append(f"{where}: {reason}")

    def summary(self, max_listed: int = 5) -> str:
        by_reason = ", ".join(f"{count} {reason}" for reason, count in sorted(self.dropped.items()))
        lines = [
            f"{self.path} ({self.format}): {self.num_records} records, {self.num_videos} videos, "
            f"{self.num_clipped} moments clipped to the video's duration, {self.num_missing} videos missing"
            + (f", {self.dropped_records} records dropped ({by_reason})" if self.dropped else "")
        ]
        for title, items in (("dropped", self.dropped_where), ("clipped", self.clipped),
                             ("missing", self.missing_videos)):
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

    A negative start or an end past `duration` is clipped (the caller counts it); start > end, an
    empty window and one that begins at or after the video's end cannot be repaired: InvalidMoment.
    """
    if start > end:
        raise InvalidMoment(START_AFTER_END, f"start {start:g} > end {end:g}")
    if start == end:
        raise InvalidMoment(EMPTY_WINDOW, f"window [{start:g}, {end:g}] is empty")
    if duration is not None and start >= duration:
        raise InvalidMoment(PAST_VIDEO, f"window [{start:g}, {end:g}] starts after the video ends ({duration:g} s)")
    if end <= 0:
        raise InvalidMoment(EMPTY_WINDOW, f"window [{start:g}, {end:g}] ends before the video starts")
    clipped = False
    if start < 0:
        start, clipped = 0.0, True
    if duration is not None and end > duration:
        end, clipped = float(duration), True
    return start, end, clipped
