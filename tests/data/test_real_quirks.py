"""The quirks of the official annotation files, reproduced in small made-up files (tests/data/real_like.py).

Each was met loading the real releases: they must neither reject a whole file nor miscount a split.
"""

import json
import logging

import numpy as np
import pytest

import real_like
from vidclip.data.formats import AnnotationError, load_annotations
from vidclip.errors import ConfigError


def test_activitynet_one_line_json_drops_bad_windows_by_video_id(tmp_path, caplog):
    path = real_like.activitynet(tmp_path / "train.json")
    with caplog.at_level(logging.WARNING, logger="vidclip.data"):
        annotations = load_annotations(path)
    assert annotations.format == "activitynet" and len(annotations) == 4
    report = annotations.report
    assert report.dropped == {"start > end": 1, "zero-length window": 1}
    assert sorted(report.dropped_where) == [f"{path} (video 'v_0bosp4-pyTM'): start > end",
                                            f"{path} (video 'v_N7ppHQNikv8'): zero-length window"]
    assert report.clipped == [f"{path} (video 'v_QOlSCBRmfWY')"]  # 90 s clipped to 82.73
    assert "2 records dropped (1 start > end, 1 zero-length window)" in caplog.text
    with pytest.raises(AnnotationError) as error:
        load_annotations(path, on_invalid="error")
    assert str(error.value).startswith(f"{path} (video 'v_N7ppHQNikv8'): window [12.5, 12.5] is empty")
    assert error.value.line is None and error.value.video_id == "v_N7ppHQNikv8"


def test_activitynet_paragraphs_one_record_per_video(tmp_path):
    annotations = load_annotations(real_like.activitynet(tmp_path / "val_1.json"), unit="paragraph")
    assert [r.caption for r in annotations][:1] == ["A young woman dances. She then bows."]
    assert len(annotations) == 3 and all(not r.has_moment for r in annotations)


def test_charades_sta_crlf_lines_drop_an_empty_window_with_file_line_and_video(tmp_path):
    path = real_like.charades_sta(tmp_path / "charades_sta_test.txt")
    real_like.charades_durations(tmp_path / "Charades_v1_test.csv")
    annotations = load_annotations(path)
    assert [r.video_id for r in annotations] == ["AO8RW", "Y6R7T"] and annotations[0].caption.endswith("shelf.")
    assert annotations[1].end == 30.0 and annotations.report.num_clipped == 1  # 31.4 past the 30-s video
    assert annotations.report.dropped_where == [f"{path}:3 (video 'KBPDM'): zero-length window"]


def test_didemo_one_video_per_id_whatever_its_extension(tmp_path):
    path = real_like.didemo(tmp_path / "test_data.json")
    real_like.write(tmp_path / "videos" / "2@N00_2_b.mp4", "")  # the trailing-dot id, converted to mp4
    real_like.write(tmp_path / "videos" / "1@N00_1_a.mov", "")
    annotations = load_annotations(path, video_root=tmp_path / "videos")
    assert annotations.video_ids() == ["1@N00_1_a", "2@N00_2_b", "3@N00_3_c"]
    assert annotations.report.num_videos == 3 and annotations.report.num_missing == 1
    first, second, _ = annotations
    assert first.caption == "a dog runs it stops" and first.video.name == "1@N00_1_a.mov"
    assert [start_end for _, *start_end in first.extra["moments"]] == [[0.0, 7.5], [10.0, 15.0]]
    assert second.video.name == "2@N00_2_b.mp4"
    sentences = load_annotations(path, unit="sentence", video_root=tmp_path / "videos")
    assert len(sentences) == 4 and len(sentences.video_ids()) == 3


def test_charades_cd_reads_video_duration(tmp_path):
    path = real_like.charades_cd(tmp_path / "charades_test_ood.json")
    annotations = load_annotations(path, format="charades_cd")
    assert [(r.video_id, r.start, r.end, r.duration) for r in annotations] == [
        ("N14BK", 39.3, 47.625, 47.625), ("LEOL6", 2.0, 8.0, 30.5)]
    assert annotations.report.dropped == {"window starts after the video ends": 1}
    assert annotations.report.dropped_where == [f"{path} (video 'LEOL6'): window starts after the video ends"]


def test_tacos_frames_become_seconds(tmp_path):
    path = real_like.tacos(tmp_path / "test.json")
    annotations = load_annotations(path)
    assert annotations.format == "tacos"
    first, second = annotations
    assert first.video_id == "s30-d52"
    assert (first.start, first.end) == (pytest.approx(141 / 29.4), pytest.approx(354 / 29.4))
    assert first.duration == pytest.approx(7346 / 29.4) and second.end == pytest.approx(7346 / 29.4)  # clipped
    assert annotations.report.num_clipped == 1


def test_qvhighlights_without_final_newline_drops_a_window_past_the_video(tmp_path):
    annotations = load_annotations(real_like.qvhighlights(tmp_path / "highlight_val_release.jsonl"))
    assert len(annotations) == 2
    first, second = annotations
    assert first.extra["relevant_windows"] == [(0.0, 16.0), (120.0, 126.0)]  # [120, 130] of a 126-s video
    assert second.extra["relevant_windows"] == [(10.0, 20.0)]  # [150, 160] of a 150-s video: dropped
    assert annotations.report.num_clipped == 1
    assert annotations.report.dropped == {"window starts after the video ends": 1}


def test_msrvtt_split_is_a_name_or_a_csv_and_an_unknown_name_lists_the_valid_ones(tmp_path):
    data = real_like.msrvtt_data(tmp_path / "MSRVTT_data.json")
    split = real_like.msrvtt_split(tmp_path / "MSRVTT_train.9k.csv")  # CRLF, as released
    assert load_annotations(data, split=str(split)).video_ids() == ["video0", "video1"]
    assert load_annotations(data, split="test").video_ids() == ["video3"]
    assert len(load_annotations(split)) == 4  # the csv alone finds the json beside it
    with pytest.raises(AnnotationError, match=r"unknown split 'tset': give one of this file's splits \(test, train\)"):
        load_annotations(data, split="tset")


def test_hmdb51_split_number_and_unknown_split(tmp_path):
    folder = real_like.hmdb51(tmp_path / "splits")
    annotations = load_annotations(folder, split="2")
    assert [r.video_id for r in annotations] == ["brush_hair_b", "cartwheel_b"] and annotations.classes == [
        "brush_hair", "cartwheel"]
    with pytest.raises(AnnotationError, match=r"unknown split '4': the split files here are split 1, 2"):
        load_annotations(folder, split=4)


def test_msvd_finds_captions_msvd_json(tmp_path):
    annotations = load_annotations(real_like.msvd(tmp_path / "test_list.txt"))
    assert [r.caption for r in annotations] == ["a dog runs", "dog running", "a cat sleeps"]


def test_crlf_lists_of_kinetics_and_ucf101(tmp_path):
    path = real_like.kinetics(tmp_path / "validate.csv")
    kinetics = load_annotations(path)
    assert kinetics.classes == ["abseiling", "air drumming"] and kinetics[1].video_id == "--nQbRBEz2s_000104_000114"
    with path.open("a", newline="") as file:
        file.write("abseiling,backwards,30,20,validate\r\n")
    kinetics = load_annotations(path)
    assert len(kinetics) == 2
    assert kinetics.report.dropped_where == [f"{path}:4 (video 'backwards_000030_000020'): start > end"]
    ucf = load_annotations(real_like.ucf101(tmp_path / "testlist01.txt"))
    assert ucf.classes == ["ApplyEyeMakeup", "ApplyLipstick"] and [r.label for r in ucf] == [0, 1]


def test_an_option_the_reader_does_not_take_lists_those_it_does(tmp_path):
    path = real_like.hmdb51(tmp_path / "splits")
    with pytest.raises(ConfigError, match=r"format 'kinetics' has no option split; its options: classes, template"):
        load_annotations(real_like.kinetics(tmp_path / "validate.csv"), split="1")
    assert len(load_annotations(path, split="1", subset="train")) == 2


def test_tvsum_release_frames_become_2s_clips_of_every_annotator(tmp_path):
    annotations = load_annotations(real_like.tvsum(tmp_path / "ydata-tvsum50-anno.tsv"))
    assert annotations.format == "tvsum" and len(annotations) == 1
    record = annotations.records[0]
    assert (record.caption, record.duration, record.has_moment) == ("#1 FLAT TIRE", 4.0, False)
    assert record.extra["relevant_clip_ids"] == [0, 1]
    assert record.extra["saliency_scores"] == [[1, 2, 1], [5, 4, 2]]  # clip 1 straddles annotator 3's shot change


def test_tvsum_lighthouse_duration_counts_clips(tmp_path):
    annotations = load_annotations(real_like.tvsum(tmp_path / "tvsum_val_release.jsonl"))
    assert annotations.format == "tvsum"
    record = annotations.records[0]
    assert record.duration == 6.0 and record.extra["category"] == "VU"  # 3 clips of 2 s, not 3 s
    assert record.extra["saliency_scores"][2] == [1.0, 1.0, 4.0]


def test_youtube_highlights_frame_windows_become_seconds_labelled_by_match(tmp_path):
    path = real_like.youtube_highlights(tmp_path / "youtube_highlight_val_release.jsonl")
    annotations = load_annotations(path)
    assert annotations.format == "youtube_highlights" and len(annotations) == 2 and not annotations.report.dropped
    dog, surfing = annotations.records
    assert (dog.caption, dog.has_moment, dog.extra["category"], dog.extra["qid"]) == ("dog", False, "dog", "6bS6-GVLBeM")
    assert dog.duration == pytest.approx(300 * 1.001 / 30)  # frames / fps, as "duration"
    fps = 30000 / 1001
    # frames / fps; kept as released: the first window at frame 1, uneven widths and steps, the last
    # window ending 2 frames past the video
    frames = [[1, 100], [50, 150], [100, 187], [149, 250], [200, 302]]
    assert np.allclose(dog.extra["clip_windows"], np.array(frames) / fps, atol=1e-4)
    assert dog.extra["clip_labels"] == [0, 0, 1, 1, 0]  # match 0 (a boundary) is not a highlight, nor -1
    assert surfing.extra["clip_windows"][-1] == [4.2, 7.5] and surfing.extra["clip_labels"] == [1, 1, 0, 0]
    assert "relevant_clip_ids" not in dog.extra  # not QVHighlights' 2-second clips
