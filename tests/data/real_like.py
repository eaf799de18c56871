"""Tiny annotation files laid out like the official releases, with the quirks found in them.

Made up (no third-party data): the shapes and quirks are those of the files checked by hand
(VSLNet's ActivityNet / Charades-STA / TACoS, LocalizingMoments' DiDeMo, moment_detr's QVHighlights,
Charades-CD / CG): one-line JSON, CRLF line ends, start > end and empty windows, a video under two
extensions or with a trailing dot, Charades-CD's `video_duration`, TACoS's frame timestamps.
"""

import json
from pathlib import Path

CRLF = "\r\n"


def write(path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())
    return path


def msrvtt_data(path):
    videos = [{"video_id": f"video{i}", "category": 1, "url": "u", "start time": 1.0, "end time": 11.0,
               "split": "train" if i < 3 else "test", "id": i} for i in range(4)]
    sentences = [{"caption": f"caption {j} of video {i}", "video_id": f"video{i}", "sen_id": 2 * i + j}
                 for i in range(4) for j in range(2)]
    return write(path, json.dumps({"info": {}, "videos": videos, "sentences": sentences}))


def msrvtt_split(path):
    return write(path, "video_id" + CRLF + "video0" + CRLF + "video1" + CRLF)


def msrvtt_jsfusion(path):
    rows = ["key,vid_key,video_id,sentence"] + [f"ret{i},msr{i},video{i},a sentence {i}" for i in range(3)]
    return write(path, "\n".join(rows) + "\n")


def msvd_captions(path):
    return write(path, json.dumps({"vid1": ["a dog runs", "dog running"], "vid2": ["a cat sleeps"]}))


def msvd(path):
    msvd_captions(Path(path).with_name("captions_msvd.json"))
    return write(path, "vid1" + CRLF + "vid2" + CRLF)


def didemo(path):
    entries = [
        {"video": "1@N00_1_a.mov", "times": [[0, 0], [0, 1]], "description": "a dog runs", "num_segments": 6},
        {"video": "1@N00_1_a.mp4", "times": [[2, 2]], "description": "it stops", "num_segments": 6},
        {"video": "2@N00_2_b.", "times": [[1, 2]], "description": "a car passes", "num_segments": 6},
        {"video": "3@N00_3_c.avi", "times": [[4, 4]], "description": "a man waves", "num_segments": 6},
    ]
    return write(path, json.dumps(entries))  # one line, as released


def lsmdc(path):
    rows = ["1001_Flight_00.00.51.926-00.00.54.129\t00.00.51.926\t00.00.54.129\t00.00.51.926\t00.00.54.129\t"
            "SOMEONE opens the door.",
            "1001_Flight_00.01.00.000-00.01.04.000\t00.01.00.000\t00.01.04.000\t00.01.00.000\t00.01.04.000\t"
            "SOMEONE sits down."]
    return write(path, "\n".join(rows) + "\n")


def charades_sta(path):
    lines = ["AO8RW 0.0 6.9##a person is putting a book on a shelf.",
             "Y6R7T 20.1 31.4##person turns on the light.",
             "KBPDM 12.0 12.0##a person sits."]  # an empty window, as a few real lines
    return write(path, CRLF.join(lines) + CRLF)


def charades_durations(path):
    return write(path, "id,subject,scene,length" + CRLF + "AO8RW,s,Kitchen,30.0" + CRLF + "Y6R7T,s,Hall,30.0" + CRLF
                 + "KBPDM,s,Hall,20.0" + CRLF)


def activitynet(path):
    data = {"v_QOlSCBRmfWY": {"duration": 82.73, "timestamps": [[0.83, 19.86], [17.37, 90.0]],
                              "sentences": ["A young woman dances.", " She then bows."]},
            "v_N7ppHQNikv8": {"duration": 30.0, "timestamps": [[12.5, 12.5], [3.0, 9.0]],
                              "sentences": ["Empty window.", " A man talks."]},
            "v_0bosp4-pyTM": {"duration": 60.0, "timestamps": [[61.29, 60.71], [1.0, 5.0]],
                              "sentences": ["Backwards.", " A dog barks."]}}
    return write(path, json.dumps(data))  # one line, as released


def charades_cd(path):
    data = {"N14BK": {"framestamps": [[628, 720]], "decode_fps": 16.0, "sentences": ["person put a notebook in a bag"],
                      "video_fps": -1.0, "timestamps": [[39.3, 50.0]], "video_duration": 47.625},
            "LEOL6": {"sentences": ["person opens a door", "person leaves"], "timestamps": [[2.0, 8.0], [31.0, 33.0]],
                      "video_duration": 30.5}}
    return write(path, json.dumps(data))


def charades_cg(path):
    data = {"0QA8P": {"sentences": ["the person undressed from all clothes."], "timestamps": [[7.3, 28.1]],
                      "duration": 25.67, "news": [{"DET": ["all"]}]}}
    return write(path, json.dumps(data))


def tacos(path):
    data = {"s30-d52.avi": {"timestamps": [[141, 354], [361, 7400]], "sentences": ["She took out kiwi", "She cut it"],
                            "fps": 29.4, "num_frames": 7346}}
    return write(path, json.dumps(data))


def qvhighlights(path):
    lines = [{"qid": 8737, "query": "A family plays basketball.", "duration": 126, "vid": "bP5KfdFJzC4_660.0_810.0",
              "relevant_windows": [[0, 16], [120, 130]], "relevant_clip_ids": [0, 1],
              "saliency_scores": [[4, 1, 1], [4, 1, 1]]},
             {"qid": 8738, "query": "A man cooks.", "duration": 150, "vid": "j7rJstUseKg_360.0_510.0",
              "relevant_windows": [[10, 20], [150, 160]]}]
    return write(path, "\n".join(json.dumps(line) for line in lines))  # no final newline


def tvsum(path):
    """Lighthouse's jsonl ("duration" counts 2 s clips), or the release's anno tsv: one line per annotator,
    a score per frame, no header, CRLF-free; its info tsv (with a header, lengths as m:ss) beside it."""
    if str(path).endswith(".jsonl"):
        line = {"qid": "sTEELN-vY30", "query": "BBC - Train crash 2013", "duration": 3, "vid": "sTEELN-vY30",
                "relevant_clip_ids": None, "relevant_windows": None, "domain": "VU",
                "label": [[5.0, 3.0, 2.0], [5.0, 4.0, 2.0], [1.0, 1.0, 4.0]]}
        return write(path, json.dumps(line) + "\n")
    write(Path(path).with_name("ydata-tvsum50-info.tsv"),
          "category\tvideo_id\ttitle\turl\tlength\nVT\tAwmHb44_ouw\t#1 FLAT TIRE\thttps://www.youtube.com/watch?v=AwmHb44_ouw\t0:04\n")
    frames = ["1,1,1,1,5,5,5,5", "2,2,2,2,4,4,4,4", "1,1,1,1,1,1,3,3"]  # 8 frames at 2 fps: two 2 s shots
    return write(path, "".join(f"AwmHb44_ouw\tVT\t{scores}\n" for scores in frames))


def youtube_highlights(path):
    """Lighthouse's youtube_highlight_*_release.jsonl: frame windows of ~100 frames at a ~50-frame stride,
    uneven (an 87-frame window, a 49-frame step), a first window at frame 1, a last one ending past
    "frames"; NTSC fps; match 1 / 0 (boundary) / -1 and label [[1]] where match > 0; no final newline."""
    fps = 30000 / 1001
    lines = [{"qid": "6bS6-GVLBeM", "query": "dog", "duration": 300.0 / fps, "vid": "6bS6-GVLBeM",
              "relevant_clip_ids": None, "relevant_windows": None, "label": [[0], [0], [1], [1], [0]],
              "domain": "dog", "frames": 300.0, "fps": fps,
              "clip": [[1.0, 100.0], [50.0, 150.0], [100.0, 187.0], [149.0, 250.0], [200.0, 302.0]],
              "match": [-1, 0, 1, 1, -1]},
             {"qid": "SH7Ns0ANzJU", "query": "surfing", "duration": 7.5, "vid": "SH7Ns0ANzJU",
              "relevant_clip_ids": None, "relevant_windows": None, "label": [[1], [1], [0], [0]],
              "domain": "surfing", "frames": 225.0, "fps": 30.0,
              "clip": [[0.0, 100.0], [42.0, 142.0], [84.0, 184.0], [126.0, 225.0]], "match": [1, 1, 0, -1]}]
    return write(path, "\n".join(json.dumps(line) for line in lines))


def kinetics(path):
    rows = ["label,youtube_id,time_start,time_end,split", "abseiling,0347ZoDXyP0,15,25,validate",
            '"air drumming",--nQbRBEz2s,104,114,validate']
    return write(path, CRLF.join(rows) + CRLF)


def ucf_class_index(path):
    return write(path, CRLF.join(["1 ApplyEyeMakeup", "2 ApplyLipstick"]) + CRLF)


def ucf101(path):
    ucf_class_index(Path(path).with_name("classInd.txt"))
    return write(path, CRLF.join(["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi",
                                  "ApplyLipstick/v_ApplyLipstick_g01_c01.avi"]) + CRLF)


def hmdb51(path):
    for label in ("brush_hair", "cartwheel"):
        for number in (1, 2):
            write(Path(path) / f"{label}_test_split{number}.txt",
                  f"{label}_a.avi 1 \n{label}_b.avi 2 \n{label}_c.avi 0 \n")
    return Path(path)


def jsonl(path):
    return write(path, '{"video": "a.mp4", "caption": "a red square", "start": 0.5, "end": 1.5}\n'
                       '{"video": "b.mp4", "caption": "a blue square"}\n')


WRITERS = {"msrvtt": msrvtt_data, "msrvtt_split": msrvtt_split, "msrvtt_jsfusion": msrvtt_jsfusion, "msvd": msvd,
           "didemo": didemo, "lsmdc": lsmdc, "charades_sta": charades_sta, "activitynet": activitynet,
           "charades_cd": charades_cd, "charades_cg": charades_cg, "charades_json": charades_cg, "tacos": tacos,
           "qvhighlights": qvhighlights, "tvsum": tvsum,
           "youtube_highlights": youtube_highlights, "kinetics": kinetics, "ucf101": ucf101, "hmdb51": hmdb51, "jsonl": jsonl}
OPTION_FILES = {"durations": charades_durations, "class_index": ucf_class_index, "data_json": msrvtt_data,
                "captions": msvd_captions}


def write_spec_files(spec) -> None:
    """The files a recipe's DatasetSpec names, laid out like the real release (relative to the cwd)."""
    WRITERS[spec.format](spec.annotations)
    if spec.format == "msrvtt" and spec.split is not None and spec.split.endswith(".csv"):
        msrvtt_split(spec.split)
    for name, value in spec.options.items():
        if name in OPTION_FILES:
            OPTION_FILES[name](value)
