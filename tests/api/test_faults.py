"""Nothing lost under misuse and faults: corrupted headers, two writers, missing sources, full disks."""

import errno
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import vidclip.api
from fakes import COLOURS, use_fake_model, write_video
from vidclip.cli import main
from vidclip.errors import VidclipError
from vidclip.search.index import VideoIndex
from vidclip.search.embeddings_file import load_embeddings

TINY = ["--model", "tiny"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    for name in COLOURS:
        write_video(folder / f"{name}.mp4", [name])
    return folder


@pytest.fixture(autouse=True)
def fake_model(monkeypatch):
    use_fake_model(monkeypatch)


def _paths(folder, names):
    return [str(folder / f"{name}.mp4") for name in names]


def _header_length(path) -> int:
    with open(path, "rb") as handle:
        return 8 + int.from_bytes(handle.read(8), "little")


def test_every_changed_byte_of_an_index_header_is_exit_2_with_a_message(tmp_path, folder, capsys):
    index = tmp_path / "my.index"
    assert main(["index", "build", *_paths(folder, ["red", "blue"]), "--out", str(index), *TINY]) == 0
    good = index.read_bytes()
    header = _header_length(index)
    model = vidclip.api.load("tiny")
    refused = 0
    for position in range(header):
        damaged = bytearray(good)
        damaged[position] ^= 1 << (position % 8)  # one flipped bit, a different one along the header
        index.write_bytes(bytes(damaged))
        with pytest.raises(VidclipError) as error:  # what the CLI turns into one line and exit 2
            VideoIndex.load(index, model).search("red")
        assert "\n" not in str(error.value) and str(index) in str(error.value)
        refused += 1
        if position % 97 == 0:  # and through the command line now and then
            capsys.readouterr()
            assert main(["index", "search", str(index), "red", *TINY]) == 2
            assert capsys.readouterr().err.count("\n") == 1
    assert refused == header > 500


def test_two_index_adds_at_once_keep_both_sides(tmp_path, folder, monkeypatch, capsys):
    """Each add is slowed so both load the index before either saves: without the lock one side is lost."""
    from vidclip.pipeline import Pipeline

    index = tmp_path / "shared.index"
    names = sorted(COLOURS)
    assert main(["index", "build", *_paths(folder, names[:2]), "--out", str(index), *TINY]) == 0
    real_embed = Pipeline.embed_videos

    def slow_embed(self, *args, **kwargs):
        time.sleep(0.3)
        return real_embed(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "embed_videos", slow_embed)
    codes = []
    adds = [threading.Thread(target=lambda part=part: codes.append(
        main(["index", "add", str(index), *_paths(folder, part), *TINY])))
        for part in (names[2:4], names[4:])]
    for thread in adds:
        thread.start()
    for thread in adds:
        thread.join()
    assert codes == [0, 0]
    assert main(["index", "search", str(index), "red", "-k", "10", *TINY, "--json"]) == 0
    found = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert sorted(os.path.basename(r["path"]) for r in found["results"]) == sorted(f"{n}.mp4" for n in names)


def test_embeddings_resolve_from_anywhere_and_missing_sources_are_skipped(tmp_path, folder, monkeypatch, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("red", "green", "blue"):
        (videos / f"{name}.mp4").write_bytes((folder / f"{name}.mp4").read_bytes())
    monkeypatch.chdir(tmp_path)
    assert main(["embed", "videos", "--out", "feats.safetensors", *TINY]) == 0  # relative inputs
    (videos / "green.mp4").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    code = main(["index", "build", str(tmp_path / "feats.safetensors"), "--out", "i.index", *TINY, "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["count"] == 2
    assert report["skipped"] == [{"path": str(videos / "green.mp4"), "reason": "source file missing"}]
    (videos / "blue.mp4").unlink()  # a result whose file is gone is flagged
    assert main(["index", "search", "i.index", "blue", "-k", "2", *TINY, "--json"]) == 0
    captured = capsys.readouterr()
    results = {os.path.basename(r["path"]): r["missing"] for r in json.loads(captured.out)["results"]}
    assert results == {"blue.mp4": True, "red.mp4": False} and "no longer exist" in captured.err


def test_embed_with_no_readable_video_leaves_the_old_file(tmp_path, folder, capsys):
    out = tmp_path / "feats.safetensors"
    assert main(["embed", str(folder), "--out", str(out), *TINY]) == 0
    before = out.read_bytes()
    junk = tmp_path / "typo.mp4"
    junk.write_bytes(b"not a video")
    assert main(["embed", str(junk), "--out", str(out), *TINY]) == 2
    assert "left as it was" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_moments_folder_answers_the_readable_videos_and_lists_the_rest(tmp_path, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "a1.mp4", ["blue"] * 2 + ["red"] * 2)
    (videos / "b2.mp4").write_bytes(b"broken")
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"qid": 1, "query": "red", "vid": "a1"}\n{"qid": 2, "query": "red", "vid": "b2"}\n')
    out = tmp_path / "preds.jsonl"
    code = main(["moments", str(videos), "--queries", str(queries), "--out", str(out), *TINY, "--no-cache"])
    err = capsys.readouterr().err
    assert code == 1 and "b2.mp4" in err and "Traceback" not in err
    assert [json.loads(line)["qid"] for line in out.read_text().splitlines()] == [1]


def test_a_cache_that_cannot_be_written_warns_and_the_answer_comes(tmp_path, monkeypatch, capsys):
    import errno

    from safetensors import torch as safetensors_torch

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safetensors_torch, "save_file", full)
    video = write_video(tmp_path / "v.mp4", ["blue"] * 2 + ["red"] * 2)
    cache = tmp_path / "cache"
    with pytest.warns(UserWarning, match="No space left on device"):
        code = main(["moments", video, "a red car", *TINY, "--cache-dir", str(cache), "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["moments"]
    assert [p for p in cache.iterdir() if not p.name.endswith(".lock")] == []  # no temp left behind


@pytest.mark.parametrize("command", ["index", "embed"])
def test_a_full_disk_is_exit_2_naming_the_file_and_the_old_file_survives(command, tmp_path, folder, monkeypatch,
                                                                         capsys):
    """safetensors reports a full disk in its own error type; the user gets the path and the fix."""
    import safetensors.numpy
    import safetensors.torch

    out = tmp_path / ("my.index" if command == "index" else "feats.safetensors")
    argv = (["index", "build", *_paths(folder, ["red"]), "--out", str(out)] if command == "index"
            else ["embed", *_paths(folder, ["red"]), "--out", str(out)])
    assert main([*argv, *TINY]) == 0
    before = out.read_bytes()

    class SafetensorError(Exception):
        pass

    def full(tensors, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"partial")
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(safetensors.numpy, "save_file", full)
    monkeypatch.setattr(safetensors.torch, "save_file", full)
    argv[2 if command == "index" else 1] = str(folder / "blue.mp4")
    assert main([*argv, *TINY]) == 2
    assert capsys.readouterr().err.endswith(f"{out}: No space left on device (free some space or write elsewhere)\n")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(f".{out.name}.")) == [f".{out.name}.lock"]


WRITERS = Path(__file__).with_name("_writers.py")


def test_sigkill_at_random_points_leaves_the_old_or_the_new_file(tmp_path):
    """A writer process rewrites an index, an embeddings file and a checkpoint in a loop and is killed."""
    import _writers

    rng = random.Random(0)
    for _ in range(2):  # each kill costs a process start (torch's import): seconds
        proc = subprocess.Popen([sys.executable, str(WRITERS), "loop", str(tmp_path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        assert proc.stdout.readline() == b"ready\n", proc.stderr.read().decode()[-2000:]
        time.sleep(rng.uniform(0.05, 0.5))
        proc.kill()
        proc.wait()
        for target in _writers.TARGETS:
            assert _writers.read(target, tmp_path) in (0, 1), target  # complete, and one of the two versions
    for target in _writers.TARGETS:
        _writers.write(target, tmp_path, 0)
        assert _writers.read(target, tmp_path) == 0
    assert list(tmp_path.rglob("*.tmp")) == []  # the next writes swept what the killed ones left


def test_a_killed_writers_temp_file_is_removed_by_the_next_write_and_a_live_ones_kept(tmp_path):
    from vidclip.atomic import write_text_atomic

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = tmp_path / f".out.txt.{int(dead.stdout)}.abc123.tmp"
    running = tmp_path / f".out.txt.{os.getppid()}.def456.tmp"
    killed.write_bytes(b"\0" * 1000)
    running.write_bytes(b"\0" * 1000)
    write_text_atomic(tmp_path / "out.txt", "new\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([running.name, "out.txt"])


def test_the_folder_is_swept_once_per_target_and_process_not_on_every_write(tmp_path, monkeypatch):
    import vidclip.atomic as atomic

    listed = []
    monkeypatch.setattr(atomic, "remove_stale_temps", lambda path: listed.append(path.name) or [])
    for index in range(50):
        atomic.write_text_atomic(tmp_path / f"shard{index % 5}.txt", "x")
    assert sorted(listed) == [f"shard{index}.txt" for index in range(5)]


def test_files_are_written_with_the_umask(tmp_path):
    import _writers

    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "0.mp4").write_bytes(b"")
    _writers.SIZES, sizes = (1, 2), _writers.SIZES
    old = os.umask(0o027)
    try:
        for target in _writers.TARGETS:
            _writers.write(target, tmp_path, 0)
    finally:
        os.umask(old)
        _writers.SIZES = sizes
    modes = {str(p.relative_to(tmp_path)): p.stat().st_mode & 0o777 for p in tmp_path.rglob("*")
             if not p.name.startswith(".") and "videos" not in p.parts}
    assert modes == {"my.index": 0o640, "feats.safetensors": 0o640, "run": 0o750, "run/last": 0o750,
                     **{f"run/last/{name}": 0o640 for name in ("model.safetensors", "progress.json", "rng.pt",
                                                               "training_state.pt")}}


def test_a_full_disk_fails_each_writer_naming_the_file_and_keeps_the_old_one(tmp_path):
    """On a real 4 MB tmpfs (a user namespace mounts it), filled up after the first write of each."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) to mount a small tmpfs")
    small = tmp_path / "small"
    small.mkdir()
    script = f"mount -t tmpfs -o size=4m tmpfs {small} && exec {sys.executable} {WRITERS} full-disk {small}"
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    if not proc.stdout and ("unshare" in proc.stderr or "mount" in proc.stderr):
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()[-200:]}")
    outcomes = {row["target"]: row for row in map(json.loads, proc.stdout.splitlines())}
    assert set(outcomes) == {"index", "embeddings", "checkpoint"}, proc.stderr[-2000:]
    names = {"index": "my.index", "embeddings": "feats.safetensors", "checkpoint": "last"}
    for target, outcome in outcomes.items():
        assert outcome["error"] == errno.ENOSPC, (target, outcome)
        assert outcome["filename"].endswith(names[target]) and outcome["version"] == 0 and outcome["temps"] == []
