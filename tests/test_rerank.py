"""vidclip.eval.rerank against the papers' formulas written out here with numpy."""

import numpy as np
import pytest
import torch

from vidclip.eval.metrics import retrieval_metrics
from vidclip.eval.rerank import dual_softmax, querybank_normalize


def official_qb_norm(bank, test, beta=20.0, k=1):
    """The dynamic inverted softmax as the QB-Norm paper's script computes it (exp, not log)."""
    hubs = np.unique(np.argsort(-bank, axis=1)[:, :k].reshape(-1))
    rows = np.array([top in hubs for top in np.argsort(-test, axis=1)[:, 0]])
    out = test.copy()
    out[rows] = np.exp(test[rows] * beta) / np.exp(bank * beta).sum(0)
    return out, rows


def test_dual_softmax_is_the_formula():
    sim = torch.tensor([[0.3, 0.2], [0.25, 0.1], [0.0, 0.4]])
    t = 0.1
    want = sim.numpy() * np.exp(sim.numpy() / t) / np.exp(sim.numpy() / t).sum(0, keepdims=True)
    np.testing.assert_allclose(dual_softmax(sim, dim=0, temperature=t).numpy(), want, rtol=1e-6)
    with pytest.raises(ValueError, match="temperature"):
        dual_softmax(sim, dim=0, temperature=0)


def test_dual_softmax_demotes_a_hub_video():
    # video 0 scores high with every text (a hub); each text's own video is second for texts 1, 2
    sim = torch.tensor([[0.50, 0.10, 0.10],
                        [0.48, 0.45, 0.10],
                        [0.47, 0.10, 0.44]])
    assert retrieval_metrics(sim, [0, 1, 2])["t2v_R1"] == pytest.approx(100 / 3)
    assert retrieval_metrics(dual_softmax(sim, dim=0), [0, 1, 2])["t2v_R1"] == 100.0


def test_querybank_normalisation_ranks_as_the_official_script():
    rng = np.random.default_rng(0)
    videos = rng.normal(size=(40, 16))
    videos /= np.linalg.norm(videos, axis=1, keepdims=True)
    hub = videos.mean(0)  # queries drift towards a few videos: hubs appear
    bank = rng.normal(size=(200, 16)) + 3 * hub
    test = rng.normal(size=(60, 16)) + 3 * hub
    bank_sim = (bank / np.linalg.norm(bank, axis=1, keepdims=True)) @ videos.T
    test_sim = (test / np.linalg.norm(test, axis=1, keepdims=True)) @ videos.T
    want, rows = official_qb_norm(bank_sim, test_sim)
    assert 0 < rows.sum() < len(rows)  # both kinds of row occur
    got = querybank_normalize(torch.from_numpy(test_sim), torch.from_numpy(bank_sim)).numpy()
    np.testing.assert_array_equal(np.argsort(-got, axis=1, kind="stable"), np.argsort(-want, axis=1, kind="stable"))
    np.testing.assert_allclose(got[~rows], test_sim[~rows], rtol=1e-6)  # rows left alone keep their scores


def test_querybank_bad_shapes_are_named():
    with pytest.raises(ValueError, match="query bank"):
        querybank_normalize(torch.zeros(2, 3), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="k must be"):
        querybank_normalize(torch.zeros(2, 3), torch.zeros(4, 3), k=4)
