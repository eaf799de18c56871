"""Checks of a recipe's data sets before a training of hours: what `vidclip data check` prints and
what `vidclip train` runs up front, so an empty set stops a run in seconds, not after an epoch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from vidclip.data.recipe import load_spec, recipe_sets
from vidclip.errors import VidclipError

logger = logging.getLogger("vidclip.data")

OK, PARTIAL, BAD_INPUT = 0, 1, 2  # the CLI's exit codes


@dataclass
class SetCheck:
    """One data set of a recipe: its load report, or why it did not load, and a sample decoded."""

    where: str  # the config field, e.g. "eval.sets[1]"
    annotations: object = None  # Annotations, None when loading failed
    error: Exception | None = None  # why the set did not load (re-raised by `vidclip train`)
    sampled: list[str] = field(default_factory=list)  # video paths tried
    undecodable: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    @property
    def empty(self) -> bool:
        return self.annotations is not None and len(self.annotations) == 0

    @property
    def status(self) -> int:
        """2: unusable (failed to load, or empty); 1: usable, with records dropped, videos missing or undecodable."""
        if self.error is not None or self.empty:
            return BAD_INPUT
        report = self.annotations.report
        return PARTIAL if report.dropped or report.missing_videos or self.undecodable else OK

    def summary(self, max_listed: int = 3) -> str:
        if self.error is not None:
            return f"{self.where}: error: {self.error}"
        annotations, report = self.annotations, self.annotations.report
        classes = f", {len(annotations.classes)} classes" if annotations.classes is not None else ""
        lines = [f"{self.where}: {report.path} ({report.format})",
                 f"  {len(annotations)} records, {len(annotations.video_ids())} videos{classes}"
                 + ("  <- empty: nothing to train or evaluate on" if self.empty else "")]
        dropped = ", ".join(f"{count} {reason}" for reason, count in sorted(report.dropped.items()))
        lines.append(f"  dropped {report.dropped_records}" + (f" ({dropped})" if dropped else ""))
        lines += [f"    {where}" for where in report.dropped_where[:max_listed]]
        lines.append(f"  clipped {report.num_clipped} moments to their video's duration")
        lines.append(f"  missing {report.num_missing} videos")
        lines += [f"    {path}" for path in report.missing_videos[:max_listed]]
        if self.sampled:
            lines.append(f"  decoded {len(self.sampled) - len(self.undecodable)} of {len(self.sampled)} sampled videos")
            lines += [f"    {path}: {reason}" for path, reason in self.undecodable[:max_listed]]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        if self.error is not None:
            return {"set": self.where, "error": str(self.error), "status": self.status}
        annotations, report = self.annotations, self.annotations.report
        return {"set": self.where, "path": report.path, "format": report.format, "records": len(annotations),
                "videos": len(annotations.video_ids()),
                "classes": len(annotations.classes) if annotations.classes is not None else None,
                "dropped": dict(report.dropped), "dropped_where": report.dropped_where,
                "clipped": report.num_clipped, "missing_videos": report.missing_videos,
                "sampled": self.sampled, "undecodable": [list(item) for item in self.undecodable],
                "status": self.status}


def check_set(where: str, spec, *, sample: int = 5, decode=None) -> SetCheck:
    """Load one set as training would and decode up to `sample` of its videos (spread over the set)."""
    try:
        annotations = load_spec(spec, where)
    except (VidclipError, FileNotFoundError) as error:
        return SetCheck(where, error=error)
    check = SetCheck(where, annotations)
    missing = set(annotations.report.missing_videos)
    videos = [path for path in dict.fromkeys(str(record.video) for record in annotations) if path not in missing]
    check.sampled = videos[::max(1, len(videos) // sample)][:sample] if sample > 0 else []
    decode = decode or _decode_one_frame
    for path in check.sampled:
        try:
            decode(path)
        except VidclipError as error:
            check.undecodable.append((path, getattr(error, "reason", str(error))))
    return check


def check_recipe(config, *, sample: int = 5, decode=None) -> list[SetCheck]:
    """Every set of a recipe (data.train, data.val, eval.sets), checked."""
    return [check_set(where, spec, sample=sample, decode=decode) for where, spec in recipe_sets(config)]


def _decode_one_frame(path: str) -> None:
    from vidclip.video import read_frames

    read_frames(path, num_frames=1)
