"""QB-Norm in the video index: equal to the full-matrix formula (vidclip.eval.rerank, itself checked
against the official code), kept exact when videos are added, saved with the index."""

import json

import pytest
import torch
import torch.nn.functional as F

from fakes import COLOURS, use_fake_model, write_video
from vidclip.cli import main
from vidclip.eval.rerank import querybank_normalize
from vidclip.pipeline import VideoEmbeddings
from vidclip.search.index import VideoIndex

IDENTITY = {"name": "vectors"}


def _vectors(tmp_path, n=60, dim=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    videos = F.normalize(torch.randn(n, dim, generator=g), dim=-1)
    paths = []
    for i in range(n):
        (tmp_path / f"v{i}.mp4").write_bytes(b"")  # the index records each source's size and date
        paths.append(str((tmp_path / f"v{i}.mp4").resolve()))
    bank = F.normalize(videos[:20] + 0.3 * torch.randn(20, dim, generator=g), dim=-1)  # videos 0-19 become hubs
    queries = F.normalize(torch.cat([videos[:8], videos[40:48]]) + 0.3 * torch.randn(16, dim, generator=g), dim=-1)
    return videos, paths, bank, queries


def _index(videos, paths, rows=slice(None)):
    index = VideoIndex(None, identity=IDENTITY)
    index.add_embeddings(VideoEmbeddings(videos[rows], {}, paths[rows]), identity=IDENTITY)
    return index


def test_index_qbnorm_equals_the_full_matrix_formula(tmp_path):
    videos, paths, bank, queries = _vectors(tmp_path)
    index = _index(videos, paths)
    index.set_querybank(bank)
    expected = querybank_normalize(queries @ videos.T, bank @ videos.T)  # (Nq, Nv), hubs over the whole gallery
    changed = 0
    for query, row in zip(queries, expected):
        found = index.search(query, k=5, candidates=len(videos), rerank="qbnorm")
        top = torch.argsort(row, descending=True)[:5]
        assert [path for path, _ in found] == [paths[i] for i in top]
        assert [score for _, score in found] == pytest.approx(row[top].tolist(), abs=1e-4)
        plain = index.search(query, k=5)
        changed += [path for path, _ in plain] != [path for path, _ in found]
    assert changed > 0  # some query's top-1 was a hub, and its ranking moved


def test_adding_videos_keeps_the_bank_exact_and_a_saved_index_keeps_it(tmp_path):
    videos, paths, bank, queries = _vectors(tmp_path)
    whole = _index(videos, paths)
    whole.set_querybank(bank)
    grown = _index(videos, paths, slice(30, None))  # the hubs (rows 0-19 of `whole`) come later
    grown.set_querybank(bank)
    grown.add_embeddings(VideoEmbeddings(videos[:30], {}, paths[:30]), identity=IDENTITY)
    order = [grown.paths.index(p) for p in whole.paths]
    assert grown.querybank.top_score.tolist() == pytest.approx(whole.querybank.top_score.tolist(), abs=1e-6)
    assert [grown.paths[r] for r in grown.querybank.top_row] == [whole.paths[r] for r in whole.querybank.top_row]
    assert sorted(order) == list(range(len(videos)))
    grown.save(tmp_path / "q.index")
    loaded = VideoIndex.load(tmp_path / "q.index")
    for query in queries[:4]:
        assert loaded.search(query, k=5, rerank="qbnorm") == grown.search(query, k=5, rerank="qbnorm")
        assert loaded.search(query, k=5, rerank="qbnorm")[0][0] == whole.search(query, k=5, rerank="qbnorm")[0][0]


def test_rerank_without_a_bank_or_by_dsl_is_refused(tmp_path):
    videos, paths, _, queries = _vectors(tmp_path)
    index = _index(videos, paths)
    with pytest.raises(ValueError, match="no query bank"):
        index.search(queries[0], rerank="qbnorm")
    with pytest.raises(ValueError, match="dual softmax needs all test queries"):
        index.search(queries[0], rerank="dsl")


def test_cli_builds_with_a_querybank_and_searches_with_qbnorm(tmp_path, monkeypatch, capsys):
    use_fake_model(monkeypatch)
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in COLOURS:
        write_video(folder / f"{name}.mp4", [name] * 2)
    bank = tmp_path / "bank.jsonl"
    bank.write_text("".join(json.dumps({"video": f"b{i}.mp4", "caption": f"a {name} video"}) + "\n"
                            for i, name in enumerate(sorted(COLOURS))))
    out = tmp_path / "q.index"
    assert main(["index", "build", str(folder), "--out", str(out), "--model", "tiny", "--querybank", str(bank)]) == 0
    capsys.readouterr()
    assert main(["index", "search", str(out), "a red video", "--rerank", "qbnorm", "--model", "tiny", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["results"]
    assert found[0]["path"].endswith("red.mp4")
    plain = tmp_path / "plain.index"
    assert main(["index", "build", str(folder), "--out", str(plain), "--model", "tiny"]) == 0
    assert main(["index", "search", str(plain), "red", "--rerank", "qbnorm", "--model", "tiny"]) == 2
    assert "no query bank" in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["index", "build", str(folder), "--out", str(tmp_path / "e.index"), "--model", "tiny",
                 "--querybank", str(empty)]) == 2
