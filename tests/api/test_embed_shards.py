"""`vidclip embed --out FOLDER`: shards that resume after a kill, ranks that split them, an index from them."""

import json
import os
import signal
import subprocess
import sys
import time
import weakref
from pathlib import Path

import numpy as np
import pytest
import torch

from fakes import use_fake_model, write_colour_pair_clips
from vidclip.cli import main
from vidclip.pipeline import VideoEmbeddings
from vidclip.search import shards
from vidclip.search.embeddings_file import load_embeddings
from vidclip.search.index import VideoIndex

TINY = ["--model", "tiny", "--workers", "1"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Nine two-second videos (distinct colour pairs), v0 ... v8."""
    folder = tmp_path_factory.mktemp("clips")
    write_colour_pair_clips(folder, 9)
    return folder


@pytest.fixture(autouse=True)
def fake_model(monkeypatch):
    use_fake_model(monkeypatch)


def _read_folder(out):
    """(sources, embeddings, frames) of a finished shard folder, in shard order; checks listings agree."""
    manifest, count, parts = shards.read_shards(out)
    found = list(parts())
    sources = [s for part in found for s in part.sources]
    listed = [line["path"] for n in range(manifest["num_shards"]) for line in shards.read_listing(out, n) if "row" in line]
    assert listed == sources and count == len(sources)
    return sources, torch.cat([p.embeddings for p in found]), torch.cat([p.frame_features for p in found])


_RANK = """
import os, sys, time
sys.path.insert(0, {api!r})
from vidclip.pipeline import Pipeline
real = Pipeline.embed_videos
def slow(self, *args, **kwargs):
    time.sleep(float(os.environ["DELAY"]))
    return real(self, *args, **kwargs)
Pipeline.embed_videos = slow
from fakes import run_cli_rank
run_cli_rank(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), 0, {argv!r})
"""


def test_killed_rank_then_rerun_gives_every_video_once_as_one_run(tmp_path, folder, monkeypatch):
    reference = tmp_path / "one.safetensors"
    assert main(["embed", str(folder), "--out", str(reference), *TINY]) == 0
    out = tmp_path / "shards"
    argv = ["embed", str(folder), "--out", str(out), "--shard-size", "2", *TINY]
    # two torchrun-like ranks (shards 0 2 4 and 1 3); rank 1 is slow and is killed once its first shard is written
    script = _RANK.format(api=str(Path(__file__).parent), argv=argv)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    ranks = [subprocess.Popen([sys.executable, "-c", script], env=dict(env, RANK=str(r), WORLD_SIZE="2",
                                                                        DELAY=str(r * 1.0)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for r in range(2)]
    deadline = time.monotonic() + 60
    while not shards.is_done(out, 1) and time.monotonic() < deadline:
        assert ranks[1].poll() is None, ranks[1].communicate()
        time.sleep(0.05)
    ranks[1].send_signal(signal.SIGKILL)  # in the middle of shard 3
    assert ranks[0].wait(60) == 0, ranks[0].communicate()
    assert ranks[1].wait(10) == -signal.SIGKILL
    assert [n for n in range(5) if shards.is_done(out, n)] == [0, 1, 2, 4]
    # the rerun, by one process (any number of ranks can finish a folder), does only shard 3
    for name in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    embedded = []
    real = shards.write_shard
    monkeypatch.setattr(shards, "write_shard", lambda folder, number, *a: (embedded.append(number), real(folder, number, *a)))
    assert main(argv) == 0 and embedded == [3]
    sources, embeddings, frames = _read_folder(out)
    one, _ = load_embeddings(reference)
    assert sources == one.sources and len(set(sources)) == 9
    assert torch.equal(embeddings, one.embeddings) and torch.equal(frames, one.frame_features)


def test_resume_redoes_half_written_shards_and_refuses_another_command(tmp_path, folder, monkeypatch, capsys):
    out = tmp_path / "shards"
    argv = ["embed", str(folder), "--out", str(out), "--shard-size", "4", *TINY, "--json"]
    assert main(argv) == 0
    first = _read_folder(out)
    (out / "shard-00001.jsonl").unlink()  # killed between its two files: redone
    (out / ".shard-00002.safetensors.999999.x.tmp").write_bytes(b"half")  # a killed writer's temp
    embedded = []
    real = shards.write_shard
    monkeypatch.setattr(shards, "write_shard", lambda folder, number, *a: (embedded.append(number), real(folder, number, *a)))
    capsys.readouterr()
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert embedded == [1] and result["resumed"] == 2 and result["count"] == 9 and result["unfinished_shards"] == 0
    second = _read_folder(out)
    assert second[0] == first[0] and torch.equal(second[1], first[1])
    assert main(["embed", str(folder), "--out", str(out), "--shard-size", "3", *TINY]) == 2
    assert "--shard-size 4" in capsys.readouterr().err
    assert main(["embed", str(folder / "v1.mp4"), "--out", str(out), "--shard-size", "4", *TINY]) == 2
    assert "another list of inputs (9 videos, now 1)" in capsys.readouterr().err


def test_inputs_list_and_unfinished_folder_refused_by_index(tmp_path, folder, capsys):
    listing = tmp_path / "lists" / "all.txt"
    listing.parent.mkdir()
    (tmp_path / "junk.mp4").write_bytes(b"junk")
    listing.write_text(f"# my videos\n{folder / 'v3.mp4'}\n\n../junk.mp4\n{folder / 'v0.mp4'}\n{folder / 'v3.mp4'}\n")
    out = tmp_path / "shards"
    assert main(["embed", "--inputs", str(listing), "--out", str(out), "--shard-size", "2", *TINY]) == 1
    lines = [line for n in range(2) for line in shards.read_listing(out, n)]
    assert [Path(line["path"]).name for line in lines] == ["v3.mp4", "junk.mp4", "v0.mp4"]
    assert "row" not in lines[1] and lines[1]["skipped"].startswith("VideoDecodeError")
    (out / "shard-00001.jsonl").unlink()
    assert main(["index", "build", str(out), "--out", str(tmp_path / "i.index"), *TINY[:2]]) == 2
    assert "1 of 2 shards are not finished (first: shard-00001)" in capsys.readouterr().err
    assert main(["embed", "--out", str(out), *TINY]) == 2
    videos = tmp_path / "dataset"  # a folder of videos with a manifest.json of its own is still walked
    videos.mkdir()
    (videos / "manifest.json").write_text('{"name": "my dataset"}')
    (videos / "v0.mp4").write_bytes((folder / "v0.mp4").read_bytes())
    assert main(["index", "build", str(videos), "--out", str(tmp_path / "d.index"), *TINY[:2]]) == 0


def test_index_from_shards_equals_index_from_one_file(tmp_path, folder, capsys):
    one, many = tmp_path / "one.safetensors", tmp_path / "shards"
    assert main(["embed", str(folder), "--out", str(one), *TINY]) == 0
    assert main(["embed", str(folder), "--out", str(many), "--shard-size", "2", *TINY]) == 0
    for source, name in ((one, "one.index"), (many, "many.index")):
        assert main(["index", "build", str(source), "--out", str(tmp_path / name), "--kind", "flat", *TINY[:2]]) == 0
    a, b = (VideoIndex.load(tmp_path / name) for name in ("one.index", "many.index"))
    assert a.sources == b.sources and a.spec == b.spec == {"kind": "flat"}
    assert torch.equal(a.embeddings(range(len(a))), b.embeddings(range(len(b))))
    assert all(np.array_equal(a.features()[k], b.features()[k]) for k in a.features())
    query = a.embeddings([4])[0]
    assert a.search(query, k=5) == b.search(query, k=5)
    trained = tmp_path / "ivf.index"
    assert main(["index", "build", str(many), "--out", str(trained), "--index-type", "ivf", *TINY[:2]]) == 0
    assert VideoIndex.load(trained).spec["kind"] == "ivf" and VideoIndex.load(trained).sources == a.sources


@pytest.fixture
def one_faiss_thread():
    """k-means on a few hundred points: OpenMP threads only wait on each other (seconds on a busy box)."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


@pytest.mark.parametrize("kind", ["ivf", "ivfpq"])
def test_trained_index_from_parts_equals_one_part(tmp_path, kind, one_faiss_thread):
    """The training sample is drawn by row over all parts, so parts change nothing."""
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((20, 16), dtype=np.float32)  # clustered, as embeddings are
    vectors = torch.from_numpy(centres[rng.integers(0, 20, 600)] + 0.3 * rng.standard_normal((600, 16), dtype=np.float32))
    vectors = vectors / vectors.norm(dim=1, keepdim=True)
    paths = []
    for i in range(len(vectors)):
        (tmp_path / f"{i}.mp4").touch()
        paths.append(str(tmp_path / f"{i}.mp4"))
    whole = VideoEmbeddings(vectors, {}, paths)
    cuts = [0, 1, 250, 251, 600]  # an empty part too
    parts = [VideoEmbeddings(vectors[a:b], {}, paths[a:b]) for a, b in zip(cuts, cuts[1:])]
    identity = {"name": "synthetic"}
    one = VideoIndex.from_parts(None, lambda: iter([whole]), count=600, identity=identity, kind=kind)
    split = VideoIndex.from_parts(None, lambda: iter(parts), count=600, identity=identity, kind=kind)
    assert one.spec == split.spec and one.spec["kind"] == kind and one.sources == split.sources
    assert torch.equal(one.embeddings(range(600)), split.embeddings(range(600)))
    assert one.search(vectors[7], k=10) == split.search(vectors[7], k=10)
    if kind == "ivf":  # (IVF-PQ at D = 16 keeps 1 byte a vector: its recall is measured by tools/bench_search.py)
        hits = {path for path, _ in one.search(vectors[7], k=10)}
        exact = {paths[i] for i in torch.topk(vectors @ vectors[7], 10).indices.tolist()}
        assert len(hits & exact) >= 9


def test_memory_holds_one_shard_at_a_time(tmp_path, folder, monkeypatch):
    """What embed holds when writing a shard: that shard's rows, whatever the number of videos."""
    from vidclip.pipeline import Pipeline

    made, held = [], []
    real_embed, real_write = Pipeline.embed_videos, shards.write_shard

    def embed(self, videos, **options):
        found = real_embed(self, videos, **options)
        made.append(weakref.ref(found))
        return found

    def write(out, number, inputs, found, identity):
        alive = [ref() for ref in made if ref() is not None]
        held.append((len(alive), sum(len(found) for found in alive)))
        real_write(out, number, inputs, found, identity)

    monkeypatch.setattr(Pipeline, "embed_videos", embed)
    monkeypatch.setattr(shards, "write_shard", write)
    assert main(["embed", str(folder), "--out", str(tmp_path / "shards"), "--shard-size", "2", *TINY]) == 0
    assert held == [(1, 2)] * 4 + [(1, 1)]  # five shards embedded, one alive at a time
