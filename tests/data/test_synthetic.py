"""The synthetic dataset: deterministic, real H.264, exact temporal twins, clean splits, valid formats."""

import csv
import json
import re
from pathlib import Path

import av
import numpy as np
import pytest

from vidclip.data.synthetic import generate, load_clip_tensor_cache, load_image_pairs, load_moment_tensor_cache
from vidclip.data.synthetic.captions import VERB_PHRASES
from vidclip.data.synthetic.vocab import ACTIONS, SHAPES

SMALL = dict(num_train=60, num_test=30, num_novel=20, num_frames=6, size=24, fps=6, captions_per_clip=3,
             num_moment_train=6, num_moment_test=4, num_moment_novel=4, num_images=40)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "data"
    generate(out, seed=7, workers=1, **SMALL)
    return out


def decode(path):
    """Frames (T, H, W, 3) and the stream's facts, with PyAV alone (independent of the generator)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        facts = (stream.codec_context.name, stream.codec_context.pix_fmt, stream.width, stream.height,
                 float(stream.average_rate))
        frames = np.stack([frame.to_ndarray(format="rgb24") for frame in container.decode(stream)])
    return frames, facts


def msrvtt(root):
    data = json.loads((root / "retrieval" / "MSRVTT_data.json").read_text())
    videos = {v["video_id"]: v for v in data["videos"]}
    captions = {}
    for sentence in data["sentences"]:
        captions.setdefault(sentence["video_id"], []).append(sentence["caption"])
    return videos, captions


def jsonl(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def tree_bytes(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---- determinism -----------------------------------------------------------------------------------

def test_same_seed_same_bytes_whatever_the_workers(root, tmp_path):
    generate(tmp_path / "again", seed=7, workers=2, **SMALL)
    first, second = tree_bytes(root), tree_bytes(tmp_path / "again")
    assert first.keys() == second.keys()
    different = [name for name in first if first[name] != second[name]]
    assert not different, f"differ between runs: {different[:5]}"


def test_another_seed_gives_other_data(root, tmp_path):
    generate(tmp_path / "other", seed=8, workers=1, **SMALL)
    assert (root / "retrieval" / "MSRVTT_data.json").read_bytes() != (tmp_path / "other" / "retrieval" / "MSRVTT_data.json").read_bytes()
    assert not np.array_equal(np.load(root / "retrieval" / "frames_train.npy"),
                              np.load(tmp_path / "other" / "retrieval" / "frames_train.npy"))


# ---- videos and twins ------------------------------------------------------------------------------

def test_videos_are_h264_yuv420p_at_the_requested_size_and_rate(root):
    frames, facts = decode(root / "retrieval" / "videos" / "all" / "video0.mp4")
    assert facts == ("h264", "yuv420p", 24, 24, 6.0)
    assert frames.shape == (6, 24, 24, 3)
    frames, facts = decode(root / "moments" / "videos" / "moment00000.mp4")
    assert facts[:4] == ("h264", "yuv420p", 24, 24)


def test_twins_hold_exactly_the_same_frames_reversed(root):
    twins = json.loads((root / "retrieval" / "twins.json").read_text())
    videos, _ = msrvtt(root)
    assert all(twins[split] for split in ("train", "test", "novel"))
    folder = root / "retrieval" / "videos" / "all"
    moving = 0
    for split, pairs in twins.items():
        for original, twin in pairs:
            a, _ = decode(folder / f"{original}.mp4")
            b, _ = decode(folder / f"{twin}.mp4")
            np.testing.assert_array_equal(a, b[::-1], err_msg=f"{split}: {twin} is not {original} reversed")
            moving += not np.array_equal(a, a[::-1])
            assert videos[twin]["reversed_from"] == original and videos[original]["twin_of"] == twin
    assert moving == sum(len(pairs) for pairs in twins.values())  # no palindromes: order matters in every pair


def test_twin_captions_differ_and_name_the_reversed_action(root):
    videos, captions = msrvtt(root)
    records = {}
    for split in ("train", "test", "novel"):
        for record in jsonl(root / "generic" / f"clips_{split}.jsonl"):
            records.setdefault(record["video_id"], []).append(record)
    twins = json.loads((root / "retrieval" / "twins.json").read_text())
    for original, twin in (pair for pairs in twins.values() for pair in pairs):
        a, b = videos[original], videos[twin]
        assert b["action"] == ACTIONS[a["action"]].reverse and b["shape"] == a["shape"]
        if a["action"] == "change_colour":
            assert (b["colour"], b["colour2"]) == (a["colour2"], a["colour"])
        else:
            assert b["colour"] == a["colour"]
        assert not set(captions[original]) & set(captions[twin])
        for record in records[twin]:
            templates = VERB_PHRASES[b["action"]]
            assert record["dynamic"] in {t.format(colour=b["colour"], colour2=b["colour2"]) for t in templates}
            assert record["caption"] == f"{record['static']} {record['dynamic']}"


def test_clip_captions_name_the_object(root):
    videos, captions = msrvtt(root)
    for video_id, texts in captions.items():
        video = videos[video_id]
        assert len(texts) == 3
        for text in texts:
            assert video["shape"] in text and video["colour"] in text, text


# ---- splits ----------------------------------------------------------------------------------------

def test_novel_verb_object_pairs_never_occur_in_train_or_test(root):
    manifest = json.loads((root / "manifest.json").read_text())
    novel_pairs = {tuple(pair) for pair in manifest["novel_pairs"]}
    held_families = set(manifest["held_out_families"].values())
    assert len(held_families) == len(SHAPES)  # each shape loses a different family: every verb still trains
    videos, _ = msrvtt(root)
    pairs = {split: {(v["action"], v["shape"]) for v in videos.values() if v["split"] == split}
             for split in ("train", "test", "novel")}
    assert pairs["novel"] and pairs["novel"] <= novel_pairs
    assert not pairs["novel"] & (pairs["train"] | pairs["test"])
    # every verb and every shape of the novel split is still seen in training, only not together
    assert {a for a, _ in pairs["novel"]} <= {a for a, _ in pairs["train"]}
    assert {s for _, s in pairs["novel"]} <= {s for _, s in pairs["train"]}
    moment = {split: {(q["action"], q["shape"]) for q in jsonl(root / "generic" / f"moments_{split}.jsonl")}
              for split in ("train", "test", "novel")}
    assert moment["novel"] and moment["novel"] <= novel_pairs
    assert not (moment["train"] | moment["test"]) & novel_pairs


def test_split_lists_cover_every_video_once(root):
    videos, _ = msrvtt(root)
    listed = []
    for split, count in (("train", 60), ("test", 30), ("novel", 20)):
        with open(root / "retrieval" / f"{split}.csv", newline="") as f:
            ids = [row["video_id"] for row in csv.DictReader(f)]
        assert len(ids) == count and all(videos[v]["split"] == split for v in ids)
        listed += ids
    assert sorted(listed) == sorted(videos)


# ---- moments ---------------------------------------------------------------------------------------

def test_moments_lie_inside_the_video_and_do_not_overlap(root):
    durations = {}
    for split in ("train", "test", "novel"):
        by_video = {}
        for q in jsonl(root / "generic" / f"moments_{split}.jsonl"):
            by_video.setdefault(q["video_id"], []).append(q)
        for video_id, queries in by_video.items():
            frames, _ = decode(root / "moments" / "videos" / f"{video_id}.mp4")
            duration = queries[0]["duration"]
            assert duration == pytest.approx(len(frames) / 6, abs=1e-3)
            durations[video_id] = duration
            windows = sorted((q["start"], q["end"]) for q in queries)
            if split != "novel":
                assert 3 <= len(windows) <= 6
            for (start, end), following in zip(windows, windows[1:] + [(duration + 1, None)]):
                assert 0 <= start < end <= duration
                assert end < following[0], "events must be separated by an idle gap"
            assert len({q["caption"] for q in queries}) == len(queries)


def test_qvhighlights_clips_and_scores_follow_the_windows(root):
    for entry in jsonl(root / "moments" / "highlight_test_release.jsonl"):
        assert set(entry) == {"qid", "query", "duration", "vid", "relevant_windows", "relevant_clip_ids", "saliency_scores"}
        (start, end), = entry["relevant_windows"]
        expected = [k for k in range(int(entry["duration"] // 2) + 1) if min(end, 2 * k + 2) > max(start, 2 * k)]
        assert entry["relevant_clip_ids"] == expected
        assert len(entry["saliency_scores"]) == len(expected)
        assert all(len(s) == 3 and all(0 <= x <= 4 for x in s) for s in entry["saliency_scores"])


# ---- formats ---------------------------------------------------------------------------------------

def test_annotation_files_parse_in_their_formats(root):
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["fps"] == 6 and manifest["size"] == 24
    assert manifest["counts"]["clips"] == {"train": 60, "test": 30, "novel": 20}
    data = json.loads((root / "retrieval" / "MSRVTT_data.json").read_text())
    assert {"video_id", "category", "url", "start time", "end time", "split", "id"} <= set(data["videos"][0])
    assert {"caption", "video_id", "sen_id"} == set(data["sentences"][0])
    with open(root / "retrieval" / "test.csv", newline="") as f:
        assert next(csv.reader(f)) == ["key", "vid_key", "video_id", "sentence"]
    sta = re.compile(r"^moment\d{5} \d+(\.\d+)? \d+(\.\d+)?##[a-z ]+$")
    for split in ("train", "test", "novel"):
        lines = (root / "moments" / f"charades_sta_{split}.txt").read_text().splitlines()
        assert lines and all(sta.match(line) for line in lines), lines[:3]
        cg = json.loads((root / manifest["files"]["moments"]["charades_cg"][split]).read_text())
        assert all(len(v["timestamps"]) == len(v["sentences"]) and v["duration"] > 0 for v in cg.values())
        with open(root / "classes" / f"{split}.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert list(rows[0]) == ["label", "youtube_id", "time_start", "time_end", "split"]
        labels = {a.label for a in ACTIONS.values()}
        for row in rows:
            assert row["label"] in labels
            clip = f"{row['youtube_id']}_{int(row['time_start']):06d}_{int(row['time_end']):06d}.mp4"
            assert (root / "classes" / split / clip).is_file()
    with open(root / "moments" / "Charades_v1_test.csv", newline="") as f:
        assert all(float(row["length"]) > 0 for row in csv.DictReader(f))


def test_vidclip_readers_load_every_file_with_no_missing_video(root):
    formats = pytest.importorskip("vidclip.data.formats")
    from vidclip.data.formats.actions import read_kinetics
    from vidclip.data.formats.jsonl import read_jsonl
    from vidclip.data.formats.moments import read_charades_sta, read_moment_json, read_qvhighlights
    from vidclip.data.formats.retrieval import read_msrvtt_jsfusion, read_msrvtt_split

    assert formats is not None
    loaded = [read_msrvtt_split(root / "retrieval" / "train.csv"), read_msrvtt_jsfusion(root / "retrieval" / "test.csv"),
              read_charades_sta(root / "moments" / "charades_sta_test.txt"),
              read_moment_json(root / "moments" / "novel_composition.json"),
              read_qvhighlights(root / "moments" / "highlight_train_release.jsonl"),
              read_kinetics(root / "classes" / "test.csv"), read_jsonl(root / "generic" / "moments_train.jsonl"),
              read_jsonl(root / "generic" / "clips_novel.jsonl")]
    for annotations in loaded:
        assert len(annotations.records) > 0
        assert not annotations.report.missing_videos and not annotations.report.clipped, annotations.report.summary()


# ---- caches and stills -----------------------------------------------------------------------------

def test_clip_cache_is_what_the_mp4s_decode_to(root):
    frames, clips = load_clip_tensor_cache(root, "test")
    decoded, same_clips = load_clip_tensor_cache(root, "test", decode=True)
    assert frames.shape == (30, 6, 3, 24, 24) and str(frames.dtype) == "torch.uint8"
    assert clips == same_clips and len(clips[0]["captions"]) == 3
    assert np.array_equal(frames.numpy(), decoded.numpy())
    first, _ = decode(root / "retrieval" / "videos" / "all" / f"{clips[0]['video_id']}.mp4")
    np.testing.assert_array_equal(frames[0].numpy().transpose(0, 2, 3, 1), first)


def test_moment_cache_is_what_the_mp4s_decode_to(root):
    videos, metadata = load_moment_tensor_cache(root, "test")
    decoded, _ = load_moment_tensor_cache(root, "test", decode=True)
    assert len(videos) == 4 and all(m["queries"] for m in metadata)
    for cached, fresh, meta in zip(videos, decoded, metadata):
        assert cached.shape[1:] == (3, 24, 24) and meta["duration"] == pytest.approx(len(cached) / 6)
        assert np.array_equal(cached.numpy(), fresh.numpy())


def test_still_image_pairs_have_static_captions(root):
    images, captions = load_image_pairs(root)
    assert images.shape == (40, 3, 24, 24) and len(captions) == 40
    records = jsonl(root / "images" / "captions.jsonl")
    for record in records:
        if record["alpha"] > 0:
            assert record["shape"] in record["caption"] and record["colour"] in record["caption"]
            assert not any(verb in record["caption"] for verb in ("moves", "grows", "shrinks", "rotates"))


# ---- CLI and bad input -----------------------------------------------------------------------------

def test_cli_writes_the_manifest_and_refuses_to_overwrite(tmp_path, capsys):
    from vidclip.cli import main

    out = tmp_path / "cli"
    argv = ["synth", str(out), "--num-train", "8", "--num-test", "4", "--num-novel", "4", "--frames", "4",
            "--size", "16", "--num-moment-videos", "2", "1", "1", "--num-images", "5", "--quiet", "--workers", "1"]
    assert main(argv) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["clips"] == {"train": 8, "test": 4, "novel": 4} and manifest["num_frames"] == 4
    assert main(argv) == 2
    assert "overwrite" in capsys.readouterr().err
    assert main(argv + ["--overwrite"]) == 0


@pytest.mark.parametrize("bad, message", [(dict(size=31), "even"), (dict(num_frames=1), "num_frames"),
                                          (dict(twin_fraction=2.0), "twin_fraction"), (dict(num_train=-1), "negative")])
def test_bad_arguments_are_refused_with_the_reason(tmp_path, bad, message):
    with pytest.raises(ValueError, match=message):
        generate(tmp_path / "bad", **{**SMALL, **bad})
