"""vidclip.eval.metrics against hand-computed cases and plain-loop references written here."""

import statistics

import numpy as np
import pytest
import torch

from vidclip.eval import metrics
from vidclip.eval.metrics import (classification_metrics, highlight_metrics, lower_median, moment_metrics,
                                  retrieval_metrics, saliency_labels, temporal_iou, tvsum_highlight_metrics,
                                  youtube_highlight_metrics)

# ----------------------------------------------------------------------------- references


def ref_retrieval(sim, t2v, pessimistic=True, by_video=True):
    """Loops: rank = 1 + wrong items at least as good (pessimistic) / strictly better.

    v2t by video (CLIP4Clip's `tensor_video_to_text_sim`): each rival video offers its best caption.
    """
    sim = np.asarray(sim, dtype=np.float64)
    n_text, n_video = sim.shape
    better = (lambda a, b: a >= b) if pessimistic else (lambda a, b: a > b)
    t_ranks = []
    for i in range(n_text):
        own = sim[i][t2v[i]]
        t_ranks.append(1 + sum(better(sim[i][j], own) for j in range(n_video) if j != t2v[i]))
    v_ranks = []
    for j in range(n_video):
        captions = [i for i in range(n_text) if t2v[i] == j]
        if not captions:
            continue
        # rank of each caption among all texts; the video takes its best caption's rank, where
        # the video's own captions never count against it
        own = max(sim[i][j] for i in captions)
        if by_video:
            rivals = [max(sim[k][j] for k in range(n_text) if t2v[k] == v) for v in set(t2v) if v != j]
        else:
            rivals = [sim[k][j] for k in range(n_text) if t2v[k] != j]
        v_ranks.append(1 + sum(better(r, own) for r in rivals))
    out = {}
    for name, ranks in (("t2v", t_ranks), ("v2t", v_ranks)):
        for k in (1, 5, 10):
            out[f"{name}_R{k}"] = 100.0 * sum(r <= k for r in ranks) / len(ranks)
        out[f"{name}_MedR"] = float(statistics.median(ranks))
        out[f"{name}_MnR"] = sum(ranks) / len(ranks)
    return out


def ref_iou(a, b):
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def ref_ap(pred, gt, thr):
    """QVHighlights AP written the way the official script reads: VOC 2011 interpolation."""
    pred = sorted(pred, key=lambda p: -p[2])[:10]
    if not pred:
        return 0.0
    locked = [False] * len(gt)
    tp, fp = [], []
    for p in pred:
        ious = [ref_iou(p, g) for g in gt]
        order = sorted(range(len(gt)), key=lambda g: -ious[g])
        hit = False
        for g in order:
            if ious[g] < thr:
                break
            if locked[g]:
                continue
            locked[g] = hit = True
            break
        tp.append(1 if hit else 0)
        fp.append(0 if hit else 1)
    prec, rec, ctp, cfp = [], [], 0, 0
    for a, b in zip(tp, fp):
        ctp, cfp = ctp + a, cfp + b
        prec.append(ctp / (ctp + cfp))
        rec.append(ctp / len(gt))
    mprec = [0.0] + prec + [0.0]
    mrec = [0.0] + rec + [1.0]
    for i in range(len(mprec) - 2, -1, -1):
        mprec[i] = max(mprec[i], mprec[i + 1])
    return sum((mrec[i] - mrec[i - 1]) * mprec[i] for i in range(1, len(mrec)) if mrec[i] != mrec[i - 1])


def ref_moments(preds, gts):
    thr_map = [round(0.5 + 0.05 * i, 2) for i in range(10)]
    out = {f"R{n}@{t}": 0.0 for n in (1, 5) for t in (0.3, 0.5, 0.7)}
    out["mIoU"] = 0.0
    aps = {t: 0.0 for t in thr_map}
    for pred, gt in zip(preds, gts):
        ranked = sorted(pred, key=lambda p: -p[2])
        best = [max(ref_iou(p, g) for g in gt) for p in ranked]
        for t in (0.3, 0.5, 0.7):
            out[f"R1@{t}"] += 100.0 * (bool(best) and best[0] >= t)
            out[f"R5@{t}"] += 100.0 * any(b >= t for b in best[:5])
        out["mIoU"] += 100.0 * (best[0] if best else 0.0)
        for t in thr_map:
            aps[t] += 100.0 * ref_ap(pred, gt, t)
    n = len(gts)
    out = {k: v / n for k, v in out.items()}
    out["mAP@0.5"] = aps[0.5] / n
    out["mAP@0.75"] = aps[0.75] / n
    out["mAP"] = sum(aps.values()) / len(aps) / n
    return out


def assert_close_dict(got, want):
    assert set(got) == set(want)
    for k in want:
        assert got[k] == pytest.approx(want[k], abs=1e-9), k


# ----------------------------------------------------------------------------- retrieval

SIM3 = [[0.9, 0.1, 0.5],
        [0.8, 0.3, 0.2],
        [0.4, 0.4, 0.4]]


def test_retrieval_hand_3x3_pessimistic_ties():
    m = retrieval_metrics(torch.tensor(SIM3), [0, 1, 2])
    # t2v ranks [1, 2, 3]: text 2 ties with all videos, so it ranks last
    assert m["t2v_R1"] == pytest.approx(100 / 3)
    assert m["t2v_R5"] == m["t2v_R10"] == 100.0
    assert m["t2v_MedR"] == 2.0 and m["t2v_MnR"] == 2.0
    # v2t ranks [1, 2, 2]
    assert m["v2t_R1"] == pytest.approx(100 / 3)
    assert m["v2t_MedR"] == 2.0 and m["v2t_MnR"] == pytest.approx(5 / 3)


def test_retrieval_hand_3x3_optimistic_ties():
    m = retrieval_metrics(np.array(SIM3), [0, 1, 2], ties="optimistic")
    # t2v ranks [1, 2, 1]
    assert m["t2v_R1"] == pytest.approx(200 / 3)
    assert m["t2v_MedR"] == 1.0 and m["t2v_MnR"] == pytest.approx(4 / 3)


def test_retrieval_all_equal_scores_is_not_perfect():
    m = retrieval_metrics(torch.zeros(4, 4), [0, 1, 2, 3])
    assert m["t2v_R1"] == 0.0 and m["t2v_MedR"] == 4.0
    assert m["v2t_R1"] == 0.0


def test_retrieval_v2t_multi_caption_counts_best_caption():
    sim = [[0.2, 0.9],   # text 0, video 0: prefers video 1
           [0.8, 0.1],   # text 1, video 0
           [0.7, 0.3],   # text 2, video 1
           [0.1, 0.6]]   # text 3, video 1
    m = retrieval_metrics(sim, [0, 0, 1, 1])
    # video 0: best caption 0.8 beats the other video's captions (0.7, 0.1) -> rank 1
    # video 1: best caption 0.6 is beaten by text 0 (0.9) -> rank 2
    assert m["v2t_R1"] == 50.0 and m["v2t_R5"] == 100.0 and m["v2t_MnR"] == 1.5
    # t2v ranks [2, 1, 2, 1]
    assert m["t2v_R1"] == 50.0 and m["t2v_MedR"] == 1.5


def test_retrieval_videos_without_captions_are_distractors():
    sim = [[0.9, 0.95, 0.1], [0.2, 0.1, 0.8]]  # video 1 has no caption
    m = retrieval_metrics(sim, [0, 2])
    assert m["t2v_R1"] == 50.0  # text 0 loses to the distractor
    assert m["v2t_R1"] == 100.0  # averaged over the 2 captioned videos only


def test_retrieval_v2t_by_video_counts_each_rival_video_once():
    sim = [[0.9, 0.7],   # text 0, video 0
           [0.8, 0.6],   # text 1, video 0
           [0.1, 0.5]]   # text 2, video 1
    # video 1's own caption scores 0.5; both captions of video 0 score above it (0.7, 0.6)
    assert retrieval_metrics(sim, [0, 0, 1])["v2t_MnR"] == 1.5  # ranks [1, 2]: one rival video
    assert retrieval_metrics(sim, [0, 0, 1], v2t_rank="by_caption")["v2t_MnR"] == 2.0  # ranks [1, 3]
    with pytest.raises(ValueError, match="v2t_rank"):
        retrieval_metrics(sim, [0, 0, 1], v2t_rank="mean")


@pytest.mark.parametrize("v2t_rank", ["by_video", "by_caption"])
@pytest.mark.parametrize("ties", ["pessimistic", "optimistic"])
def test_retrieval_matches_loop_reference_with_ties_and_chunks(monkeypatch, ties, v2t_rank):
    rng = np.random.default_rng(0)
    sim = rng.integers(0, 6, size=(37, 23)).astype(np.float32)  # many ties
    t2v = rng.integers(0, 23, size=37)  # some videos get several captions, some none
    want = ref_retrieval(sim, list(t2v), pessimistic=ties == "pessimistic", by_video=v2t_rank == "by_video")
    assert_close_dict(retrieval_metrics(sim, t2v, ties=ties, v2t_rank=v2t_rank), want)
    monkeypatch.setattr(metrics, "_CHUNK_ELEMENTS", 50)  # several chunks in both directions
    got = retrieval_metrics(torch.from_numpy(sim), torch.from_numpy(t2v), ties=ties, v2t_rank=v2t_rank)
    assert_close_dict(got, want)


def test_retrieval_half_precision_and_identity():
    sim = torch.eye(12, dtype=torch.float16)
    m = retrieval_metrics(sim, torch.arange(12))
    assert m["t2v_R1"] == m["v2t_R1"] == 100.0 and m["t2v_MnR"] == 1.0


def test_retrieval_bad_input():
    with pytest.raises(ValueError, match="text_to_video has 2 entries"):
        retrieval_metrics(torch.zeros(3, 3), [0, 1])
    with pytest.raises(ValueError, match="in \\[0, 3\\)"):
        retrieval_metrics(torch.zeros(3, 3), [0, 1, 3])
    with pytest.raises(ValueError, match="NaN"):
        retrieval_metrics(torch.full((2, 2), float("nan")), [0, 1])
    with pytest.raises(ValueError, match="2-D"):
        retrieval_metrics(torch.zeros(3), [0, 1, 2])
    with pytest.raises(ValueError, match="ties"):
        retrieval_metrics(torch.zeros(2, 2), [0, 1], ties="mean")


# ----------------------------------------------------------------------------- moments


def test_temporal_iou_pairs_and_edge_cases():
    got = temporal_iou([[0, 10], [5, 15], [3, 3]], [[0, 10], [20, 30]])
    want = [[1.0, 0.0], [5 / 15, 0.0], [0.0, 0.0]]
    np.testing.assert_allclose(got, want)
    assert temporal_iou([0, 2, 0.9], [1, 3]).shape == (1, 1)  # score column ignored
    assert temporal_iou([[1, 1]], [[1, 1]])[0, 0] == 0.0  # empty union -> 0, not NaN
    assert temporal_iou([], [[0, 1]]).shape == (0, 1)


def test_moment_exact_iou_boundaries_count_as_hits():
    gt = [[0.0, 10.0]]
    m = moment_metrics([[[0.0, 7.0, 1.0]]], [gt])  # IoU exactly 0.7
    assert m["R1@0.7"] == 100.0 and m["R1@0.5"] == 100.0 and m["R1@0.3"] == 100.0
    m = moment_metrics([[[0.0, 3.0, 1.0]]], [gt])  # IoU exactly 0.3
    assert m["R1@0.3"] == 100.0 and m["R1@0.5"] == 0.0
    assert m["mIoU"] == pytest.approx(30.0)


def test_moment_hand_case_recall_miou_map():
    # one GT; the top window has IoU 0.6, the second covers the GT exactly. Given in reverse order.
    preds = [[[0, 10, 0.5], [0, 6, 0.9]]]
    m = moment_metrics(preds, [[[0, 10]]])
    assert m["R1@0.3"] == m["R1@0.5"] == 100.0 and m["R1@0.7"] == 0.0
    assert m["R5@0.7"] == 100.0
    assert m["mIoU"] == pytest.approx(60.0)
    # AP: thresholds 0.5, 0.55, 0.6 -> top window matches, AP 1; above 0.6 the match is at rank 2
    # with precision 1/2, AP 0.5.  mAP = (3 * 1 + 7 * 0.5) / 10
    assert m["mAP@0.5"] == pytest.approx(100.0)
    assert m["mAP@0.75"] == pytest.approx(50.0)
    assert m["mAP"] == pytest.approx(65.0)


def test_moment_map_two_gt_windows_and_duplicates():
    # A hits GT 1, B duplicates GT 1 (already taken -> false positive), C hits GT 2.
    # precision [1, 1/2, 2/3], recall [1/2, 1/2, 1]; interpolated AP = 1/2 * 1 + 1/2 * 2/3
    preds = {"q": [[0, 10, 0.9], [0, 9, 0.8], [20, 30, 0.7]]}
    m = moment_metrics(preds, {"q": [[0, 10], [20, 30]]})
    assert m["mAP@0.5"] == pytest.approx(100 * 5 / 6)
    assert m["mAP"] == pytest.approx(100 * 5 / 6)
    assert m["R1@0.7"] == 100.0 and m["mIoU"] == 100.0


def test_moment_any_gt_window_counts_for_recall():
    m = moment_metrics([[[20, 30, 1.0]]], [[[0, 10], [20, 30]]])
    assert m["R1@0.7"] == 100.0 and m["mIoU"] == 100.0
    assert m["mAP@0.5"] == pytest.approx(50.0)  # one of two GT windows found at precision 1


def test_moment_flat_single_window_and_only_top10_for_map():
    # 10 misses scored above the only hit -> the hit is the 11th window and is cut from mAP
    preds = [[100 + i, 101 + i, 1.0 - i / 100] for i in range(10)] + [[0, 10, 0.01]]
    m = moment_metrics([preds], [[0, 10]])
    assert m["mAP"] == 0.0 and m["R5@0.3"] == 0.0
    assert moment_metrics([preds], [[0, 10]], max_pred_windows=11)["mAP"] == pytest.approx(100 / 11)


def test_moment_empty_predictions_score_zero():
    m = moment_metrics([[], [[0, 10, 1.0]]], [[[0, 10]], [[0, 10]]])
    assert m["R1@0.5"] == 50.0 and m["mIoU"] == 50.0 and m["mAP"] == 50.0


def test_moment_matches_loop_reference_on_random_queries():
    rng = np.random.default_rng(1)
    preds, gts = [], []
    for _ in range(60):
        g = rng.integers(1, 4)
        starts = rng.integers(0, 40, size=g)
        gts.append([[float(s), float(s + rng.integers(1, 15))] for s in starts])
        p = rng.integers(0, 14)
        ps = rng.integers(0, 45, size=p)
        preds.append([[float(s), float(s + rng.integers(1, 15)), float(rng.random())] for s in ps])
    assert_close_dict(moment_metrics(preds, gts), ref_moments(preds, gts))


def test_moment_bad_input():
    with pytest.raises(ValueError, match="has no windows"):
        moment_metrics([[[0, 1, 1.0]]], [[]])
    with pytest.raises(ValueError, match="ends before it starts"):
        moment_metrics([[[5, 1, 1.0]]], [[[0, 1]]])
    with pytest.raises(ValueError, match="without predictions"):
        moment_metrics({"a": []}, {"a": [[0, 1]], "b": [[0, 1]]})
    with pytest.raises(ValueError, match="2 predictions for 1"):
        moment_metrics([[], []], [[[0, 1]]])
    with pytest.raises(TypeError, match="both"):
        moment_metrics({"a": []}, [[[0, 1]]])
    with pytest.raises(ValueError, match="no queries"):
        moment_metrics([], [])


# ----------------------------------------------------------------------------- highlights


def ref_highlight_ap(labels, scores):
    """Loops over thresholds: for each recall level reached, the best precision at that recall or more."""
    if len(set(labels)) == 1:
        return float(labels[0])
    points = []  # (precision, recall) at each distinct threshold
    for threshold in sorted(set(scores)):
        chosen = [l for l, s in zip(labels, scores) if s >= threshold]
        points.append((sum(chosen) / len(chosen), sum(chosen) / sum(labels)))
    levels = sorted({r for _, r in points if r > 0})
    return sum(max(p for p, r in points if r >= level) for level in levels) / len(levels)


def test_highlight_ap_by_hand_with_ties():
    labels = saliency_labels(8.0, [0, 2], [[4, 2], [3, 1]])  # 4 clips, 2 annotators
    assert labels.tolist() == [[4, 2], [0, 0], [3, 1], [0, 0]]
    m = highlight_metrics({"q": [0.9, 0.8, 0.7, 0.1]}, {"q": labels})
    # Fair (>= 2): annotator 0 positives clips 0, 2 -> AP (1 + 2/3) / 2; annotator 1 clip 0 -> AP 1
    assert m["HL-min-Fair-mAP"] == pytest.approx(100 * ((1 + 2 / 3) / 2 + 1) / 2)
    # VeryGood (>= 4): annotator 0 clip 0 -> 1; annotator 1 none -> 0
    assert m["HL-min-VeryGood-mAP"] == pytest.approx(50.0)
    assert m["HL-min-Fair-Hit1"] == m["HL-min-VeryGood-Hit1"] == 100.0
    tied = highlight_metrics({"q": [0.5, 0.5, 0.1]}, {"q": np.array([[2], [0], [2]])})
    assert tied["HL-min-Fair-mAP"] == pytest.approx(100 * 2 / 3)  # the tie is one threshold
    assert tied["HL-min-Fair-Hit1"] == 100.0  # argmax takes the first of the tied clips


def test_highlight_matches_loop_reference_and_pads_or_cuts_predictions():
    rng = np.random.default_rng(1)
    preds, gts, want = {}, {}, {"Fair": [], "Good": [], "VeryGood": []}
    for q in range(30):
        clips = int(rng.integers(2, 12))
        gt = rng.integers(0, 5, size=(clips, 3))
        pred = rng.integers(0, 4, size=clips + int(rng.integers(-1, 2))).astype(float)  # ties; one short or long
        preds[q], gts[q] = pred.tolist(), gt
        aligned = np.zeros(clips)
        aligned[: min(clips, len(pred))] = pred[:clips]
        for name, level in (("Fair", 2), ("Good", 3), ("VeryGood", 4)):
            want[name].append(np.mean([ref_highlight_ap(list((gt[:, a] >= level).astype(int)), list(aligned))
                                       for a in range(3)]))
    got = highlight_metrics(preds, gts)
    for name, aps in want.items():
        assert got[f"HL-min-{name}-mAP"] == pytest.approx(100 * np.mean(aps)), name


def test_highlight_hit_past_the_video_is_a_miss_and_bad_input_is_named():
    assert highlight_metrics({"q": [0.0, 0.1, 0.9]}, {"q": np.array([[4], [4]])})["HL-min-Fair-Hit1"] == 0.0
    with pytest.raises(ValueError, match="saliency scores"):
        highlight_metrics({"q": [float("nan")]}, {"q": np.array([[4]])})
    with pytest.raises(ValueError, match="qids differ"):
        highlight_metrics({"a": [1.0]}, {"b": np.array([[4]])})


# ----------------------------------------------------------------------------- TVSum top-5 mAP


def ref_trapezoid_ap(ranked):
    """UMT's AP of 0/1 labels in ranked order: trapezoids from (recall 0, precision 1), recall over the
    positives among `ranked`; 0 without one."""
    if sum(ranked) == 0:
        return 0.0
    found, ap, recall, precision = 0, 0.0, 0.0, 1.0
    for j, hit in enumerate(ranked):
        found += hit
        new_recall, new_precision = found / sum(ranked), found / (j + 1)
        ap += (new_recall - recall) * (precision + new_precision) / 2
        recall, precision = new_recall, new_precision
    return ap


def ref_tvsum_top5(preds, ratings, k=5):
    """Plain loops over annotators and videos with torch's median and argsort (tie-free scores only):
    positives above the annotator's median, top-k labels by score, trapezoid AP with recall over the
    positives among those k; mean over videos, then annotators."""
    per_annotator = []
    for a in range(ratings[0].shape[1]):
        aps = []
        for pred, rating in zip(preds, ratings):
            column = torch.tensor(rating[:, a], dtype=torch.float64)
            positive = (column > column.median()).double()
            order = torch.argsort(torch.tensor(pred, dtype=torch.float64), descending=True)
            aps.append(ref_trapezoid_ap(positive[order].tolist()[:k]))
        per_annotator.append(sum(aps) / len(aps))
    return 100 * sum(per_annotator) / len(per_annotator)


def test_tvsum_top5_by_hand_with_domains():
    pred = [0.1, 0.9, 0.8, 0.3, 0.7, 0.6, 0.2]  # top 5 by score: clips 1, 2, 4, 5, 3
    ratings = np.array([[1, 5, 2, 4, 3, 1, 5],  # annotator 0
                        [3, 1, 4, 2, 4, 5, 2]]).T  # annotator 1; (7 clips, 2 annotators)
    # annotator 0: median 3 -> positives clips 1, 3, 6; top-5 labels 1 0 0 0 1, num_gt 2 (clip 6 is 6th)
    #   j0: rec .5 prc 1 -> (.5 - 0)(1 + 1)/2 = .5; j1-j3: rec stays; j4: rec 1 prc 2/5 -> .5(1/4 + 2/5)/2 = .1625
    #   AP = .6625 = 53/80
    # annotator 1: median 3 -> positives clips 2, 4, 5; top-5 labels 0 1 1 1 0, num_gt 3
    #   j0: rec 0 prc 0 -> 0; j1: rec 1/3 prc 1/2 -> (1/3)(0 + 1/2)/2 = 6/72; j2: rec 2/3 prc 2/3 -> (1/3)(1/2 + 2/3)/2
    #   = 14/72; j3: rec 1 prc 3/4 -> (1/3)(2/3 + 3/4)/2 = 17/72; j4: rec stays -> AP = 37/72
    # a second video rated 2 everywhere has no clip above its median: AP 0 for both annotators
    flat = np.full((6, 2), 2)
    got = tvsum_highlight_metrics({"v1": pred, "v2": [0.5] * 6}, {"v1": ratings, "v2": flat},
                                  categories={"v1": "VT", "v2": "BK"})
    assert got["HL-top5-mAP/VT"] == pytest.approx(100 * (53 / 80 + 37 / 72) / 2)
    assert got["HL-top5-mAP/BK"] == 0.0
    assert got["HL-top5-mAP"] == pytest.approx(100 * (53 / 80 + 37 / 72) / 4)  # videos, then annotators
    assert got["HL-top5-mAP/mean-of-domains"] == pytest.approx(100 * (53 / 80 + 37 / 72) / 4)  # (VT + BK) / 2
    assert set(got) == {"HL-top5-mAP", "HL-top5-mAP/VT", "HL-top5-mAP/BK", "HL-top5-mAP/mean-of-domains"}
    assert set(tvsum_highlight_metrics([pred], [ratings])) == {"HL-top5-mAP"}  # no domains given


def test_tvsum_top5_matches_torch_loop_reference():
    rng = np.random.default_rng(3)
    preds, ratings, domains = [], [], []
    for video in range(60):
        clips = int(rng.integers(2, 31))  # even and odd counts, some under 5
        ratings.append(rng.integers(1, 6, size=(clips, 20)).astype(float))
        preds.append(rng.permutation(clips * 7)[:clips] / 7.0)  # distinct: tie-free
        domains.append(["VT", "VU", "GA"][video % 3])
    assert len({len(p) % 2 for p in preds}) == 2
    got = tvsum_highlight_metrics(preds, ratings, categories=domains)
    assert got["HL-top5-mAP"] == pytest.approx(ref_tvsum_top5(preds, ratings), abs=1e-9)
    for domain in ("VT", "VU", "GA"):
        mine = [i for i, d in enumerate(domains) if d == domain]
        want = ref_tvsum_top5([preds[i] for i in mine], [ratings[i] for i in mine])
        assert got[f"HL-top5-mAP/{domain}"] == pytest.approx(want, abs=1e-9), domain
    # a longer prediction is cut to the video; a shorter one ranks only the clips it scores (UMT indexes
    # the labels with the prediction's order), the median still over every clip
    ragged = [p[: max(1, len(p) - 3)] if i % 2 else np.r_[p, 99.0, 98.0] for i, p in enumerate(preds)]
    assert tvsum_highlight_metrics(ragged, ratings)["HL-top5-mAP"] == pytest.approx(
        ref_tvsum_top5([p[: len(r)] for p, r in zip(ragged, ratings)], ratings), abs=1e-9)


def test_tvsum_positives_lie_above_torchs_lower_median():
    column = np.array([[1.0], [2.0], [3.0], [4.0]])  # even count: middles 2 and 3
    assert lower_median(column)[0] == torch.tensor([1.0, 2.0, 3.0, 4.0]).median().item() == 2.0
    # clip 2 (rated 3, the upper middle) is a positive; against the upper middle it would not be:
    # order 2, 3, 1, 0 -> labels 1 1 0 0 -> AP 1 (with the upper median: 0 1 0 0 -> AP .25)
    assert tvsum_highlight_metrics([[0.0, 0.1, 0.9, 0.2]], [column])["HL-top5-mAP"] == pytest.approx(100.0)


def test_tvsum_recall_counts_only_positives_in_the_top5():
    ratings = np.array([[5.0], [1], [1], [1], [1], [1], [1], [5]])  # median 1: positives clips 0 and 7
    pred = [8.0, 7, 6, 5, 4, 3, 2, 1]  # clip 7 ranks last, outside the top 5
    # labels 1 0 0 0 0, num_gt 1 (not 2): recall 1 at j0 -> AP 1 (0.5 if clip 7 counted)
    assert tvsum_highlight_metrics([pred], [ratings])["HL-top5-mAP"] == pytest.approx(100.0)


def test_tvsum_ties_in_the_prediction_keep_clip_order():
    ratings = np.array([[1.0], [5], [1], [1], [1], [1]])  # positive: clip 1
    # all scores tied: clips 0-4 in order, labels 0 1 0 0 0 -> j1: rec 1 prc 1/2 -> (1 - 0)(0 + 1/2)/2 = .25
    assert tvsum_highlight_metrics([[0.0] * 6], [ratings])["HL-top5-mAP"] == pytest.approx(25.0)


@pytest.mark.parametrize("preds, ratings, kwargs, message", [
    ([[float("nan"), 1.0]], [np.ones((2, 3))], {}, r"predictions\[0\]: saliency scores"),
    ([[]], [np.ones((2, 3))], {}, r"predictions\[0\]: saliency scores"),
    ([[1.0, 2.0]], [[1.0, 2.0]], {}, r"ground_truth\[0\]: expected finite \(clips, annotators\)"),
    ([[1.0]], [[[np.inf]]], {}, r"ground_truth\[0\]"),
    ([[1.0], [1.0]], [np.ones((1, 20)), np.ones((1, 19))], {}, "same annotators"),
    ([[1.0]], [np.ones((1, 2))], {"categories": ["VT", "BK"]}, "categories: 2 entries for 1 queries"),
    ({"a": [1.0]}, {"a": np.ones((1, 2))}, {"categories": {"b": "VT"}}, "categories: no entry"),
    ({"a": [1.0]}, {"b": np.ones((1, 2))}, {}, "qids differ"),
    ([], [], {}, "no queries"),
    ([[1.0]], [np.ones((1, 2))], {"k": 0}, "k must be at least 1"),
])
def test_tvsum_bad_input_is_named(preds, ratings, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tvsum_highlight_metrics(preds, ratings, **kwargs)


# ----------------------------------------------------------------------------- YouTube Highlights mAP


def ref_youtube_map(preds, labels):
    """Plain loops with torch's argsort (tie-free scores only): every clip ranked by score, trapezoid AP
    from (recall 0, precision 1) with recall over all the video's positives, 0 without one; mean over videos."""
    aps = []
    for pred, label in zip(preds, labels):
        order = torch.argsort(torch.tensor(pred, dtype=torch.float64), descending=True)
        aps.append(ref_trapezoid_ap(torch.tensor(label, dtype=torch.float64)[order].tolist()))
    return 100 * sum(aps) / len(aps)


def test_youtube_map_by_hand_with_domains():
    pred = [0.2, 0.9, 0.1, 0.7, 0.4, 0.8]  # ranking: clips 1, 5, 3, 4, 0, 2
    labels = [1, 0, 0, 1, 0, 1]  # ranked labels 0 1 1 0 1 0, 3 positives (all clips count, not a top 5)
    # j0: rec 0 prc 0 -> 0; j1: rec 1/3 prc 1/2 -> (1/3)(0 + 1/2)/2 = 1/12; j2: rec 2/3 prc 2/3 -> (1/3)(1/2 + 2/3)/2
    # = 7/36; j3: rec stays; j4: rec 1 prc 3/5 -> (1/3)(1/2 + 3/5)/2 = 11/60; j5: rec stays
    # (precision carried from j3 is 1/2). AP = 1/12 + 7/36 + 11/60 = 83/180
    got = youtube_highlight_metrics({"a": pred, "b": [0.3, 0.1], "c": [0.5, 0.6, 0.4]},
                                    {"a": labels, "b": [0, 0], "c": [0, 1, 0]},
                                    categories={"a": "dog", "b": "dog", "c": "surfing"})
    assert got["HL-mAP/dog"] == pytest.approx(100 * (83 / 180 + 0) / 2)  # b has no positive: AP 0
    assert got["HL-mAP/surfing"] == pytest.approx(100.0)  # its positive ranks first
    assert got["HL-mAP"] == pytest.approx(100 * (83 / 180 + 0 + 1) / 3)  # the mean over videos, not domains
    assert got["HL-mAP/mean-of-domains"] == pytest.approx(100 * ((83 / 180 + 0) / 2 + 1) / 2)  # the papers' "Avg."
    assert set(got) == {"HL-mAP", "HL-mAP/dog", "HL-mAP/surfing", "HL-mAP/mean-of-domains"}
    assert set(youtube_highlight_metrics([pred], [labels])) == {"HL-mAP"}  # no domains given


def test_youtube_map_matches_torch_loop_reference():
    rng = np.random.default_rng(5)
    domains = ("dog", "gymnastics", "parkour", "skating", "skiing", "surfing")
    preds, labels, owner = [], [], []
    for video in range(120):
        clips = int(rng.integers(1, 60))
        labels.append((rng.random(clips) < rng.random()).astype(int).tolist())  # some videos without a positive
        preds.append(rng.permutation(clips * 5)[:clips] / 5.0)  # distinct: tie-free
        owner.append(domains[video % 6])
    assert any(sum(label) == 0 for label in labels) and any(all(label) for label in labels)
    got = youtube_highlight_metrics(preds, labels, categories=owner)
    assert got["HL-mAP"] == pytest.approx(ref_youtube_map(preds, labels), abs=1e-9)
    for domain in domains:
        mine = [i for i, d in enumerate(owner) if d == domain]
        assert got[f"HL-mAP/{domain}"] == pytest.approx(ref_youtube_map([preds[i] for i in mine],
                                                                         [labels[i] for i in mine]), abs=1e-9)
    # a longer prediction is cut to the clips; a shorter one ranks only the clips it scores (as UMT and
    # Lighthouse, which index the labels with the prediction's order), recall over the positives among them
    ragged = [p[: max(1, len(p) - 2)] if i % 2 else np.r_[p, 99.0] for i, p in enumerate(preds)]
    assert youtube_highlight_metrics(ragged, labels)["HL-mAP"] == pytest.approx(
        ref_youtube_map([p[: len(label)] for p, label in zip(ragged, labels)],
                        [label[: len(p)] for p, label in zip(ragged, labels)]), abs=1e-9)


def test_youtube_map_is_tvsums_walk_with_k_all_clips():
    """One annotator whose positives are the clips labelled 1 (rated 2 against a median of 1): TVSum's
    top-k AP with k = the clip count is YouTube Highlights' AP."""
    rng = np.random.default_rng(8)
    for _ in range(20):
        clips = int(rng.integers(3, 30))
        label = np.zeros(clips, dtype=int)
        label[rng.choice(clips, size=int(rng.integers(1, (clips + 1) // 2)), replace=False)] = 1  # under half: median 0
        pred = rng.random(clips)
        tvsum = tvsum_highlight_metrics([pred], [(label + 1)[:, None]], k=clips)["HL-top%d-mAP" % clips]
        assert youtube_highlight_metrics([pred], [label])["HL-mAP"] == pytest.approx(tvsum)


def test_youtube_ties_keep_clip_order():
    # all tied: clips in order, labels 0 1 0 -> j1: rec 1 prc 1/2 -> (1 - 0)(0 + 1/2)/2 = .25
    assert youtube_highlight_metrics([[0.0] * 3], [[0, 1, 0]])["HL-mAP"] == pytest.approx(25.0)


@pytest.mark.parametrize("preds, labels, kwargs, message", [
    ([[float("nan"), 1.0]], [[0, 1]], {}, r"predictions\[0\]: saliency scores"),
    ([[]], [[0, 1]], {}, r"predictions\[0\]: saliency scores"),
    ([[1.0, 2.0]], [[0, -1]], {}, r"ground_truth\[0\]: expected a 0/1 label per clip"),
    ([[1.0]], [[]], {}, r"ground_truth\[0\]"),
    ([[1.0]], [[1]], {"categories": ["dog", "surfing"]}, "categories: 2 entries for 1 queries"),
    ({"a": [1.0]}, {"b": [1]}, {}, "qids differ"),
    ([], [], {}, "no queries"),
])
def test_youtube_bad_input_is_named(preds, labels, kwargs, message):
    with pytest.raises(ValueError, match=message):
        youtube_highlight_metrics(preds, labels, **kwargs)


# ----------------------------------------------------------------------------- classification


def test_classification_hand_case():
    logits = torch.tensor([
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],  # label 5: top-1
        [5.0, 4.0, 3.0, 2.0, 1.0, 0.0],  # label 4: rank 5
        [5.0, 4.0, 3.0, 2.0, 1.0, 0.0],  # label 5: rank 6
        [1.0, 1.0, 0.0, 0.0, 0.0, 0.0],  # label 0: tied with class 1 -> rank 2
    ])
    m = classification_metrics(logits, [5, 4, 5, 0])
    assert m == {"top1": 25.0, "top5": 75.0}
    assert classification_metrics(logits, [5, 4, 5, 0], ties="optimistic")["top1"] == 50.0


def test_classification_fewer_than_five_classes_is_top_all():
    m = classification_metrics(np.array([[3.0, 2.0, 1.0], [0.0, 1.0, 2.0]]), np.array([2, 0]))
    assert m == {"top1": 0.0, "top5": 100.0}


def test_classification_matches_loop_reference():
    rng = np.random.default_rng(2)
    logits = rng.integers(0, 4, size=(50, 9)).astype(np.float64)
    labels = rng.integers(0, 9, size=50)
    hits1 = hits5 = 0
    for row, y in zip(logits, labels):
        rank = 1 + sum(1 for c in range(9) if c != y and row[c] >= row[y])
        hits1 += rank <= 1
        hits5 += rank <= 5
    m = classification_metrics(logits, labels)
    assert m["top1"] == pytest.approx(100 * hits1 / 50) and m["top5"] == pytest.approx(100 * hits5 / 50)


def test_classification_bad_labels():
    with pytest.raises(ValueError, match="labels must lie"):
        classification_metrics(torch.zeros(2, 3), [0, 3])
    with pytest.raises(ValueError, match="3 labels for 2"):
        classification_metrics(torch.zeros(2, 3), [0, 1, 2])
