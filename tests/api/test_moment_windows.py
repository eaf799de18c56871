import numpy as np

from vidclip.moments.windows import (contrast_scores, merged_runs, rank_windows, sample_edges, sliding_windows,
                                    temporal_nms)


def _curve(n=120, seed=0):
    return 0.1 + 0.005 * np.random.default_rng(seed).standard_normal(n)


def test_plateau_is_found_exactly_though_no_sliding_window_fits_it():
    curve = _curve()
    curve[30:50] += 0.2  # a 20 s moment; sliding windows are 2, 4, 8, 16, 32, 64 s
    timestamps = np.arange(120) + 0.5
    best = rank_windows(curve, timestamps, 120.0, top_k=1)
    assert best[0][:2] == (30.0, 50.0)


def test_two_moments_ranked_by_contrast_and_nms_removes_overlaps():
    curve = _curve()
    curve[10:18] += 0.3
    curve[70:100] += 0.15
    found = rank_windows(curve, np.arange(120) + 0.5, 120.0, top_k=3, iou_threshold=0.3)
    assert found[0][:2] == (10.0, 18.0)
    assert found[1][:2] == (70.0, 100.0)
    assert found[0][2] > found[1][2] > found[2][2]
    windows = np.array([w[:2] for w in found])
    for i in range(len(windows)):
        for j in range(i + 1, len(windows)):
            inter = max(0, min(windows[i, 1], windows[j, 1]) - max(windows[i, 0], windows[j, 0]))
            union = np.ptp(windows[i]) + np.ptp(windows[j]) - inter
            assert inter / union <= 0.3


def test_merged_runs_bridge_single_sample_gaps():
    curve = np.zeros(20)
    curve[5:8] = 1
    curve[9:12] = 1  # one-sample dip at 8
    curve[15] = 1
    runs = {tuple(run) for run in merged_runs(curve, levels=(0.5,), max_gap=1)}
    assert runs == {(5, 12), (15, 16)}


def test_sliding_windows_cover_the_end():
    windows = sliding_windows(10, [4], stride_fraction=0.5)
    assert windows.tolist() == [[0, 4], [2, 6], [4, 8], [6, 10]]


def test_contrast_prefers_the_exact_plateau_over_its_parts_and_wholes():
    curve = np.zeros(40)
    curve[10:20] = 1
    windows = np.array([[10, 20], [12, 18], [5, 25], [10, 15]])
    assert np.argmax(contrast_scores(curve, windows)) == 0


def test_nms_keeps_best_and_drops_overlaps():
    windows = np.array([[0, 10], [1, 11], [20, 30], [0, 5]], dtype=float)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert temporal_nms(windows, scores, iou_threshold=0.5, top_k=5) == [0, 2, 3]
    assert temporal_nms(windows, scores, iou_threshold=0.5, top_k=2) == [0, 2]


def test_edges_use_midpoints_and_the_duration():
    assert sample_edges(np.array([0.5, 1.5, 2.5]), 3.0).tolist() == [0.0, 1.0, 2.0, 3.0]
