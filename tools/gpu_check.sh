#!/usr/bin/env bash
# Every GPU check of vidclip in one call, for the rare session that is lent a GPU (under ten minutes):
#   1. the tests marked `gpu` (Triton kernels compiled for real, bf16, CUDA decoding);
#   2. tools/bench_kernels.py --gpu-only (kernels vs their PyTorch twins);
#   3. tools/bench_decode.py --quick --device cuda (NVDEC through torchcodec vs torchcodec alone);
#   4. embedding throughput on the GPU, bf16: ViT-B-32 and ViT-L-14 (random weights: speed only).
# Each step's log goes to $OUT/<step>.log and one JSON, $OUT/gpu_check.json, sums them up
# (exit code, seconds, last lines). Without a GPU every step still runs and says it skipped.
#
# The device machine has torch and triton but not vidclip's other dependencies and no network:
# run `tools/gpu_wheels.sh` here first (it fills .whl/, git-ignored), then on the device
#   run(command="bash tools/gpu_check.sh", carry=[".whl"], timeout_s=590)
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_check_out}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
if ! "$PY" -c "import open_clip, av, lemminflect" 2>/dev/null && ls .whl/*.whl >/dev/null 2>&1; then  # the bare device
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/vidclip-site .whl/*.whl \
        || { echo "gpu_check: installing the carried wheels failed" >&2; exit 2; }
    export PYTHONPATH="/tmp/vidclip-site"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
STEPS=()

step() {  # step NAME TIMEOUT_S COMMAND...
    local name=$1 limit=$2; shift 2
    local began=$SECONDS
    echo "== $name: $*"
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    tail -n 15 "$OUT/$name.log"
    STEPS+=("$name:$rc:$((SECONDS - began))")
}

step environment 60 "$PY" -c "import torch, platform; print('python', platform.python_version(), 'torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else '-')"
step pytest_gpu 240 "$PY" -m pytest -q -m gpu -p no:cacheprovider -rs tests
step bench_kernels 150 "$PY" tools/bench_kernels.py --gpu-only
step decode_nvdec 90 "$PY" tools/bench_decode.py --quick --device cuda --repeat 3
step embed_vit_b_32 60 "$PY" tools/bench_search.py embed --model ViT-B-32 --device cuda --bf16 --videos 64 --batch-size 32 --size 224
step embed_vit_l_14 90 "$PY" tools/bench_search.py embed --model ViT-L-14 --device cuda --bf16 --videos 64 --batch-size 32 --size 224

"$PY" - "$OUT" "${STEPS[@]}" <<'PY'
import json, sys
from pathlib import Path

out, steps = Path(sys.argv[1]), sys.argv[2:]
summary = {}
for item in steps:
    name, rc, seconds = item.split(":")
    log = (out / f"{name}.log").read_text(errors="replace").splitlines()
    summary[name] = {"exit_code": int(rc), "seconds": int(seconds), "timed_out": rc == "124", "tail": log[-15:]}
(out / "gpu_check.json").write_text(json.dumps(summary, indent=2) + "\n")
print("\n".join(f"{name:16s} exit {s['exit_code']:3d}  {s['seconds']:4d} s" for name, s in summary.items()))
PY
