"""read_frames: which frame comes back, on every backend and every format."""

import numpy as np
import pytest
import torch
from videotools import VFR_DURATIONS_MS, frame_number

from vidclip.errors import VideoDecodeError
from vidclip.video import available_backends, read_frames

BACKENDS = ["pyav", "torchcodec", "decord"]
FORMATS = ["h264", "hevc", "vp9", "mpeg4", "yuv444_odd", "10bit", "rotated90", "rotated180", "rotated270",
           "vfr", "long_gop"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    if request.param not in available_backends():
        pytest.skip(f"backend {request.param} is not installed")
    return request.param


def probe_times(truth) -> np.ndarray:
    """Times that catch off-by-one errors: exact frame starts, just before them, mid-frame, last frame."""
    s = truth.seconds
    n = len(s)
    picks = sorted({0, 1, n // 3, n // 2, n - 1})
    return np.concatenate([s[picks], s[picks[1:]] - 1e-4, (s[:-1] + np.diff(s) / 2)[[0, n // 2]]])


def assert_same_frames(clip, truth, ids, tolerance):
    np.testing.assert_allclose(clip.timestamps.numpy(), truth.seconds[ids], rtol=0, atol=1e-9)
    assert clip.frames.dtype == torch.uint8 and tuple(clip.frames.shape[1:]) == truth.frames.shape[1:]
    got = clip.frames.numpy().astype(np.int16)
    want = truth.frames[ids].astype(np.int16)
    assert [frame_number(f) for f in got] == [frame_number(f) for f in want]
    assert np.abs(got - want).mean() <= tolerance


# decord links its own, older FFmpeg: its YUV->RGB conversion differs by a level or two.
TOLERANCE = {"pyav": 0.5, "torchcodec": 0.5, "decord": 3.0}


@pytest.mark.parametrize("name", FORMATS)
def test_exact_frames_match_ffmpeg_on_every_backend(videos, name, backend):
    if backend == "decord" and (name == "hevc" or name.startswith("rotated")):
        pytest.skip("decord gets these wrong: see test_decord_is_avoided_where_it_returns_wrong_frames")
    truth = videos[name].truth
    times = probe_times(truth)
    clip = read_frames(videos[name].path, timestamps=times, backend=backend)
    assert clip.backend == backend and len(clip) == len(times)
    assert_same_frames(clip, truth, [truth.at(t) for t in times], TOLERANCE[backend])


@pytest.mark.parametrize("name, reason", [("hevc", "open-GOP stream"), ("rotated90", "rotated stream")])
def test_decord_is_avoided_where_it_returns_wrong_frames(videos, name, reason):
    """x265's open GOPs make decord return frame 27 for frame 24, and its rotation code returns
    4-channel frames at 64x48; vidclip decodes those streams with pyav instead."""
    if "decord" not in available_backends():
        pytest.skip("decord is not installed")
    truth = videos[name].truth
    times = probe_times(truth)
    with pytest.warns(UserWarning, match=f"{reason} .* with pyav instead of decord"):
        clip = read_frames(videos[name].path, timestamps=times, backend="decord")
    assert clip.backend == "pyav"
    assert_same_frames(clip, truth, [truth.at(t) for t in times], TOLERANCE["pyav"])


@pytest.mark.parametrize("name", ["h264", "hevc", "vp9", "long_gop", "rotated90"])
def test_keyframe_mode_gives_the_keyframe_at_or_before_on_every_backend(videos, name, backend):
    if backend == "decord" and (name == "hevc" or name.startswith("rotated")):
        pytest.skip("decord gets these wrong: see test_decord_is_avoided_where_it_returns_wrong_frames")
    truth = videos[name].truth
    times = probe_times(truth)
    keys = np.flatnonzero(truth.keyframe)
    want = [int(keys[keys <= truth.at(t)].max()) for t in times]
    clip = read_frames(videos[name].path, timestamps=times, mode="keyframe", backend=backend)
    assert_same_frames(clip, truth, want, TOLERANCE[backend])


def test_backends_agree_on_uniform_and_fps_sampling(videos):
    path = videos["h264"].path
    for request in [dict(num_frames=7), dict(fps=5.0), dict(fps=2.0, start=0.3, end=2.2)]:
        clips = [read_frames(path, backend=name, **request) for name in available_backends()]
        for clip in clips[1:]:
            torch.testing.assert_close(clip.timestamps, clips[0].timestamps, rtol=0, atol=0)
            assert [frame_number(f) for f in clip.frames] == [frame_number(f) for f in clips[0].frames]


def test_the_frame_on_screen_is_returned(videos):
    path = videos["h264"].path  # 24 fps, frame k shows index_colour(k)
    clip = read_frames(path, timestamps=[0.0, 1 / 24 - 1e-4, 1 / 24, 1.5, 2.999])
    assert [frame_number(f) for f in clip.frames] == [0, 0, 1, 36, 71]
    np.testing.assert_allclose(clip.timestamps.numpy(), np.array([0, 0, 1, 36, 71]) / 24)
    assert clip.fps == pytest.approx(24) and clip.duration == pytest.approx(3.0)


def test_num_frames_takes_segment_centres(videos):
    clip = read_frames(videos["h264"].path, num_frames=6)  # centres 0.25, 0.75, ... of 3 s
    assert [frame_number(f) for f in clip.frames] == [6, 18, 30, 42, 54, 66]
    clip = read_frames(videos["h264"].path, num_frames=2, start=1.0, end=2.0)  # 1.25 s, 1.75 s
    assert [frame_number(f) for f in clip.frames] == [30, 42]


def test_jitter_samples_inside_each_segment_reproducibly(videos):
    path = videos["h264"].path
    numbers = [
        [frame_number(f) for f in read_frames(path, num_frames=4, jitter=True,
                                              generator=torch.Generator().manual_seed(seed)).frames]
        for seed in (0, 0, 1)
    ]
    assert numbers[0] == numbers[1] and numbers[0] != numbers[2]
    for i, k in enumerate(numbers[2]):  # segment i of 18 frames
        assert 18 * i <= k < 18 * (i + 1)


def test_fps_sampling_takes_slot_middles(videos):
    clip = read_frames(videos["h264"].path, fps=1.0, start=0.5, end=2.5)  # 1.0 s, 2.0 s
    assert [frame_number(f) for f in clip.frames] == [24, 48]
    assert len(read_frames(videos["long_gop"].path, fps=10).frames) == 40  # 4 s at 10 fps


def test_variable_frame_rate(videos):
    starts = np.concatenate([[0], np.cumsum(VFR_DURATIONS_MS)[:-1]]) / 1000
    mids = starts + np.array(VFR_DURATIONS_MS) / 2000
    clip = read_frames(videos["vfr"].path, timestamps=mids)
    assert [frame_number(f) for f in clip.frames] == list(range(len(VFR_DURATIONS_MS)))
    np.testing.assert_allclose(clip.timestamps.numpy(), starts)
    clip = read_frames(videos["vfr"].path, fps=10)  # 0.05, 0.15, ... s over 0.81 s
    assert [frame_number(f) for f in clip.frames] == [1, 2, 5, 5, 5, 8, 9, 11]


def test_rotated_video_comes_out_as_a_player_shows_it(videos, backend):
    if backend == "decord":
        pytest.skip("decord gets these wrong: see test_decord_is_avoided_where_it_returns_wrong_frames")
    for degrees, (height, width) in [(90, (64, 48)), (180, (48, 64)), (270, (64, 48))]:
        video = videos[f"rotated{degrees}"]
        clip = read_frames(video.path, timestamps=[0.0], backend=backend)
        assert tuple(clip.frames.shape) == (1, 3, height, width)
        white = clip.frames[0, 0].numpy() > 200  # the square stored in the top-left corner
        np.testing.assert_array_equal(white, video.truth.frames[0, 0] > 200)
    corner = read_frames(videos["rotated90"].path, timestamps=[0.0]).frames[0, 0]
    assert corner[-1, 0] > 200 and corner[0, 0] < 200  # 90° counter-clockwise: now bottom-left


def test_keyframe_mode_on_long_gop(videos):
    clip = read_frames(videos["long_gop"].path, timestamps=[0.5, 1.2, 1.99, 3.9], mode="keyframe")
    assert [frame_number(f) for f in clip.frames] == [0, 30, 30, 90]  # duplicates kept
    np.testing.assert_allclose(clip.timestamps.numpy(), [0.0, 1.0, 1.0, 3.0])


def test_stream_without_seek_index_and_late_start(videos):
    truth = videos["mpegts"].truth  # MPEG-TS: the clock starts at 1.4 s
    assert truth.seconds[0] == pytest.approx(1.4)
    times = probe_times(truth)
    for mode in ("exact", "keyframe"):
        clip = read_frames(videos["mpegts"].path, timestamps=times, mode=mode, backend="pyav")
        keys = np.flatnonzero(truth.keyframe)
        want = [truth.at(t) if mode == "exact" else int(keys[keys <= truth.at(t)].max()) for t in times]
        assert_same_frames(clip, truth, want, TOLERANCE["pyav"])
    clip = read_frames(videos["mpegts"].path, num_frames=2)  # the window defaults to the stream's own
    assert [frame_number(f) for f in clip.frames] == [12, 36]


def test_window_outside_the_video_is_an_error(videos):
    path = videos["h264"].path  # spans [0, 3] s
    with pytest.raises(VideoDecodeError, match=r"h264\.mp4.*window \[2, 10\] s is outside the video"):
        read_frames(path, num_frames=4, start=2.0, end=10.0)
    with pytest.raises(VideoDecodeError, match="outside the video"):
        read_frames(path, fps=1.0, start=-1.0)
    with pytest.raises(VideoDecodeError, match="timestamps .* outside the video"):
        read_frames(path, timestamps=[1.0, 7.5])
    with pytest.raises(VideoDecodeError, match="empty window"):
        read_frames(path, num_frames=4, start=2.0, end=1.0)
    # overshooting by less than a frame (rounding in annotations) is tolerated
    assert frame_number(read_frames(path, timestamps=[3.02]).frames[0]) == 71


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(), "exactly one of num_frames=, fps= or timestamps="),
        (dict(num_frames=4, fps=2.0), "exactly one of"),
        (dict(num_frames=4, mode="fast"), "mode must be one of"),
        (dict(fps=2.0, jitter=True), "jitter=True applies to num_frames"),
        (dict(timestamps=[1.0], start=0.5), "start= and end= apply to"),
        (dict(num_frames=4, backend="opencv"), "unknown backend 'opencv'"),
    ],
)
def test_bad_requests(videos, kwargs, message):
    with pytest.raises(ValueError, match=message):
        read_frames(videos["h264"].path, **kwargs)


@pytest.mark.parametrize("threads", [2, 3])
def test_runs_split_between_threads_give_the_frames_of_one_thread(videos, threads, monkeypatch):
    """VP9's keyframe runs decode on several threads (`pyav._run_threads`): the same frames, bit for bit."""
    from vidclip.video.backends import pyav

    path = videos["vp9"].path
    every_frame = dict(fps=videos["vp9"].rate)
    monkeypatch.setattr(pyav, "_run_threads", lambda index, runs: 1)
    one = read_frames(path, backend="pyav", **every_frame)
    used = []
    monkeypatch.setattr(pyav, "_run_threads", lambda index, runs: used.append(runs) or threads)
    split = read_frames(path, backend="pyav", **every_frame)
    assert used and used[0] >= threads  # several runs (a 12-frame GOP), each thread gets some
    assert torch.equal(split.frames, one.frames) and len(one) == videos["vp9"].count
    np.testing.assert_array_equal(split.timestamps.numpy(), one.timestamps.numpy())
