"""`vidclip prepare`: short-GOP small copies, names kept, failures listed, exit code 1."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from videotools import frame_number

from vidclip.cli import main
from vidclip.video import read_frames
from vidclip.video.frame_index import scan
from vidclip.video.files import find_videos
from vidclip.video.prepare import transcode


@pytest.fixture
def source_tree(tmp_path, videos, bad_files):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    shutil.copy(videos["long_gop"].path, src / "a.mp4")  # 4 s, one keyframe per second
    shutil.copy(videos["rotated90"].path, src / "sub" / "b.MOV")
    shutil.copy(videos["vp9"].path, src / "sub" / "c.webm")
    shutil.copy(bad_files["text"][0], src / "broken.mp4")
    (src / "notes.txt").write_text("not a video")
    return src


def test_prepare_transcodes_keeps_names_and_lists_failures(source_tree, tmp_path, capsys):
    dst = tmp_path / "dst"
    code = main(["prepare", str(source_tree), str(dst), "--size", "32", "--gop", "0.5", "--workers", "2", "--json"])
    assert code == 1  # one file failed
    summary = json.loads(capsys.readouterr().out)
    assert sorted(summary["failed"]) == [str(source_tree / "broken.mp4")]
    assert len(summary["converted"]) == 3
    assert sorted(p.relative_to(dst).as_posix() for p in map(Path, find_videos(dst))) == ["a.mp4", "sub/b.mp4", "sub/c.mp4"]

    a = scan(dst / "a.mp4")
    assert a.codec == "h264" and a.duration == pytest.approx(4.0, abs=0.05)
    keys = a.seconds[a.keyframe]
    assert np.diff(keys).max() <= 0.5 + 1e-6  # a keyframe at least every --gop seconds
    clip = read_frames(dst / "a.mp4", timestamps=[0.0, 2.0, 3.9])
    assert tuple(clip.frames.shape[-2:]) == (32, 42)  # 48x64 → short side 32, even width
    assert [frame_number(f) for f in clip.frames] == [0, 60, 117]  # the same frames, shrunk

    b = read_frames(dst / "sub" / "b.mp4", timestamps=[0.0])
    assert tuple(b.frames.shape[-2:]) == (42, 32)  # rotation applied: portrait now
    assert scan(dst / "sub" / "b.mp4").rotation == 0


def test_prepare_resumes_and_exits_zero_when_all_succeed(source_tree, tmp_path, capsys):
    (source_tree / "broken.mp4").unlink()
    dst = tmp_path / "dst"
    assert main(["prepare", str(source_tree), str(dst), "--size", "32"]) == 0
    assert "3 converted, 0 already there, 0 failed" in capsys.readouterr().out
    assert main(["prepare", str(source_tree), str(dst), "--size", "32"]) == 0
    assert "0 converted, 3 already there, 0 failed" in capsys.readouterr().out


def test_pyav_fallback_without_the_ffmpeg_cli(videos, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    out = tmp_path / "r.mp4"
    transcode(videos["rotated90"].path, out, size=32, gop_seconds=0.5)
    index = scan(out)
    assert len(index) == 24 and np.flatnonzero(index.keyframe).tolist() == [0, 12]
    clip = read_frames(out, timestamps=[0.5])
    assert tuple(clip.frames.shape[-2:]) == (42, 32)
    assert frame_number(clip.frames[0]) == 12
    white = clip.frames[0, 0] > 200  # the top-left square, rotated 90° counter-clockwise: bottom-left
    assert white[-1, 0] and not white[0, 0]


def test_help_shows_examples(capsys):
    with pytest.raises(SystemExit):
        main(["prepare", "--help"])
    assert "vidclip prepare data/msrvtt/videos" in capsys.readouterr().out
