"""Decode benchmark: vidclip.read_frames against decord, torchcodec and PyAV used directly.

Makes its own videos (ffmpeg testsrc2; cached in --workdir), then times, median of --repeat
runs, (a) 12 frames uniform over the video and (b) 1 frame per second, for:
  vidclip exact / keyframe   read_frames(path, num_frames=12 | fps=1, mode=...)
  decord                     VideoReader(path).get_batch(indices)
  torchcodec                 VideoDecoder(path).get_frames_played_at(times)
  pyav                       one sequential decode (thread_type="AUTO"), wanted frames to RGB
Every contender gets the same times (segment centres / slot middles). Prints a table with
vidclip exact / best peer (target <= 1) and best peer / vidclip keyframe (target >= 5 on
long-GOP video).

    python tools/bench_decode.py --quick            # ~2 min
    python tools/bench_decode.py --workdir /tmp/vb  # the issue's videos, ~10 min
    python tools/bench_decode.py --quick --device cuda   # NVDEC: vidclip (torchcodec on CUDA) vs torchcodec
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

# name -> (seconds, ffmpeg encode arguments); full and --quick sizes
VIDEOS = {
    "h264 720p 60s": (60, "1280x720", ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"], "mp4"),
    "vp9 640p 30s": (30, "640x360", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
                                      "-row-mt", "1", "-b:v", "1M"], "webm"),
    "h264 640p 20min": (1200, "640x360", ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"], "mp4"),
}
QUICK_SECONDS = {"h264 720p 60s": 20, "vp9 640p 30s": 10, "h264 640p 20min": 180}


def make_videos(workdir: Path, quick: bool) -> dict[str, Path]:
    paths = {}
    for name, (seconds, size, codec, ext) in VIDEOS.items():
        seconds = QUICK_SECONDS[name] if quick else seconds
        path = workdir / f"{name.replace(' ', '_')}_{seconds}s.{ext}"
        if not path.exists():
            print(f"making {path.name} ...", flush=True)
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30",
                            "-t", str(seconds), *codec, str(path)], check=True)
        paths[name] = path
    return paths


def request_times(duration: float, case: str) -> np.ndarray:
    if case == "12 frames":
        return (np.arange(12) + 0.5) * duration / 12
    return np.arange(int(duration)) + 0.5  # 1 fps


def gpu_contenders(path: Path, case: str, times: np.ndarray):
    """NVDEC: vidclip's read_frames on CUDA against torchcodec's own CUDA decoder, same times."""
    import torch

    from vidclip.video import read_frames

    request = dict(num_frames=12) if case == "12 frames" else dict(fps=1.0)

    def vidclip_cuda():
        frames = read_frames(path, device="cuda", **request).frames
        torch.cuda.synchronize()
        return frames

    def torchcodec_cuda():
        from torchcodec.decoders import VideoDecoder

        frames = VideoDecoder(str(path), device="cuda").get_frames_played_at(times.tolist()).data
        torch.cuda.synchronize()
        return frames

    return {"vidclip cuda": vidclip_cuda, "torchcodec cuda": torchcodec_cuda}


def contenders(path: Path, case: str, times: np.ndarray, fps: float):
    from vidclip.video import read_frames

    request = dict(num_frames=12) if case == "12 frames" else dict(fps=1.0)
    indices = np.floor(times * fps + 1e-6).astype(int).tolist()

    def vidclip_exact():
        return read_frames(path, **request).frames

    def vidclip_keyframe():
        return read_frames(path, mode="keyframe", **request).frames

    def decord_():
        import decord

        return decord.VideoReader(str(path)).get_batch(indices).asnumpy()

    def torchcodec_():
        from torchcodec.decoders import VideoDecoder

        return VideoDecoder(str(path)).get_frames_played_at(times.tolist()).data

    def pyav_():
        import av

        wanted, out = set(indices), []
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for i, frame in enumerate(container.decode(stream)):
                if i in wanted:
                    out.append(frame.to_ndarray(format="rgb24"))
                if i >= indices[-1]:
                    break
        return out

    return {"vidclip exact": vidclip_exact, "vidclip keyframe": vidclip_keyframe,
            "decord": decord_, "torchcodec": torchcodec_, "pyav": pyav_}


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter videos (20 s, 10 s, 3 min)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the videos here (default: a temp dir)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                        help="cuda: NVDEC decoding through torchcodec (vidclip vs torchcodec alone)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not _cuda_decoding_ready():
        return

    from vidclip.video.frame_index import scan

    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        videos = make_videos(workdir, args.quick)
        rows = []
        for name, path in videos.items():
            index = scan(path)
            gop = np.diff(index.seconds[index.keyframe]).mean() if index.keyframe.sum() > 1 else index.duration
            for case in ("12 frames", "1 fps"):
                times = request_times(index.duration, case)
                result = {}
                fns = (gpu_contenders(path, case, times) if args.device == "cuda"
                       else contenders(path, case, times, index.fps))
                for label, fn in fns.items():
                    try:
                        result[label] = median_time(fn, args.repeat)
                    except Exception as error:  # a peer that is missing or fails on this file
                        result[label] = float("nan")
                        print(f"  {label} failed: {str(error).strip().splitlines()[-1][:100]}")
                    print(f"  {name:16s} {case:9s} {label:17s} {result[label]:7.2f} s", flush=True)
                rows.append((f"{name} (GOP {gop:.1f}s)", case, result))
    if args.device == "cuda":
        for video, case, r in rows:
            print(f"| {video:28s} | {case:9s} | vidclip cuda {r['vidclip cuda']:6.2f}s | torchcodec cuda "
                  f"{r['torchcodec cuda']:6.2f}s | ratio {r['vidclip cuda'] / r['torchcodec cuda']:5.2f} |")
        return
    print_table(rows)


def _cuda_decoding_ready() -> bool:
    """Say why NVDEC cannot be measured here (no GPU, no torchcodec or no FFmpeg for it), or True."""
    import torch

    if not torch.cuda.is_available():
        print("skipped: no CUDA device")
        return False
    try:
        import torchcodec.decoders  # noqa: F401  (loads the FFmpeg libraries it links to)
    except Exception as error:  # ImportError or the loader's RuntimeError naming the missing libraries
        print(f"skipped: torchcodec cannot load ({str(error).strip().splitlines()[0][:160]})")
        return False
    return True


def print_table(rows):
    peers = ("decord", "torchcodec", "pyav")
    header = (f"| {'video':28s} | {'case':9s} | {'vidclip exact':>13s} | {'vidclip key':>11s} | {'decord':>7s} | "
              f"{'torchcodec':>10s} | {'pyav':>7s} | {'exact/best peer':>15s} | {'best peer/key':>13s} |")
    print()
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for video, case, r in rows:
        best = min((r[p] for p in peers if r[p] == r[p]), default=float("nan"))
        print(f"| {video:28s} | {case:9s} | {r['vidclip exact']:12.2f}s | {r['vidclip keyframe']:10.2f}s | "
              f"{_cell(r['decord'], 7)} | {_cell(r['torchcodec'], 10)} | {_cell(r['pyav'], 7)} | "
              f"{r['vidclip exact'] / best:15.2f} | {best / r['vidclip keyframe']:12.1f}x |")


def _cell(seconds: float, width: int) -> str:
    return f"{seconds:{width - 1}.2f}s" if seconds == seconds else f"{'failed':>{width}s}"


if __name__ == "__main__":
    main()
