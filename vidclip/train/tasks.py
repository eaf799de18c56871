"""How a batch becomes losses, per task. The loop calls `task.losses(model, batch, gather)`.

Batches are what `vidclip.data.dataset.collate_videos` yields: uint8 "frames" (B, T, 3, H, W),
"mask" (B, T), "caption" list[str], "start"/"end"/"duration" seconds, "label" (B,). Frames move to
the model's device as uint8 (4x less traffic than float) and are normalised there.

Contrastive tasks all-gather their features with `gather` before scoring, so with N processes
the loss sees the global batch; the rest are per-sample losses and need no gather.
"""

import torch
import torch.nn.functional as F

from vidclip.train.distributed import gather_list

TASKS = ("retrieval", "moments", "classification", "image_text")


def model_device(model):
    return next(model.parameters()).device


def prepare_frames(model, frames):
    """uint8 (B, T, 3, H, W) -> normalised float on the model's device, at the model's input size."""
    from vidclip.video import center_crop, normalize, resize_short_side

    config = model.preprocess_config
    size = config["image_size"]
    size = size if isinstance(size, int) else size[0]
    frames = frames.to(model_device(model), non_blocking=True)
    if frames.shape[-2:] != (size, size):
        frames = center_crop(resize_short_side(frames, size), size)
    return normalize(frames, config["mean"], config["std"])


def caption_tokens(model, captions):
    return model.tokenize(list(captions)).to(model_device(model))


def batch_size(batch):
    return len(batch["caption"]) if "caption" in batch else int(batch["frames"].shape[0])


class RetrievalTask:
    """Symmetric InfoNCE over the global batch + the adapter's own losses (VideoCLIP decides both)."""

    name = "retrieval"
    batch_size = staticmethod(batch_size)

    def losses(self, model, batch, gather):
        frames = prepare_frames(model, batch["frames"])  # (B, T, 3, S, S)
        mask = batch["mask"].to(frames.device)  # (B, T)
        text, video = model(frames, mask, caption_tokens(model, batch["caption"]), features_only=True)
        return model.losses_from_features(gather(text), gather(video), gather_list(batch["caption"]))


class MomentTask:
    """Moment localisation: the model's moment head loss on spans given as fractions of each clip."""

    name = "moments"
    batch_size = staticmethod(batch_size)

    def losses(self, model, batch, gather):
        frames = prepare_frames(model, batch["frames"])
        mask = batch["mask"].to(frames.device)
        duration = batch["duration"].to(frames.device)
        spans = torch.stack([batch["start"].to(frames.device), batch["end"].to(frames.device)], dim=-1)  # (B, 2)
        if not torch.isfinite(spans).all() or not torch.isfinite(duration).all():
            raise ValueError("the moments task needs start, end and duration for every sample; "
                             "use a moment-retrieval annotation file (Charades-STA, QVHighlights, ActivityNet, ...)")
        spans = (spans / duration[:, None].clamp_min(1e-6)).clamp(0, 1)  # (B, 2) fractions
        return model.moment_losses(frames, mask, caption_tokens(model, batch["caption"]), list(batch["caption"]), spans)


class ClassificationTask:
    """Cross-entropy of each clip over all class prompts (EZ-CLIP style) + the adapter's losses.

    `class_prompts[c]` lists the prompt texts of class c; their embeddings are averaged.
    """

    name = "classification"
    batch_size = staticmethod(batch_size)

    def __init__(self, class_prompts):
        if not class_prompts:
            raise ValueError("classification needs class names: the training annotations list no classes")
        self.class_prompts = [list(prompts) for prompts in class_prompts]

    def class_text_features(self, model):
        """Feature dict (C, ...) with each class's prompt embeddings averaged and renormalised."""
        flat = [text for prompts in self.class_prompts for text in prompts]
        features = model.text_features(caption_tokens(model, flat))
        counts = [len(prompts) for prompts in self.class_prompts]
        out = {key: torch.stack([part.mean(0) for part in value.split(counts)]) for key, value in features.items()}
        out["embedding"] = F.normalize(out["embedding"], dim=-1)  # (C, D)
        return out

    def losses(self, model, batch, gather):
        frames = prepare_frames(model, batch["frames"])
        mask = batch["mask"].to(frames.device)
        labels = batch["label"].to(frames.device)
        if (labels < 0).any():
            raise ValueError("the classification task needs a class label for every sample")
        video = model.video_features(frames, mask)
        text = self.class_text_features(model)
        logits = model.clip.logit_scale.exp().clamp(max=100) * model.similarity(text, video).t()  # (B, C)
        losses = {"classification": F.cross_entropy(logits.float(), labels)}
        paired = {key: value[labels] for key, value in text.items()}  # each clip with its own class text
        captions = [self.class_prompts[int(label)][0] for label in labels]
        losses.update(model.adapter.losses(model=model, text=paired, video=video, captions=captions))
        losses["loss"] = sum(losses.values())
        return losses


class ImageTextTask:
    """Plain open_clip pre-training on image-caption pairs: symmetric InfoNCE on the CLIP towers.

    Images come as "images" (B, 3, H, W) or as one-frame clips "frames" (B, 1, 3, H, W).
    """

    name = "image_text"
    batch_size = staticmethod(batch_size)

    def losses(self, model, batch, gather):
        from vidclip.losses import clip_loss
        from vidclip.modules.towers import run_text

        images = batch["images"] if "images" in batch else batch["frames"][:, 0]  # (B, 3, H, W)
        images = prepare_frames(model, images[:, None])[:, 0]
        clip = model.clip
        image = F.normalize(clip.encode_image(images), dim=-1)  # (B, D)
        text = F.normalize(run_text(clip, caption_tokens(model, batch["caption"]))[0], dim=-1)  # (B, D)
        image, text = gather(image), gather(text)
        return {"loss": clip_loss(text @ image.t(), clip.logit_scale)}


def build_task(name, *, classes=None, templates=None):
    """Task object by name (`train.task` in the config)."""
    if name == "retrieval":
        return RetrievalTask()
    if name == "moments":
        return MomentTask()
    if name == "image_text":
        return ImageTextTask()
    if name == "classification":
        from vidclip.data.formats import class_prompts

        return ClassificationTask(class_prompts(classes or [], templates) if templates else class_prompts(classes or []))
    raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")
