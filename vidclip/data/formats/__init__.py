"""Readers for the annotation files of video-text datasets, all producing validated `Record`s.

Start with `load_annotations(path)`; the per-format readers take format-specific options.
"""

from vidclip.data.formats.actions import (ACTION_TEMPLATES, DEFAULT_TEMPLATE, class_name_to_text, class_prompts,
                                          read_class_index, read_hmdb51, read_kinetics, read_ucf101)
from vidclip.data.formats.detect import detect_format, load_annotations
from vidclip.data.formats.highlights import read_tvsum, read_tvsum_info
from vidclip.data.formats.jsonl import read_jsonl
from vidclip.data.formats.moments import (read_charades_durations, read_charades_sta, read_moment_json,
                                          read_qvhighlights)
from vidclip.data.formats.paths import VIDEO_EXTENSIONS, VideoResolver
from vidclip.data.formats.records import Annotations, Record
from vidclip.data.formats.retrieval import (read_didemo, read_lsmdc, read_msrvtt, read_msrvtt_jsfusion,
                                            read_msrvtt_split, read_msvd)
from vidclip.data.formats.youtube_highlights import read_youtube_highlights
from vidclip.errors import AnnotationError
from vidclip.data.validation import LoadReport

__all__ = [
    "ACTION_TEMPLATES", "DEFAULT_TEMPLATE", "VIDEO_EXTENSIONS", "AnnotationError", "Annotations",
    "LoadReport", "Record", "VideoResolver", "class_name_to_text", "class_prompts", "detect_format",
    "load_annotations", "read_charades_durations", "read_charades_sta", "read_class_index", "read_didemo",
    "read_hmdb51", "read_jsonl", "read_kinetics", "read_lsmdc", "read_moment_json", "read_msrvtt",
    "read_msrvtt_jsfusion", "read_msrvtt_split", "read_msvd", "read_qvhighlights", "read_tvsum",
    "read_tvsum_info", "read_ucf101", "read_youtube_highlights",
]
