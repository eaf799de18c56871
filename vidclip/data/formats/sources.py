"""Reading annotation files with line numbers kept, so every error can say ``file:line``."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

from vidclip.errors import AnnotationError

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def read_text(path) -> str:
    """The file's text (a BOM dropped); a missing file is an AnnotationError naming it (one line at the CLI)."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise AnnotationError(path, None, "file not found") from None
    except UnicodeDecodeError as error:
        raise AnnotationError(path, None, f"not UTF-8 text ({error.reason} at byte {error.start})") from None


def numbered_lines(path) -> Iterator[tuple[int, str]]:
    """(line number, stripped line) for each non-blank line."""
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if line.strip():
            yield number, line.strip()


def csv_rows(path, required: tuple[str, ...], delimiter: str = ",") -> Iterator[tuple[int, dict]]:
    """(line number, row dict) of a CSV with a header that must hold the `required` columns."""
    lines = read_text(path).splitlines(keepends=True)
    reader = csv.DictReader(lines, delimiter=delimiter)
    header = reader.fieldnames or []
    missing = [name for name in required if name not in header]
    if missing:
        raise AnnotationError(path, 1, f"CSV header {header} lacks column(s) {missing}")
    for row in reader:
        if None in row:  # more cells than header columns
            cells = len(header) + len(row[None])
            raise AnnotationError(path, reader.line_num, f"{cells} cells, the header has {len(header)}")
        if all(not (value or "").strip() for value in row.values()):
            continue
        yield reader.line_num, row


def load_json(path) -> tuple[str, object]:
    """The file's text and parsed value; a syntax error names its line."""
    text = read_text(path)
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as error:
        raise AnnotationError(path, error.lineno, f"invalid JSON: {error.msg}") from None


def json_entries(text: str, position: int = 0) -> Iterator[tuple[object, object, int, int]]:
    """(key or index, value, line, value position) of the JSON container starting at `position`.

    Lets readers report the line of a bad entry, which `json.loads` forgets. Decodes each entry
    once more, so use it on text that `load_json` already accepted.
    """
    counter = _LineCounter(text)
    position = _WHITESPACE.match(text, position).end()
    opening = text[position]
    closing = {"{": "}", "[": "]"}[opening]
    position += 1
    index = 0
    while True:
        position = _WHITESPACE.match(text, position).end()
        if text[position] == closing:
            return
        if text[position] == ",":
            position = _WHITESPACE.match(text, position + 1).end()
        if opening == "{":
            key, position = _DECODER.raw_decode(text, position)
            position = _WHITESPACE.match(text, position).end() + 1  # skip ':'
            position = _WHITESPACE.match(text, position).end()
        else:
            key = index
        value, end = _DECODER.raw_decode(text, position)
        yield key, value, counter.line_at(position), position
        position, index = end, index + 1


class _LineCounter:
    """Line numbers of increasing positions in O(text) total."""

    def __init__(self, text: str):
        self.text, self.position, self.line = text, 0, 1

    def line_at(self, position: int) -> int:
        if position < self.position:
            self.position, self.line = 0, 1
        self.line += self.text.count("\n", self.position, position)
        self.position = position
        return self.line


def json_line(path, line: int, text: str) -> dict:
    """One jsonl line, which must be an object."""
    try:
        entry = json.loads(text)
    except json.JSONDecodeError as error:
        raise AnnotationError(path, line, f"invalid JSON: {error.msg} (column {error.colno})") from None
    if not isinstance(entry, dict):
        raise AnnotationError(path, line, f"each line must be a JSON object, got {type(entry).__name__}")
    return entry
