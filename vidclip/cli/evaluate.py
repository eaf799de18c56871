"""`vidclip eval`: metrics of a checkpoint on an annotation file, plus its predictions."""

HELP = "evaluate a checkpoint: retrieval R@k/MedR/MnR, moment R1/R5/mIoU/mAP, top-1/top-5"
DESCRIPTION = """\
Evaluate a model on a dataset's own annotation file (the format is detected, or give --format).
The task follows the annotations: captions -> text-video retrieval (both directions), moments ->
moment retrieval (needs a VDI model; QVHighlights-style predictions), saliency ratings -> also
highlight detection (QVHighlights HL-mAP / HL-Hit1; TVSum top-5 mAP and YouTube Highlights mAP, each
per domain too), class labels -> zero-shot classification with prompt templates. Writes metrics.json
and the predictions to --out.

examples:
  vidclip eval --checkpoint runs/msrvtt_glscl/last --data MSRVTT_JSFUSION_test.csv --video-root videos/all
  vidclip eval --checkpoint runs/charades_vdi/last --data charades_sta_test.txt \\
      --option durations=Charades_v1_test.csv --out eval/charades --json
  vidclip eval --checkpoint runs/k400_prompts/last --data hmdb51_splits/ --option subset=test
  vidclip eval --checkpoint runs/tvsum_vdi/last --data tvsum_val_release.jsonl --video-root tvsum/video
  vidclip eval --checkpoint ViT-B-32 --pretrained openai --data test.jsonl   (a plain open_clip model)
  vidclip eval --checkpoint runs/msrvtt_meanp/last --data MSRVTT_JSFUSION_test.csv --rerank qbnorm \\
      --querybank MSRVTT_train.9k.jsonl     (re-ranked with the training captions as query bank)

exit codes: 0 done, 1 done but some videos were unreadable (skipped, counted), 2 bad input (missing
file, wrong format, checkpoint that cannot load), 3 internal error (a bug).
"""


def add_arguments(parser):
    from vidclip.cli.common import at_least, positive_int

    parser.add_argument("--checkpoint", required=True,
                        help="checkpoint folder (a run's `last/`), a run folder, or a model name with --pretrained")
    parser.add_argument("--pretrained", help="weights for a model name given as --checkpoint")
    parser.add_argument("--data", required=True, metavar="ANNOTATIONS", help="annotation file (or HMDB51 folder)")
    parser.add_argument("--format", default="auto", help="annotation format (default: detect)")
    parser.add_argument("--video-root", help="folder of the videos (default: beside the annotations)")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="reader option, e.g. split=test, durations=FILE (repeatable)")
    parser.add_argument("--task", choices=("retrieval", "moments", "classification"),
                        help="default: from the annotations")
    parser.add_argument("--out", default=None, help="folder for metrics.json and predictions (default: none)")
    parser.add_argument("--num-frames", type=positive_int, help="frames per clip (default: the model's)")
    parser.add_argument("--batch-size", type=positive_int, default=16, help="clips per forward pass (default: 16)")
    parser.add_argument("--workers", type=at_least(0), default=2, help="decoding worker processes (default: 2)")
    parser.add_argument("--template", action="append", dest="templates", metavar="TEXT",
                        help="class prompt with {} for the class name (repeatable; classification)")
    parser.add_argument("--ties", choices=("pessimistic", "optimistic"), default="pessimistic",
                        help="a correct item tied with wrong ones ranks after them (pessimistic, default) or "
                             "before them (see vidclip.eval.metrics)")
    parser.add_argument("--v2t-rank", choices=("by_video", "by_caption"), default="by_video",
                        help="video->text rank with several captions per video: against other videos' best "
                             "captions (by_video, CLIP4Clip's, default) or against every caption (by_caption)")
    parser.add_argument("--rerank", choices=("none", "dsl", "qbnorm"), default="none",
                        help="retrieval re-ranking with all test queries at once: dual softmax (dsl) or querybank "
                             "normalisation (qbnorm, needs --querybank); default none")
    parser.add_argument("--querybank", metavar="ANNOTATIONS",
                        help="annotation file whose captions form QB-Norm's query bank (e.g. the training split)")
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--json", action="store_true", help="print the metrics as one JSON document")


def _options(items):
    import yaml

    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--option expects KEY=VALUE, got {item!r}")
        options[key] = yaml.safe_load(value) if value else None
    return options


def _querybank(args):
    """The captions of --querybank (any annotation format), or None."""
    if args.querybank is None:
        if args.rerank == "qbnorm":
            raise ValueError("--rerank qbnorm needs --querybank ANNOTATIONS (e.g. the training split's file)")
        return None
    from vidclip.cli.common import annotation_captions

    return annotation_captions(args.querybank)


def _load(args, device):
    from pathlib import Path

    from vidclip.api import load
    from vidclip.train import run_state

    path = Path(args.checkpoint)
    if path.is_dir() and not (path / "model.safetensors").exists():
        path = run_state.resolve(path)  # a run folder: its last complete checkpoint
    return load(str(path) if path.exists() else args.checkpoint, pretrained=args.pretrained, device=device).model


def run(args) -> int:
    import json
    import sys

    from vidclip.data.formats import load_annotations
    from vidclip.errors import AnnotationError, CheckpointError
    from vidclip.eval.evaluation import evaluate_annotations
    from vidclip.train.distributed import pick_device

    try:
        device = pick_device(args.device)
        annotations = load_annotations(args.data, format=args.format, video_root=args.video_root,
                                       **_options(args.option))
        querybank = _querybank(args)  # before the model loads: a missing bank fails in a second
        model = _load(args, device)
        metrics = evaluate_annotations(model, annotations, task=args.task, device=device, num_frames=args.num_frames,
                                       batch_size=args.batch_size, workers=args.workers, templates=args.templates,
                                       ties=args.ties, v2t_rank=args.v2t_rank, rerank=args.rerank,
                                       querybank=querybank, out_dir=args.out)
    except (CheckpointError, AnnotationError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    unreadable = metrics.get("unreadable_videos", [])
    if args.json:
        print(json.dumps(metrics))
    else:
        for key, value in metrics.items():
            if key != "unreadable_videos":
                print(f"{key:>16}  {value:.2f}" if isinstance(value, float) else f"{key:>16}  {value}")
    for path in unreadable:
        print(f"skipped {path}: unreadable video", file=sys.stderr)
    if unreadable:
        print(f"skipped {len(unreadable)} unreadable videos: their items left the evaluation "
              "(the metrics cover the rest)", file=sys.stderr)
        return 1
    return 0
