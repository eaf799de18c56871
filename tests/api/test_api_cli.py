import json
import socket

import pytest
import torch

from fakes import COLOURS, run_cli_rank, use_fake_model, write_video
from vidclip.cli import main
from vidclip.search.embeddings_file import load_embeddings


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    for name in COLOURS:
        write_video(folder / f"{name}.mp4", [name] * 2)
    return folder


@pytest.fixture(autouse=True)
def fake_model(monkeypatch):
    use_fake_model(monkeypatch)


def _json(capsys, argv, expected_code=0):
    code = main(argv)
    out = capsys.readouterr().out
    assert code == expected_code, out
    return json.loads(out)


def test_index_build_search_add(tmp_path, folder, capsys):
    out = tmp_path / "my.index"
    names = sorted(COLOURS)
    built = _json(capsys, ["index", "build", *[str(folder / f"{n}.mp4") for n in names[:4]], "--out", str(out),
                           "--model", "tiny", "--json"])
    assert built["count"] == 4 and built["kind"] == "flat"
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"junk")
    added = _json(capsys, ["index", "add", str(out), str(folder), str(broken), "--model", "tiny", "--json"], 1)
    assert added["count"] == len(COLOURS)
    reasons = {item["path"]: item["reason"] for item in added["skipped"]}
    assert reasons[str(broken)].startswith("VideoDecodeError") and sum("already" in r for r in reasons.values()) == 4
    found = _json(capsys, ["index", "search", str(out), "a yellow car", "-k", "2", "--model", "tiny", "--json"])
    assert found["results"][0]["path"].endswith("yellow.mp4") and len(found["results"]) == 2


def test_index_errors_exit_2(tmp_path, folder, capsys):
    out = tmp_path / "my.index"
    assert main(["index", "build", str(folder), "--out", str(out), "--model", "tiny"]) == 0
    assert main(["index", "search", str(out), "  ", "--model", "tiny"]) == 2
    assert main(["index", "search", str(tmp_path / "none.index"), "red", "--model", "tiny"]) == 2
    out.write_bytes(out.read_bytes()[:-10])
    assert main(["index", "search", str(out), "red", "--model", "tiny"]) == 2
    assert "truncated index file" in capsys.readouterr().err


def test_embed_then_index_from_embeddings(tmp_path, folder, capsys):
    feats = tmp_path / "feats.safetensors"
    result = _json(capsys, ["embed", str(folder), "--out", str(feats), "--model", "tiny", "--json"])
    assert result["count"] == len(COLOURS) and result["dim"] == 16
    built = _json(capsys, ["index", "build", str(feats), "--out", str(tmp_path / "i.index"), "--model", "tiny", "--json"])
    assert built["count"] == len(COLOURS)


def test_embed_under_two_gloo_processes_matches_one(tmp_path, folder, capsys):
    single = tmp_path / "one.safetensors"
    assert main(["embed", str(folder), "--out", str(single), "--model", "tiny"]) == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    double = tmp_path / "two.safetensors"
    argv = ["embed", str(folder), "--out", str(double), "--model", "tiny", "--workers", "1"]
    torch.multiprocessing.spawn(run_cli_rank, args=(2, port, argv), nprocs=2, join=True)
    (one, one_model), (two, two_model) = load_embeddings(single), load_embeddings(double)
    assert two.sources == one.sources and one_model == two_model
    assert torch.equal(two.embeddings, one.embeddings) and torch.equal(two.frame_features, one.frame_features)


def test_moments_json_and_queries_file(tmp_path, capsys):
    video = write_video(tmp_path / "v.mp4", ["blue"] * 6 + ["red"] * 4 + ["blue"] * 6)
    cache = ["--cache-dir", str(tmp_path / "cache")]
    found = _json(capsys, ["moments", video, "a red shirt", "--model", "tiny", "--json", *cache])
    assert found["moments"][0]["start"] == 6.0 and found["moments"][0]["end"] == 10.0
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"qid": 3, "query": "red"}\n{"qid": 4, "query": "blue"}\n')
    preds = tmp_path / "preds.jsonl"
    assert main(["moments", video, "--queries", str(queries), "--out", str(preds), "--model", "tiny", *cache]) == 0
    rows = [json.loads(line) for line in preds.read_text().splitlines()]
    assert [r["qid"] for r in rows] == [3, 4] and rows[0]["pred_relevant_windows"][0][:2] == [6.0, 10.0]
    assert main(["moments", str(tmp_path / "missing.mp4"), "red", "--model", "tiny", *cache]) == 2
    assert "no such video file" in capsys.readouterr().err
    assert main(["moments", video, "--model", "tiny"]) == 2  # neither a query nor --queries


def test_classify_json(folder, capsys):
    result = _json(capsys, ["classify", str(folder / "green.mp4"), str(folder / "red.mp4"), "--labels", "red,green,blue",
                            "--template", "a {} thing", "--model", "tiny", "--json"])
    assert [r["labels"][0]["label"] for r in result["results"]] == ["green", "red"]


def test_every_command_has_examples_in_help(capsys):
    for command in (["embed"], ["index"], ["moments"], ["classify"]):
        with pytest.raises(SystemExit):
            main([*command, "--help"])
        assert "examples:" in capsys.readouterr().out


def test_moments_folder_with_qvhighlights_queries(tmp_path, capsys):
    folder = tmp_path / "videos"
    folder.mkdir()
    write_video(folder / "a1.mp4", ["blue"] * 4 + ["red"] * 4)
    write_video(folder / "b2.mp4", ["green"] * 4 + ["blue"] * 4)
    queries = tmp_path / "val.jsonl"
    queries.write_text("".join(json.dumps(r) + "\n" for r in [
        {"qid": 1, "query": "red", "vid": "a1", "duration": 8, "relevant_windows": [[4, 8]]},
        {"qid": 2, "query": "green", "vid": "b2", "duration": 8, "relevant_windows": [[0, 4]]},
        {"qid": 3, "query": "red", "vid": "gone"}]))
    code = main(["moments", str(folder), "--queries", str(queries), "--model", "tiny", "--cache-dir", str(tmp_path / "c")])
    captured = capsys.readouterr()
    assert code == 1 and "vid 'gone'" in captured.err
    rows = {row["qid"]: row for row in map(json.loads, captured.out.splitlines())}
    assert rows[1]["pred_relevant_windows"][0][:2] == [4.0, 8.0] and rows[1]["vid"] == "a1"
    assert rows[2]["pred_relevant_windows"][0][:2] == [0.0, 4.0]
