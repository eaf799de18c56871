"""`vidclip train`: train (or resume) a model from layered YAML configs, on one process or under torchrun."""

HELP = "train a model from YAML configs (retrieval, moments, classification, image-text); resumable"
DESCRIPTION = """\
Train from one or more YAML configs (later files override earlier ones; each may include others
with `defaults:`), with any field changed by `--set section.key=value`. The run folder
(train.out_dir) gets the config, `metrics.jsonl`, TensorBoard events and `last/`, a checkpoint that
`vidclip eval --checkpoint`, `vidclip.load()` and `model.pretrained` all accept.

examples:
  vidclip train --config configs/msrvtt_meanp.yaml
  vidclip train --config configs/msrvtt_glscl.yaml --set train.batch_size=64 --set optim.lr=5e-5
  vidclip train --config configs/synthetic_pretrain.yaml --set train.max_steps=100 --set train.out_dir=runs/try
  vidclip train --resume runs/msrvtt_glscl                 (continue exactly where the run stopped)
  vidclip train --resume runs/try --set train.max_steps=400  (extend a finished run)
  torchrun --nproc-per-node 4 -m vidclip train --config configs/msrvtt_glscl.yaml
    (DDP: NCCL on GPUs, Gloo on CPUs; train.batch_size is the global batch over all processes)

A folder that holds a run is never replaced silently: give --resume or --overwrite (or another
train.out_dir); a run left on the default runs/default moves on to runs/default-2, -3, ...
Two runs cannot write into one folder at once (the second stops with exit 2).

exit codes: 0 done, 2 bad config or input, 3 stopped by a run of NaN/inf losses (last checkpoint kept)
or an internal error (a bug: traceback).
"""


def add_arguments(parser):
    parser.add_argument("--config", "-c", action="append", default=[], metavar="YAML",
                        help="config file; repeat to layer several (later wins)")
    parser.add_argument("--set", "-s", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                        help="override one field, e.g. --set optim.lr=1e-4 (value parsed as YAML); repeatable")
    parser.add_argument("--resume", metavar="RUN_DIR",
                        help="continue the run in RUN_DIR from its last checkpoint (its saved config, "
                             "unless --config is given)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run in train.out_dir (default: refuse a folder that holds a run)")
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--json", action="store_true", help="print the run summary as one JSON document")


def run(args) -> int:
    import json
    import sys

    from vidclip.errors import AnnotationError, CheckpointError, ConfigError, EmptyDatasetError, TrainingStopped
    from vidclip.train.config import load_config
    from vidclip.train.runner import resume_config, train

    try:
        if args.config:
            config = load_config(args.config, args.overrides)
        elif args.resume:
            config = resume_config(args.resume, args.overrides)
        else:
            raise ConfigError("give --config CONFIG.yaml (or --resume RUN_DIR)")
        if args.resume and args.overwrite:
            raise ConfigError("--resume continues a run and --overwrite replaces it: give one of them")
        summary = train(config, resume=args.resume, device=args.device, overwrite=args.overwrite)
    except (ConfigError, CheckpointError, EmptyDatasetError, AnnotationError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except TrainingStopped as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps(summary))
    return 0
