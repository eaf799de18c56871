"""`vidclip import`: a peer method's published checkpoint as a vidclip checkpoint."""

from vidclip.cli.common import positive_int

HELP = "turn a peer's published checkpoint (CLIP4Clip meanP / seqTransf) into a vidclip checkpoint"
DESCRIPTION = """\
Reads the checkpoint with torch.load(weights_only=True) (never unpickling objects) and writes a
vidclip checkpoint folder with identical outputs, which every command's --model accepts.

clip4clip: CLIP4Clip's pytorch_model.bin.N, trained with --sim_header meanP (adapter meanp) or
seqTransf (adapter seqtransf, with the checkpoint's layers and frame positions) and --loose_type,
on a ViT CLIP with 2D patches. seqLSTM, tightTransf and --linear_patch 3d have no vidclip adapter
and are refused.

examples:
  vidclip import clip4clip ckpts/meanP-vit32/pytorch_model.bin.4 --out models/clip4clip-meanp
  vidclip import clip4clip ckpts/seqTransf-vit16/pytorch_model.bin.2 --out models/c4c-seq --num-frames 12
  vidclip embed videos/ --model models/clip4clip-meanp --out videos.videmb

exit codes: 0 written, 2 bad input (not such a checkpoint, an option vidclip lacks).
"""


def add_arguments(parser):
    parser.add_argument("source", choices=["clip4clip"], help="whose checkpoint: clip4clip")
    parser.add_argument("path", help="the checkpoint file")
    parser.add_argument("--out", required=True, help="vidclip checkpoint folder to write")
    parser.add_argument("--num-frames", type=positive_int, default=12,
                        help="frames per clip, CLIP4Clip's --max_frames (default: 12, its MSR-VTT setting)")
    parser.add_argument("--max-words", type=positive_int, default=32,
                        help="text tokens per caption, CLIP4Clip's --max_words (default: 32, its MSR-VTT setting)")


def run(args) -> int:
    from vidclip.convert.clip4clip import import_clip4clip

    model = import_clip4clip(args.path, args.out, num_frames=args.num_frames, max_words=args.max_words)
    print(f"wrote {args.out} ({model.config['model']} + {model.adapter.name}, {model.num_frames} frames)")
    return 0
