"""`vidclip embed` on WebDataset tar shards: members as `tar::member` sources, sidecars, resume, index."""

import io
import json
import os
import tarfile
from pathlib import Path

import pytest
import torch

from fakes import use_fake_model, write_colour_pair_clips
from vidclip.cli import main
from vidclip.search import shards
from vidclip.search.embeddings_file import load_embeddings
from vidclip.search.index import VideoIndex
from vidclip.video import tar_members

TINY = ["--model", "tiny", "--workers", "1"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Five two-second videos (distinct colour pairs), v0 ... v4."""
    folder = tmp_path_factory.mktemp("clips")
    write_colour_pair_clips(folder, 5)
    return folder


@pytest.fixture(autouse=True)
def fake_model(monkeypatch):
    use_fake_model(monkeypatch)


def _add_bytes(archive, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def make_tar(path, folder, names, *, captions=True):
    """A WebDataset shard: `v3.mp4` (+ `v3.txt`, `v3.json`) per name, in the given order."""
    with tarfile.open(path, "w") as archive:
        for name in names:
            archive.add(folder / f"{name}.mp4", arcname=f"{name}.mp4")
            if captions:
                _add_bytes(archive, f"{name}.txt", f"caption of {name}\n".encode())
                _add_bytes(archive, f"{name}.json", json.dumps({"key": name}).encode())
    return path


def test_members_in_tar_order_with_sidecars_embed_as_the_files_do(tmp_path, folder, monkeypatch):
    scratch = tmp_path / "scratch"  # where the members' temporary files go, to see them deleted
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    tar = make_tar(tmp_path / "00000.tar", folder, ["v3", "v0", "v4"])
    with tarfile.open(tar, "a") as archive:  # not a video: ignored
        _add_bytes(archive, "notes.md", b"hello")
    assert tar_members.expand_tar(tar) == [f"{tar}::v3.mp4", f"{tar}::v0.mp4", f"{tar}::v4.mp4"]
    from_tar, from_files = tmp_path / "tar.safetensors", tmp_path / "files.safetensors"
    assert main(["embed", str(tar), "--out", str(from_tar), *TINY]) == 0
    assert main(["embed", *(str(folder / f"{n}.mp4") for n in ("v3", "v0", "v4")), "--out", str(from_files), *TINY]) == 0
    a, _ = load_embeddings(from_tar)
    b, _ = load_embeddings(from_files)
    assert a.sources == [f"{tar.resolve()}::{n}.mp4" for n in ("v3", "v0", "v4")]
    assert torch.equal(a.embeddings, b.embeddings) and torch.equal(a.frame_features, b.frame_features)
    assert tar_members.sidecars(a.sources[1]) == {"caption": "caption of v0", "meta": {"key": "v0"}}
    assert not list(scratch.iterdir())  # the temporary copies were deleted


def test_shards_carry_captions_resume_and_refuse_a_changed_tar(tmp_path, folder, monkeypatch, capsys):
    one = make_tar(tmp_path / "00000.tar", folder, ["v0", "v1", "v2"])
    two = make_tar(tmp_path / "00001.tar", folder, ["v3", "v4"], captions=False)
    listing = tmp_path / "list.txt"
    listing.write_text("00001.tar\n")
    out = tmp_path / "shards"
    argv = ["embed", str(one), "--inputs", str(listing), "--out", str(out), "--shard-size", "2", *TINY]
    assert main(argv) == 0
    lines = [line for n in range(3) for line in shards.read_listing(out, n)]
    assert [line["path"] for line in lines] == [f"{one}::v0.mp4", f"{one}::v1.mp4", f"{one}::v2.mp4",
                                               f"{two}::v3.mp4", f"{two}::v4.mp4"]
    assert lines[1]["caption"] == "caption of v1" and lines[1]["meta"] == {"key": "v1"}
    assert "caption" not in lines[3] and "meta" not in lines[3]
    manifest = shards.read_manifest(out)
    assert manifest["tars"][str(one)]["size"] == one.stat().st_size
    # killed between a shard's two files: the rerun redoes that shard only
    (out / "shard-00001.jsonl").unlink()
    embedded = []
    real = shards.write_shard
    monkeypatch.setattr(shards, "write_shard", lambda folder, number, *a: (embedded.append(number), real(folder, number, *a)))
    assert main(argv) == 0 and embedded == [1]
    # the same members, but the tar was rewritten: refused, the shards are kept
    make_tar(one, folder, ["v0", "v1", "v2"], captions=False)
    os.utime(one, ns=(one.stat().st_atime_ns, one.stat().st_mtime_ns + 10**9))
    capsys.readouterr()
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert f"holds shards of {one} as it was before it changed" in error and "Traceback" not in error
    assert len(error.strip().splitlines()) == 1


def test_bad_tars_are_skipped_and_listed(tmp_path, folder, capsys):
    good = make_tar(tmp_path / "good.tar", folder, ["v0", "v1"])
    no_video = tmp_path / "text.tar"
    with tarfile.open(no_video, "w") as archive:
        _add_bytes(archive, "a.txt", b"only a caption")
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"not a tar at all" * 100)
    whole = make_tar(tmp_path / "whole.tar", folder, ["v2", "v3", "v4"], captions=False)
    with tarfile.open(whole) as archive:
        second = archive.getmember("v3.mp4").offset_data
    cut = tmp_path / "cut.tar"  # cut in the middle of the second video's bytes: the third is lost too
    cut.write_bytes(whole.read_bytes()[: second + 100])
    bad_member = tmp_path / "bad_member.tar"
    with tarfile.open(bad_member, "w") as archive:
        _add_bytes(archive, "junk.mp4", b"junk bytes, not a video")
    out = tmp_path / "shards"
    argv = ["embed", str(good), str(no_video), str(garbage), str(cut), str(bad_member), "--out", str(out), *TINY,
            "--json"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    skipped = {Path(item["path"]).name: item["reason"] for item in json.loads(captured.out)["skipped"]}
    assert json.loads(captured.out)["count"] == 3  # good's two videos, and cut's first
    assert skipped.keys() == {"text.tar", "garbage.tar", "cut.tar::v3.mp4", "cut.tar", "bad_member.tar::junk.mp4"}
    assert "no video member in the tar archive (1 members" in skipped["text.tar"]
    assert skipped["garbage.tar"].startswith("ValueError: not a readable tar archive")
    assert "truncated tar archive" in skipped["cut.tar::v3.mp4"]
    assert "damaged tar archive: members after the first 2 are lost" in skipped["cut.tar"]
    assert skipped["bad_member.tar::junk.mp4"].startswith("VideoDecodeError: cannot decode video ")
    assert "bad_member.tar::junk.mp4" in skipped["bad_member.tar::junk.mp4"]  # the member, not a temporary file
    # one file: nothing readable at all is a one-line error, exit 2
    assert main(["embed", str(no_video), str(garbage), "--out", str(tmp_path / "x.safetensors"), *TINY]) == 2
    assert "none of the 2 videos could be read" in capsys.readouterr().err


def test_index_from_tar_shards_builds_saves_loads_and_searches(tmp_path, folder, capsys):
    tar = make_tar(tmp_path / "00000.tar", folder, ["v0", "v1", "v2", "v3"])
    out, path = tmp_path / "shards", tmp_path / "tar.index"
    assert main(["embed", str(tar), "--out", str(out), "--shard-size", "3", *TINY]) == 0
    assert main(["index", "build", str(out), "--out", str(path), *TINY[:2]]) == 0
    index = VideoIndex.load(path)
    stat = tar.stat()
    assert index.sources[2] == {"path": f"{tar.resolve()}::v2.mp4", "size": stat.st_size,
                                "mtime_ns": stat.st_mtime_ns, "member": "v2.mp4"}
    assert index.stale() == []
    query = index.embeddings([2])[0]
    assert index.search(query, k=1)[0][0] == f"{tar.resolve()}::v2.mp4"
    capsys.readouterr()
    assert main(["index", "search", str(path), "a video", "-k", "4", *TINY[:2], "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert {r["path"] for r in results} == {f"{tar.resolve()}::v{i}.mp4" for i in range(4)}
    assert not any(r["missing"] for r in results)
    # `index add` of the same tar: every member already indexed
    assert main(["index", "add", str(path), str(tar), *TINY[:2], "--json"]) == 1
    assert {item["reason"] for item in json.loads(capsys.readouterr().out)["skipped"]} == {"already in the index"}
    # the tar rewritten: its members are stale
    os.utime(tar, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert len(VideoIndex.load(path).stale()) == 4


def test_tar_member_names_survive_paths_and_relative_lists(tmp_path, folder):
    tar = tmp_path / "a.tar"
    with tarfile.open(tar, "w") as archive:
        archive.add(folder / "v0.mp4", arcname="./clips/../x.mp4")  # a member name is not a path to normalise
    source = tar_members.expand_tar(tar)[0]
    assert source == f"{tar}::./clips/../x.mp4"
    assert tar_members.absolute_source(os.path.relpath(tar) + "::./clips/../x.mp4") == source
    assert tar_members.source_exists(source) and not tar_members.source_exists(f"{tar}::y.mp4")
    with tar_members.member_file(source) as copy:
        assert Path(copy).read_bytes() == (folder / "v0.mp4").read_bytes() and copy.endswith(".mp4")
    assert not Path(copy).exists()


def test_moments_of_a_tar_member_ask_for_the_file(tmp_path, folder, capsys):
    tar = make_tar(tmp_path / "00000.tar", folder, ["v0"])
    assert main(["moments", f"{tar}::v0.mp4", "a red square", *TINY[:2]]) == 2
    error = capsys.readouterr().err
    assert "is inside a tar archive: moments need a video file" in error and len(error.strip().splitlines()) == 1
