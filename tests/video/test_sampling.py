import numpy as np
import pytest
import torch

from vidclip.video.sampling import fps_times, jittered_times, uniform_times


def test_uniform_times_are_segment_centres():
    np.testing.assert_allclose(uniform_times(0.0, 3.0, 6), [0.25, 0.75, 1.25, 1.75, 2.25, 2.75])
    np.testing.assert_allclose(uniform_times(1.0, 2.0, 1), [1.5])


def test_jittered_times_stay_in_their_segment_and_follow_the_generator():
    times = jittered_times(0.0, 4.0, 4, torch.Generator().manual_seed(0))
    assert ((times >= np.arange(4)) & (times < np.arange(4) + 1)).all()
    again = jittered_times(0.0, 4.0, 4, torch.Generator().manual_seed(0))
    other = jittered_times(0.0, 4.0, 4, torch.Generator().manual_seed(1))
    np.testing.assert_array_equal(times, again)
    assert not np.allclose(times, other)


@pytest.mark.parametrize(
    "start, end, fps, expected",
    [
        (0.0, 3.0, 2.0, [0.25, 0.75, 1.25, 1.75, 2.25, 2.75]),
        (0.0, 10.5, 1.0, [k + 0.5 for k in range(10)]),  # the half slot at the end has no middle inside
        (0.5, 2.5, 1.0, [1.0, 2.0]),
        (0.0, 0.3, 1.0, [0.15]),  # shorter than a slot: one frame, in the middle
    ],
)
def test_fps_times_are_slot_middles(start, end, fps, expected):
    np.testing.assert_allclose(fps_times(start, end, fps), expected)


@pytest.mark.parametrize("call", [lambda: uniform_times(2.0, 1.0, 3), lambda: fps_times(1.0, 1.0, 2.0)])
def test_empty_window_is_rejected(call):
    with pytest.raises(ValueError, match="empty window"):
        call()


def test_bad_counts_and_rates_are_rejected():
    with pytest.raises(ValueError, match="num_frames must be >= 1"):
        uniform_times(0.0, 1.0, 0)
    with pytest.raises(ValueError, match="fps must be > 0"):
        fps_times(0.0, 1.0, 0.0)
