"""`vidclip demo`: synthetic data -> image-text pre-training -> video adaptation -> evaluation -> report."""

HELP = "run the end-to-end demo on synthetic videos: pre-train a tiny CLIP, adapt it 5 ways, compare"
DESCRIPTION = """\
Generates the synthetic shape videos (`vidclip synth`; reused when already there), pre-trains a tiny
open_clip CLIP on still frames with static captions (stage 1), adapts it to 8-frame clips with meanP,
seqTransf, temporal prompts, VDI and GLSCL (stage 2, visual tower frozen), evaluates each on held-out
clips and a novel-composition split, and writes OUT/results.json, OUT/report.md and PNG plots.
Budgets and learning rates come from configs/synthetic_*.yaml (installed with vidclip). Measured: 11 min 21 s
for `make demo` on a fresh clone on 2 quiet CPU cores, setup included (data 18 s, stage 1 146 s, stage 2
28-140 s per method; more on a loaded machine); while the vision tower is frozen, each training frame goes through it once (cached features) instead of every step.

Metrics: twin_acc (a clip's own caption vs. its temporal twin's: same frames reversed; 50% for any
order-blind model), t2v_R1 (test split; t2v_R1_dsl after dual-softmax re-ranking), novel_t2v_R1 (unseen
action-shape pairs), zeroshot_top1 (action classes from class-name prompts), R1@0.5 / mIoU (moment
retrieval, VDI), HL-mAP / HL-Hit1 (highlight detection by VDI's saliency head, "Very Good" threshold).

examples:
  vidclip demo                                  (writes demo_out/)
  vidclip demo --out /tmp/demo --quick          (smoke test: tiny data and budget, numbers meaningless)
  vidclip demo --methods meanp seqtransf --set adapt:train.max_steps=400
  vidclip demo --set glscl:optim.lr=5e-4 --set pretrain:train.max_steps=2000 --threads 2

exit codes: 0 done, 2 bad option, config or data.
"""


def add_arguments(parser):
    from vidclip.cli.common import positive_int

    parser.add_argument("--out", default="demo_out", help="output folder (default: demo_out)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny data and a few steps per stage (a smoke test; the numbers mean nothing)")
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--methods", nargs="+", metavar="METHOD",
                        help="stage-2 methods to run (default: every adapter with a configs/synthetic_<adapter>.yaml recipe)")
    parser.add_argument("--set", "-s", action="append", default=[], dest="overrides", metavar="[STAGE:]KEY=VALUE",
                        help="override a config field in every stage, or in one (pretrain, meanp, seqtransf, "
                             "prompts, vdi, glscl; adapt = every stage-2 method); repeatable")
    parser.add_argument("--configs", metavar="DIR", help="folder of the synthetic_*.yaml recipes (default: the "
                        "ones installed with vidclip, the repository's configs/)")
    parser.add_argument("--data", metavar="DIR", help="synthetic data folder (default: OUT/data; reused if complete)")
    parser.add_argument("--pretrained", metavar="CKPT", help="skip stage 1 and adapt this stage-1 checkpoint "
                        "(e.g. demo_out/runs/pretrain/last of an earlier run)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data (default: 0)")
    parser.add_argument("--no-twin-batches", action="store_true",
                        help="draw training batches at random instead of with each clip's temporal twin (ablation)")
    parser.add_argument("--no-frame-cache", action="store_true",
                        help="run the frozen vision tower on every training step instead of once per frame")
    parser.add_argument("--threads", type=positive_int, default=2, metavar="N",
                        help="CPU threads for torch (default: 2, as the README's table; the same seed, thread "
                             "count, torch and CPU repeat it bit for bit, another thread count moves the numbers)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args) -> int:
    import sys
    from pathlib import Path

    from vidclip.demo.pipeline import DemoOptions, run_demo
    from vidclip.errors import VidclipError

    options = DemoOptions(out=Path(args.out), quick=args.quick, device=args.device,
                          methods=tuple(args.methods) if args.methods else None, seed=args.seed, threads=args.threads,
                          configs=Path(args.configs) if args.configs else None, overrides=list(args.overrides),
                          progress=not args.no_progress, data=Path(args.data) if args.data else None,
                          pretrained=Path(args.pretrained) if args.pretrained else None,
                          twin_batches=not args.no_twin_batches, frame_cache=not args.no_frame_cache)
    try:
        run_demo(options)
    except (VidclipError, FileNotFoundError, FileExistsError) as error:
        print(f"vidclip demo: error: {error}", file=sys.stderr)
        return 2
    return 0
