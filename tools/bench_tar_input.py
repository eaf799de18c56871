"""Cost of reading videos from a WebDataset tar (copy each member to a temporary file) vs the same files.

    python tools/bench_tar_input.py [--clips 12] [--size 320x240] [--seconds 3] [--repeats 3]

Makes the clips with the ffmpeg CLI (testsrc2, H.264), packs them into one tar, then times
read_frames(num_frames=8) over every clip, from the files and from the tar (best of --repeats).
"""

import argparse
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from vidclip.pipeline import Pipeline  # noqa: F401  (import cost outside the timings)
from vidclip.video import read_frames
from vidclip.video.tar_members import expand_tar, member_file


def best_of(repeats, work):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-tar-"))
    files = []
    for i in range(args.clips):
        path = folder / f"{i:04d}.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=s={args.size}:r=30:d={args.seconds}",
                        "-vf", f"hue=h={i * 30}", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                        str(path)], check=True)
        files.append(path)
    tar = folder / "00000.tar"
    with tarfile.open(tar, "w") as archive:
        for path in files:
            archive.add(path, arcname=path.name)
    members = expand_tar(tar)

    def from_files():
        for path in files:
            read_frames(str(path), num_frames=8)

    def from_tar():
        for source in members:
            with member_file(source) as path:
                read_frames(path, num_frames=8)

    def copy_only():
        for source in members:
            with member_file(source):
                pass

    try:
        report(args, files, from_files, from_tar, copy_only)
    finally:
        shutil.rmtree(folder)


def report(args, files, from_files, from_tar, copy_only):
    from_files()  # warm the page cache and the decoders
    direct, tarred, copies = (best_of(args.repeats, work) for work in (from_files, from_tar, copy_only))
    size = sum(path.stat().st_size for path in files) / len(files) / 1024
    print(f"{args.clips} clips of {args.size}, {args.seconds:g} s, {size:.0f} KiB each; read_frames(num_frames=8)")
    print(f"files: {1000 * direct / args.clips:.2f} ms/clip; tar: {1000 * tarred / args.clips:.2f} ms/clip "
          f"(+{100 * (tarred - direct) / direct:.1f}%); copy to a temporary file alone: {1000 * copies / args.clips:.3f} ms/clip")


if __name__ == "__main__":
    main()
