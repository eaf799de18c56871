"""Every annotation format, from small files shaped like the real releases (shared/formats/README.md)."""

import json
import logging
import pickle

import pytest

from vidclip.data.formats import (AnnotationError, class_name_to_text, class_prompts, detect_format,
                                  load_annotations, read_didemo, read_msvd)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def touch_videos(root, *names):
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")


MSRVTT_DATA = {
    "info": {"year": 2016},
    "videos": [
        {"video_id": "video0", "category": 9, "url": "u", "start time": 137.72, "end time": 149.44, "split": "train", "id": 0},
        {"video_id": "video1", "category": 2, "url": "u", "start time": 10.0, "end time": 20.0, "split": "test", "id": 1},
    ],
    "sentences": [
        {"caption": "a car is shown", "video_id": "video0", "sen_id": 0},
        {"caption": "a red car drives", "video_id": "video0", "sen_id": 1},
        {"caption": "a man sings", "video_id": "video1", "sen_id": 2},
    ],
}


# ---------------------------------------------------------------- retrieval

def test_msrvtt_json_split_and_videos_dir(tmp_path):
    path = write(tmp_path / "MSRVTT_data.json", json.dumps(MSRVTT_DATA, indent=1))
    touch_videos(tmp_path / "videos" / "all", "video0.mp4", "video1.mp4")
    annotations = load_annotations(path)
    assert annotations.format == "msrvtt" and len(annotations) == 3
    first = annotations[0]
    assert first.video == tmp_path / "videos" / "all" / "video0.mp4"
    assert first.caption == "a car is shown" and first.video_id == "video0" and first.start is None
    assert first.duration == pytest.approx(149.44 - 137.72)
    assert annotations.report.num_missing == 0 and annotations.report.num_videos == 2
    test = load_annotations(path, split="test")
    assert [r.caption for r in test] == ["a man sings"]


def test_msrvtt_train_9k_csv_reads_captions_from_the_json_beside_it(tmp_path):
    write(tmp_path / "MSRVTT_data.json", json.dumps(MSRVTT_DATA))
    split = write(tmp_path / "MSRVTT_train.9k.csv", "video_id\nvideo0\n")
    annotations = load_annotations(split)
    assert annotations.format == "msrvtt_split"
    assert [r.caption for r in annotations] == ["a car is shown", "a red car drives"]


def test_msrvtt_split_without_json_says_what_to_pass(tmp_path):
    split = write(tmp_path / "MSRVTT_train.9k.csv", "video_id\nvideo0\n")
    with pytest.raises(AnnotationError, match="data_json="):
        load_annotations(split)


def test_msrvtt_jsfusion_1k_a(tmp_path):
    path = write(tmp_path / "MSRVTT_JSFUSION_test.csv",
                 "key,vid_key,video_id,sentence\nret0,msr7579,video7579,a girl wearing red top\n"
                 "ret1,msr7725,video7725,young people sit around\n")
    touch_videos(tmp_path, "video7579.mp4")
    annotations = load_annotations(path)
    assert annotations.format == "msrvtt_jsfusion"
    assert [(r.video_id, r.caption) for r in annotations] == [("video7579", "a girl wearing red top"),
                                                              ("video7725", "young people sit around")]
    assert annotations.report.missing_videos == [str(tmp_path / "video7725.mp4")]


def test_msvd_id_list_with_json_captions(tmp_path):
    write(tmp_path / "raw-captions.json", json.dumps({"-4wsuPCjDBc_5_15": ["a man cuts", "someone cuts"],
                                                     "abc_1_2": ["a cat"]}))
    ids = write(tmp_path / "test_list.txt", "-4wsuPCjDBc_5_15\n")
    touch_videos(tmp_path, "-4wsuPCjDBc_5_15.avi")
    annotations = load_annotations(ids)
    assert annotations.format == "msvd"
    assert [r.caption for r in annotations] == ["a man cuts", "someone cuts"]
    assert annotations[0].video.name == "-4wsuPCjDBc_5_15.avi"


def test_msvd_pickle_refused_unless_allowed(tmp_path):
    pkl = tmp_path / "raw-captions.pkl"
    pkl.write_bytes(pickle.dumps({"vid1": [["a", "dog", "runs"], ["dog", "running"]]}))
    ids = write(tmp_path / "train_list.txt", "vid1\n")
    with pytest.raises(AnnotationError, match="refusing to unpickle.*allow_pickle=True"):
        load_annotations(ids)
    annotations = read_msvd(ids, allow_pickle=True)
    assert [r.caption for r in annotations] == ["a dog runs", "dog running"]


def test_msvd_unknown_id_names_the_line(tmp_path):
    write(tmp_path / "raw-captions.json", json.dumps({"vid1": ["a cat"]}))
    ids = write(tmp_path / "val_list.txt", "vid1\n\nvid9\n")
    with pytest.raises(AnnotationError, match=r"val_list.txt:3: video 'vid9' has no captions"):
        load_annotations(ids)


DIDEMO = [
    {"video": "12345678@N00_2981237382_ad7a8e5d0b.mov", "times": [[2, 2], [2, 3]], "description": "the dog jumps"},
    {"video": "12345678@N00_2981237382_ad7a8e5d0b.mov", "times": [[0, 0], [0, 0], [0, 1]], "description": "a man walks in"},
    {"video": "other.mp4", "times": [[5, 5]], "description": "the end"},
]


def test_didemo_paragraphs_and_seconds(tmp_path):
    path = write(tmp_path / "test_data.json", json.dumps(DIDEMO))
    touch_videos(tmp_path, "12345678@N00_2981237382_ad7a8e5d0b.mp4")  # a converted copy is found too
    annotations = load_annotations(path)
    assert annotations.format == "didemo" and len(annotations) == 2
    paragraph = annotations[0]
    assert paragraph.caption == "the dog jumps a man walks in"
    assert paragraph.video.name == "12345678@N00_2981237382_ad7a8e5d0b.mp4"
    sentence, start, end = paragraph.extra["moments"][0]
    assert sentence == "the dog jumps" and start == 10.0 and end == pytest.approx((2.5 + 1) * 5)
    assert paragraph.extra["moments"][1][1:] == (0.0, pytest.approx((1 / 3 + 1) * 5))
    sentences = read_didemo(path, unit="sentence")
    assert [(r.start, r.end) for r in sentences][2] == (25.0, 30.0)
    assert annotations.report.missing_videos == [str(tmp_path / "other.mp4")]


def test_didemo_start_after_end_is_dropped_or_an_error_with_line(tmp_path):
    bad = DIDEMO[:1] + [{"video": "x.mov", "times": [[3, 1]], "description": "oops"}]
    path = write(tmp_path / "train_data.json", json.dumps(bad, indent=2))
    text = json.dumps(bad, indent=2).splitlines()
    expected_line = [i for i, line in enumerate(text) if line == "  {"][1] + 1  # the second entry
    kept = load_annotations(path)
    assert len(kept) == 1 and kept.report.dropped == {"start > end": 1}
    assert kept.report.dropped_where == [f"{path}:{expected_line} (video 'x'): start > end"]
    with pytest.raises(AnnotationError) as error:
        load_annotations(path, on_invalid="error")
    assert f"train_data.json:{expected_line} (video 'x'):" in str(error.value)
    assert "start 15 > end 5" in str(error.value)
    assert error.value.line == expected_line and error.value.video_id == "x"


def test_lsmdc_tsv_finds_clips_in_movie_folders(tmp_path):
    clip = "0001_American_Beauty_00.00.51.926-00.00.54.129"
    path = write(tmp_path / "LSMDC16_annos_training.csv",
                 f"{clip}\t00.00.51.926\t00.00.54.129\t00.00.51.926\t00.00.54.129\tSOMEONE looks at a photo.\n")
    touch_videos(tmp_path, f"0001_American_Beauty/{clip}.avi")
    annotations = load_annotations(path)
    assert annotations.format == "lsmdc"
    record = annotations[0]
    assert record.caption == "SOMEONE looks at a photo." and record.video_id == clip
    assert record.video == tmp_path / "0001_American_Beauty" / f"{clip}.avi"
    assert annotations.report.num_missing == 0


# ---------------------------------------------------------------- moments

def test_charades_sta_with_durations_clips_and_counts(tmp_path):
    path = write(tmp_path / "charades_sta_test.txt",
                 "AO8RW 0.0 6.9##a person is putting a book on a shelf.\n"
                 "AO8RW 20.1 33.5##person opens the door.\n")
    write(tmp_path / "Charades_v1_test.csv", "id,subject,scene,length\nAO8RW,s1,Kitchen,30.0\n")
    annotations = load_annotations(path)
    assert annotations.format == "charades_sta"
    first, second = annotations
    assert (first.start, first.end, first.duration) == (0.0, 6.9, 30.0)
    assert first.caption == "a person is putting a book on a shelf."
    assert (second.start, second.end) == (20.1, 30.0)
    assert annotations.report.num_clipped == 1
    assert annotations.report.clipped == [f"{path}:2 (video 'AO8RW')"]
    assert "1 moments clipped" in str(annotations.report)


def test_charades_sta_start_after_end_names_file_and_line(tmp_path):
    path = write(tmp_path / "charades_sta_train.txt", "AO8RW 0.0 6.9##ok\nAO8RW 9.0 3.0##backwards\n")
    with pytest.raises(AnnotationError, match=r"charades_sta_train.txt:2 \(video 'AO8RW'\): start 9 > end 3"):
        load_annotations(path, on_invalid="error")


def test_charades_sta_malformed_line(tmp_path):
    path = write(tmp_path / "charades_sta_train.txt", "AO8RW 0.0 6.9##ok\nAO8RW 0.0 six##bad\n")
    with pytest.raises(AnnotationError, match=r":2 \(video 'AO8RW'\): end must be a number"):
        load_annotations(path)


def test_activitynet_strips_leading_spaces_and_clips(tmp_path):
    data = {"v_QOlSCBRmfWY": {"duration": 82.73, "timestamps": [[0.83, 19.86], [17.37, 90.0]],
                              "sentences": ["A young woman is seen.", " She then dances."]}}
    path = write(tmp_path / "val_1.json", json.dumps(data))
    touch_videos(tmp_path, "v_QOlSCBRmfWY.mkv")
    annotations = load_annotations(path)
    assert annotations.format == "activitynet"
    assert [r.caption for r in annotations] == ["A young woman is seen.", "She then dances."]
    assert annotations[1].end == 82.73 and annotations.report.num_clipped == 1
    assert annotations[0].video.name == "v_QOlSCBRmfWY.mkv"


def test_activitynet_mismatched_lists_name_the_line(tmp_path):
    text = '{\n"v_a": {"duration": 10, "timestamps": [[0, 1]], "sentences": ["x"]},\n' \
           '"v_b": {"duration": 10, "timestamps": [[0, 1]], "sentences": ["x", "y"]}\n}'
    path = write(tmp_path / "train.json", text)
    with pytest.raises(AnnotationError, match=r"train.json:3 \(video 'v_b'\): timestamps and sentences"):
        load_annotations(path)


def test_charades_cd_json(tmp_path):
    data = {"AO8RW": {"duration": 30.0, "timestamps": [[1.0, 5.0]], "sentences": ["a person sits."]}}
    path = write(tmp_path / "charades_test_ood.json", json.dumps(data))
    annotations = load_annotations(path)
    assert annotations.format == "charades_json"
    assert (annotations[0].start, annotations[0].end, annotations[0].duration) == (1.0, 5.0, 30.0)
    assert load_annotations(path, format="charades_cd").format == "charades_cd"


def test_qvhighlights_jsonl(tmp_path):
    lines = [
        {"qid": 8737, "query": "A family is playing basketball.", "duration": 126, "vid": "bP5KfdFJzC4_660.0_810.0",
         "relevant_windows": [[0, 16], [120, 130]], "relevant_clip_ids": [0, 1],
         "saliency_scores": [[4, 1, 1], [4, 2, 1]]},
        {"qid": 9, "query": "test query", "duration": 150, "vid": "xyz_0.0_150.0"},
    ]
    path = write(tmp_path / "highlight_val_release.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    touch_videos(tmp_path / "videos", "bP5KfdFJzC4_660.0_810.0.mp4")
    annotations = load_annotations(path)
    assert annotations.format == "qvhighlights"
    first, test = annotations
    assert (first.start, first.end) == (0.0, 16.0)
    assert first.extra["relevant_windows"] == [(0.0, 16.0), (120.0, 126.0)]
    assert first.extra["qid"] == 8737 and first.extra["saliency_scores"][1] == [4, 2, 1]
    assert first.video == tmp_path / "videos" / "bP5KfdFJzC4_660.0_810.0.mp4"
    assert test.start is None and test.end is None
    assert annotations.report.num_clipped == 1 and annotations.report.num_missing == 1


def test_qvhighlights_bad_json_line(tmp_path):
    path = write(tmp_path / "highlight_train_release.jsonl", '{"qid": 1, "query": "q", "vid": "v"}\n{"qid": 2,\n')
    with pytest.raises(AnnotationError, match=r"highlight_train_release.jsonl:2: invalid JSON"):
        load_annotations(path)


def test_tvsum_anno_drops_bad_lines_with_reasons(tmp_path):
    write(tmp_path / "ydata-tvsum50-info.tsv", "category\tvideo_id\ttitle\turl\tlength\n"
          "VT\tgood\tA flat tire\thttp://x\t0:04\nVT\tuneven\tUneven\thttp://x\t0:04\n"
          "VT\tbadscore\tBad\thttp://x\t0:02\n")
    lines = ["good\tVT\t1,1,5,5", "good\tVT\t2,2,3,3",
             "good\tVT\t1,x,5,5",  # not a number: this annotator is dropped alone
             "uneven\tVT\t1,1,1,1", "uneven\tVT\t1,1,1",  # annotators disagree on the frame count
             "badscore\tVT\t0,6",  # outside 1-5: its only annotator goes, and the video with it
             "unlisted\tVT\t3,3"]  # not in the info file
    path = write(tmp_path / "ydata-tvsum50-anno.tsv", "\n".join(lines) + "\n")
    annotations = load_annotations(path)
    assert [r.video_id for r in annotations] == ["good"]
    assert annotations[0].extra["saliency_scores"] == [[1, 2], [5, 3]]  # 4 frames over 4 s: 2 per clip
    assert annotations.report.dropped == {"importance scores not numbers from 1 to 5": 2,
                                          "annotators rated different numbers of frames": 1,
                                          "video not in the info file (no title or duration)": 1}
    assert any("ydata-tvsum50-anno.tsv:3" in where for where in annotations.report.dropped_where)
    with pytest.raises(AnnotationError, match=r"ydata-tvsum50-anno.tsv:3 .*not numbers from 1 to 5"):
        load_annotations(path, on_invalid="error")
    write(tmp_path / "ydata-tvsum50-anno.tsv", "good\tVT\t1,1,5,5\ngood\t1,1,5,5\n")
    with pytest.raises(AnnotationError, match=r"ydata-tvsum50-anno.tsv:2: expected 'video_id<TAB>category<TAB>scores'"):
        load_annotations(path, format="tvsum")
    (tmp_path / "ydata-tvsum50-info.tsv").unlink()
    with pytest.raises(AnnotationError, match="ydata-tvsum50-info.tsv"):
        load_annotations(path, format="tvsum")



def test_youtube_highlights_drops_bad_lines_with_reasons(tmp_path):
    def line(vid, **change):
        entry = {"qid": vid, "query": "dog", "duration": 5.0, "vid": vid, "relevant_clip_ids": None,
                 "relevant_windows": None, "label": [[0], [1], [0]], "domain": "dog", "frames": 150.0, "fps": 30.0,
                 "clip": [[0.0, 100.0], [50.0, 150.0], [100.0, 151.0]], "match": [-1, 1, 0]}
        return json.dumps({**entry, **change})

    lines = [line("good"),
             line("mismatch", match=[-1, 1]),  # a match short of the windows
             line("oddmatch", match=[-1, 2, 0]),  # not -1/0/1
             line("disagree", label=[[1], [1], [0]]),  # label 1 where match is -1
             line("backwards", clip=[[0.0, 100.0], [150.0, 50.0], [100.0, 151.0]]),  # ends before it starts
             line("noclip", clip=None),
             line("nofps", fps=0),
             line("nolabel", label=None)]  # no label to check: match alone decides
    path = write(tmp_path / "youtube_highlight_train_release.jsonl", "\n".join(lines) + "\n")
    annotations = load_annotations(path)
    assert annotations.format == "youtube_highlights"
    assert [r.video_id for r in annotations] == ["good", "nolabel"]
    assert annotations[0].extra["clip_labels"] == [0, 1, 0]
    assert annotations[0].extra["clip_windows"][2] == pytest.approx([100 / 30, 151 / 30], abs=1e-4)
    assert annotations.report.dropped == {"match not one of -1, 0, 1 per clip window": 2,
                                          "label disagrees with match > 0": 1,
                                          "clip windows not [start_frame, end_frame] pairs with start < end": 2,
                                          "fps not a positive number": 1}
    assert any("youtube_highlight_train_release.jsonl:4" in where for where in annotations.report.dropped_where)
    with pytest.raises(AnnotationError, match=r"youtube_highlight_train_release.jsonl:2 .*match not one of"):
        load_annotations(path, on_invalid="error")
    write(tmp_path / "youtube_highlight_train_release.jsonl", line("good") + "\n" + '{"vid": "x", "clip": [], "match": []}\n')
    with pytest.raises(AnnotationError, match=r"jsonl:2: YouTube Highlights entry lacks 'query'"):
        load_annotations(path)


# ---------------------------------------------------------------- actions

def test_kinetics_csv_labels_and_clip_names(tmp_path):
    path = write(tmp_path / "kinetics_400_val.csv",
                 "label,youtube_id,time_start,time_end,split\nabseiling,0347ZoDXyP0,15,25,val\n"
                 "zumba,abcdefghijk,0,10,val\npassing American football (in game),q,1,11,val\n")
    touch_videos(tmp_path, "abseiling/0347ZoDXyP0_000015_000025.mp4")
    annotations = load_annotations(path)
    assert annotations.format == "kinetics"
    assert annotations.classes == ["abseiling", "passing American football (in game)", "zumba"]
    first = annotations[0]
    assert first.label == 0 and first.caption == "a video of a person abseiling."
    assert first.video == tmp_path / "abseiling" / "0347ZoDXyP0_000015_000025.mp4"
    assert annotations.report.num_missing == 2
    dropped = load_annotations(path, on_missing="drop")
    assert len(dropped) == 1 and dropped.report.dropped_records == 2


def test_ucf101_lists(tmp_path):
    write(tmp_path / "classInd.txt", "1 ApplyEyeMakeup\n2 YoYo\n")
    path = write(tmp_path / "testlist01.txt", "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\nYoYo/v_YoYo_g02_c01.avi\n")
    touch_videos(tmp_path, "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi")
    annotations = load_annotations(path)
    assert annotations.format == "ucf101" and annotations.classes == ["ApplyEyeMakeup", "YoYo"]
    assert [r.label for r in annotations] == [0, 1]
    assert annotations[0].caption == "a video of a person apply eye makeup."
    assert annotations[0].video == tmp_path / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g01_c01.avi"
    train = write(tmp_path / "trainlist01.txt", "YoYo/v_YoYo_g08_c01.avi 1\n")
    with pytest.raises(AnnotationError, match=r"trainlist01.txt:1: label 1 disagrees"):
        load_annotations(train)


def test_hmdb51_split_files(tmp_path):
    splits = tmp_path / "testTrainMulti_7030_splits"
    write(splits / "brush_hair_test_split1.txt", "a.avi 1 \nb.avi 2 \nc.avi 0 \n")
    write(splits / "cartwheel_test_split1.txt", "d.avi 2 \n")
    write(splits / "cartwheel_test_split2.txt", "e.avi 2 \n")
    videos = tmp_path / "videos"
    touch_videos(videos, "brush_hair/b.avi", "cartwheel/d.avi")
    annotations = load_annotations(splits / "cartwheel_test_split1.txt", video_root=videos)
    assert annotations.format == "hmdb51" and annotations.classes == ["brush_hair", "cartwheel"]
    assert [(r.video_id, r.label, r.caption) for r in annotations] == [
        ("b", 0, "a video of a person brush hair."), ("d", 1, "a video of a person cartwheel.")]
    assert annotations.report.num_missing == 0
    train = load_annotations(splits, video_root=videos, subset="train")
    assert [r.video_id for r in train] == ["a"]


def test_class_names_become_text():
    assert class_name_to_text("brush_hair") == "brush hair"
    assert class_name_to_text("ApplyEyeMakeup") == "apply eye makeup"
    assert class_prompts(["ride_bike"], templates=("a video of a person {}.", "{}")) == [
        ["a video of a person ride bike.", "ride bike"]]


# ---------------------------------------------------------------- generic jsonl, validation, detection

def test_generic_jsonl(tmp_path):
    path = write(tmp_path / "train.jsonl",
                 '{"video": "clips/a.mp4", "caption": "a dog runs", "start": 1.5, "end": 4.0, "duration": 3.0}\n'
                 '{"video": "b", "caption": "  a cat  sleeps ", "topic": "pets"}\n')
    touch_videos(tmp_path, "clips/a.mp4", "b.webm")
    annotations = load_annotations(path)
    assert annotations.format == "jsonl"
    a, b = annotations
    assert a.video == tmp_path / "clips" / "a.mp4" and (a.start, a.end) == (1.5, 3.0)
    assert b.video == tmp_path / "b.webm" and b.caption == "a cat sleeps" and b.extra == {"topic": "pets"}
    assert b.source == f"{path}:2"
    assert annotations.report.num_clipped == 1 and annotations.report.num_missing == 0


@pytest.mark.parametrize("line, message", [
    ('{"video": "a", "caption": "x", "start": 5, "end": 2}', "start 5 > end 2"),
    ('{"video": "a", "caption": ""}', "caption must be non-empty"),
    ('{"caption": "x"}', '"video" must be'),
    ('{"video": "a", "caption": "x", "start": 1}', "needs both start and end"),
    ('{"video": "a", "caption": "x", "start": 40, "end": 50, "duration": 30}', "starts after the video ends"),
])
def test_generic_jsonl_errors_carry_file_and_line(tmp_path, line, message):
    path = write(tmp_path / "data.jsonl", '{"video": "ok", "caption": "fine"}\n' + line + "\n")
    with pytest.raises(AnnotationError) as error:
        load_annotations(path, on_invalid="error")
    assert str(error.value).startswith(f"{path}:2") and message in str(error.value)
    assert isinstance(error.value, ValueError) and error.value.line == 2


def test_video_root_and_missing_videos_are_listed(tmp_path, caplog):
    path = write(tmp_path / "ann" / "data.jsonl", '{"video": "a", "caption": "x"}\n{"video": "b", "caption": "y"}\n'
                 '{"video": "a", "caption": "z"}\n')
    root = tmp_path / "videos"
    touch_videos(root, "a.mov")
    with caplog.at_level(logging.WARNING, logger="vidclip.data"):
        annotations = load_annotations(path, video_root=root)
    report = annotations.report
    assert annotations[0].video == root / "a.mov"
    assert report.num_videos == 2 and report.missing_videos == [str(root / "b.mp4")] and len(annotations) == 3
    assert "1 videos missing" in caplog.text and "b.mp4" in caplog.text


@pytest.mark.parametrize("name, text, expected", [
    ("MSRVTT_data.json", json.dumps(MSRVTT_DATA), "msrvtt"),
    ("anything.csv", "key,vid_key,video_id,sentence\nk,v,video1,s\n", "msrvtt_jsfusion"),
    ("MSRVTT_train.9k.csv", "video_id\nvideo1\n", "msrvtt_split"),
    ("captions.json", json.dumps({"v": ["a"]}), "msvd"),
    ("test_list.txt", "v1\nv2\n", "msvd"),
    ("raw-captions.pkl", "", "msvd"),
    ("data.json", json.dumps(DIDEMO), "didemo"),
    ("LSMDC16_annos_val.csv", "c\t1\t2\t1\t2\ts\n", "lsmdc"),
    ("sta.txt", "AO8RW 0.0 6.9##x\n", "charades_sta"),
    ("train.json", json.dumps({"v_a": {"duration": 1, "timestamps": [], "sentences": []}}), "activitynet"),
    ("novel_word.json", json.dumps({"AO8RW": {"duration": 1, "timestamps": [], "sentences": []}}), "charades_json"),
    ("q.jsonl", json.dumps({"qid": 1, "query": "q", "vid": "v"}), "qvhighlights"),
    ("t.jsonl", json.dumps({"qid": "v", "query": "t", "vid": "v", "label": [[1, 2], [3, 4]]}), "tvsum"),
    ("y.jsonl", json.dumps({"qid": "v", "query": "dog", "vid": "v", "label": [[0], [1]], "clip": [[0, 100], [50, 150]],
                            "match": [-1, 1], "relevant_windows": None}), "youtube_highlights"),  # label alike TVSum's
    ("k400.csv", "label,youtube_id,time_start,time_end,split\n", "kinetics"),
    ("testlist02.txt", "A/v_A.avi\n", "ucf101"),
    ("brush_hair_test_split3.txt", "a.avi 1\n", "hmdb51"),
    ("mine.jsonl", json.dumps({"video": "a", "caption": "c"}), "jsonl"),
])
def test_auto_detection(tmp_path, name, text, expected):
    assert detect_format(write(tmp_path / name, text)) == expected


def test_detection_refuses_unknown_and_side_files(tmp_path):
    with pytest.raises(AnnotationError, match="pass format="):
        detect_format(write(tmp_path / "notes.md", "hello"))
    with pytest.raises(AnnotationError, match="classes or durations"):
        detect_format(write(tmp_path / "Charades_v1_train.csv", "id,length\n"))
    with pytest.raises(AnnotationError, match=r"bad.json:2: invalid JSON"):
        detect_format(write(tmp_path / "bad.json", '{"a":\n  nope}'))
    with pytest.raises(ValueError, match="unknown annotation format"):
        load_annotations(write(tmp_path / "x.jsonl", "{}"), format="youcook")
