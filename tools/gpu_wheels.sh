#!/usr/bin/env bash
# Fill .whl/ with the wheels gpu_check.sh needs on the device machine (Python 3.12, x86-64, no network
# there, torch and triton already installed): vidclip's dependencies that the device image lacks.
# torchcodec must match the device's torch (2.11 -> torchcodec 0.11); it also needs FFmpeg's shared
# libraries, which the device lacks, so the NVDEC step reports that it skipped unless they are carried.
set -eu
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
mkdir -p .whl
for package in open_clip_torch ftfy wcwidth av lemminflect "torchcodec==0.11.*"; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl "$package"
done
du -sh .whl
