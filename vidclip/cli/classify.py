"""`vidclip classify`: zero-shot action recognition, labels turned into sentences by a template."""

from vidclip.cli.common import (INPUT_ERRORS, OK, PARTIAL, add_json_argument, add_model_arguments, fail,
                                load_model, positive_int, print_json, report_skipped)

HELP = "zero-shot: which of the given labels each video shows"
DESCRIPTION = """\
Each label becomes a sentence through --template (underscores become spaces) and the videos are
ranked against them; probabilities are a softmax over the labels
(towers trained with SigLIP's sigmoid loss: each label's own sigmoid).

examples:
  vidclip classify jump.mp4 --labels "jumping,running,swimming" --model ViT-B-32 --pretrained openai
  vidclip classify clips/ --labels-file classInd.txt --template "a video of a person {}." --json
    (--labels-file: one label per line; UCF101's "1 ApplyEyeMakeup" lines work too)

exit codes: 0 ok, 1 some videos skipped (unreadable), 2 bad input.
"""


def add_arguments(parser):
    parser.add_argument("videos", nargs="+", help="video files or folders")
    labels = parser.add_mutually_exclusive_group(required=True)
    labels.add_argument("--labels", help="comma-separated labels")
    labels.add_argument("--labels-file", help="one label per line (an optional leading number is dropped)")
    parser.add_argument("--template", default="a video of a person {}.", help="sentence per label (default: %(default)r)")
    parser.add_argument("--top-k", type=positive_int, default=5, help="labels shown per video (default: 5)")
    add_model_arguments(parser)
    add_json_argument(parser)


def _labels(args) -> list:
    if args.labels is not None:
        labels = [label.strip() for label in args.labels.split(",")]
    else:
        with open(args.labels_file) as handle:
            lines = [line.split() for line in handle if line.strip()]
        labels = [" ".join(parts[1:] if len(parts) > 1 and parts[0].isdigit() else parts) for parts in lines]
    labels = [label for label in labels if label]
    if not labels:
        raise ValueError("no labels given")
    if "{}" not in args.template:
        raise ValueError(f"--template {args.template!r} has no {{}} for the label")
    return labels


def run(args) -> int:
    try:
        labels = _labels(args)
        model = load_model(args)
        found = model.embed_videos(args.videos, progress=None)
        probs = model.label_probabilities(found.embeddings, labels, template=args.template) if len(found) else None
    except INPUT_ERRORS as error:
        return fail(error)
    report_skipped(found.skipped)
    results = []
    for row, source in enumerate(found.sources):
        top = probs[row].topk(min(args.top_k, len(labels)))
        results.append({"video": source, "labels": [{"label": labels[i], "prob": round(float(p), 6)}
                                                     for p, i in zip(top.values.tolist(), top.indices.tolist())]})
    if args.json:
        print_json({"results": results, "skipped": [{"path": p, "reason": r} for p, r in found.skipped]})
    else:
        for result in results:
            best = result["labels"][0]
            others = ", ".join(f"{item['label']} {item['prob']:.2f}" for item in result["labels"][1:])
            print(f"{result['video']}: {best['label']} ({best['prob']:.2f})" + (f"; {others}" if others else ""))
    if not results:
        return fail("no video could be read")
    return PARTIAL if found.skipped else OK
