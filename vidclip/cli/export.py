"""`vidclip export`: a model's image and text towers as a Hugging Face CLIPModel folder."""

HELP = "write a model's image/text towers as a Hugging Face CLIPModel folder (the adapter stays behind)"
DESCRIPTION = """\
Writes the image and text towers (fine-tuned or not) as a Hugging Face CLIPModel folder:
config.json, model.safetensors and preprocessor_config.json (mean, std, size, resampling), which
transformers loads as CLIPModel.from_pretrained(OUT) with the same per-frame image embeddings
(get_image_features) and text embeddings (get_text_features) as vidclip.

What is NOT exported: the temporal adapter (seqTransf's transformer, GLSCL's queries, temporal
prompts, ...) - transformers has no video CLIP to hold it, so a video embedding there is yours to
pool (meanP: average the normalised frame embeddings). Adapters that hook the vision blocks
(temporal prompts) change the frame embeddings inside vidclip; the exported towers are the plain
towers without them. No tokenizer is written: the towers use CLIP's BPE vocabulary, as in
openai/clip-vit-base-patch32 (CLIPTokenizer.from_pretrained of that repository). Towers that
transformers' CLIPModel cannot express (layer scale, q/k norm, attentional pooling, timm towers,
SigLIP's logit bias) are refused with the option named.

examples:
  vidclip export runs/msrvtt_meanp/last --to hf --out exported/msrvtt-clip
  vidclip export ViT-B-32 --pretrained openai --to hf --out exported/vit-b-32

exit codes: 0 written, 2 bad input (not a model, towers transformers cannot express).
"""


def add_arguments(parser):
    parser.add_argument("model", help="a vidclip checkpoint folder/file, or a model name (with --pretrained)")
    parser.add_argument("--pretrained", help="open_clip tag or weights file, with a model name")
    parser.add_argument("--to", choices=["hf"], required=True, help="output format: hf (transformers CLIPModel)")
    parser.add_argument("--out", required=True, help="folder to write")


def run(args) -> int:
    import sys

    from vidclip.api import load
    from vidclip.convert.hf import export_hf

    model = load(args.model, pretrained=args.pretrained).model
    folder = export_hf(model, args.out)
    if model.adapter.hooks_vision_blocks:
        print(f"note: the {model.adapter.name!r} adapter hooks the vision blocks; the exported towers run without it",
              file=sys.stderr)
    print(f"wrote {folder} (image and text towers; the {model.adapter.name!r} adapter is not part of a CLIPModel)")
    return 0
