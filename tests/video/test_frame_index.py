"""FrameIndex: the container's own account of every frame, and the decode plan built on it."""

import numpy as np
import pytest

from videotools import VFR_DURATIONS_MS

from vidclip.video.frame_index import scan


def test_index_matches_ffprobe(videos):
    video = videos["h264"]
    index = scan(video.path)
    np.testing.assert_allclose(index.seconds, video.truth.seconds, atol=1e-9)
    np.testing.assert_array_equal(index.keyframe, video.truth.keyframe)
    assert index.begin == 0 and index.end == pytest.approx(3.0) and index.fps == pytest.approx(24)


def test_variable_frame_rate_end_is_the_last_frame_end(videos):
    index = scan(videos["vfr"].path)
    assert index.end == pytest.approx(sum(VFR_DURATIONS_MS) / 1000)
    np.testing.assert_allclose(np.diff(index.seconds) * 1000, VFR_DURATIONS_MS[:-1])


def test_frames_at_is_the_frame_on_screen(videos):
    index = scan(videos["h264"].path)
    k = np.arange(10, 20)
    np.testing.assert_array_equal(index.frames_at(k / 24), k)  # exactly at a frame's start
    np.testing.assert_array_equal(index.frames_at(k / 24 - 1e-4), k - 1)  # just before it


def test_decode_runs_seek_only_across_keyframes(videos):
    index = scan(videos["long_gop"].path)  # keyframes at 0, 30, 60, 90
    # dense: one sequential run per GOP that holds wanted frames, never a seek inside a GOP
    assert [key for key, _ in index.decode_runs(np.arange(0, 120, 5))] == [0, 30, 60, 90]
    # sparse: frames 5 and 70 sit in different GOPs → two runs; 31 and 40 share GOP 30
    assert index.decode_runs(np.array([5, 31, 40, 70])) == [(0, [5]), (30, [31, 40]), (60, [70])]
    # a wanted frame followed by one in the next GOP: no keyframe strictly between? still a seek
    assert index.decode_runs(np.array([29, 30])) == [(0, [29]), (30, [30])]
