"""Three lines from nothing to search: `model = vidclip.load(name)`, embed, compare.

    model = vidclip.load("ViT-B-32", pretrained="openai")
    videos = model.embed_videos("my_videos/")               # .embeddings (N, D), .sources, .skipped
    scores = model.embed_texts(["a dog catches a frisbee"]) @ videos.embeddings.T
"""

from pathlib import Path

from vidclip.pipeline import Pipeline


def load(name_or_checkpoint, pretrained=None, device="cpu", adapter=None, num_frames=None, *, cache_dir=None):
    """A ready Pipeline for a model name (open_clip / vidclip / `hf-hub:ORG/NAME`), a vidclip checkpoint
    folder or file, a Hugging Face CLIPModel folder, or an open_clip folder (open_clip_config.json + weights).

    cache_dir: where per-video frame features for moments are kept between runs (default: memory only).
    """
    from vidclip.convert.hf import hf_model_type

    name = str(name_or_checkpoint)
    path = Path(name)
    if (path / "open_clip_config.json").is_file():  # an open_clip folder (config + weights): open_clip reads it
        name = f"local-dir:{path}"
    is_name = name.startswith(("hf-hub:", "local-dir:")) or (path.is_dir() and hf_model_type(path))
    if not is_name and not path.exists() and ("/" in name or path.suffix == ".safetensors"):
        raise FileNotFoundError(f"no checkpoint at {name_or_checkpoint}")
    if not is_name and path.exists():
        from vidclip.factory import load_checkpoint

        model = load_checkpoint(name_or_checkpoint, device=device)
    else:
        from vidclip.factory import create_model

        options = {key: value for key, value in {"adapter": adapter, "num_frames": num_frames}.items() if value is not None}
        model = create_model(name, pretrained=pretrained, device=device, **options)
    pipeline = Pipeline(model, device=device, num_frames=num_frames)
    if cache_dir is not None:
        from vidclip.moments.frame_features import FeatureCache

        pipeline.feature_cache = FeatureCache(cache_dir)
    return pipeline
