"""How a batch becomes losses, per task. The loop calls `task.losses(model, batch, gather)`.

Batches are what `vidclip.data.dataset.collate_videos` yields: uint8 "frames" (B, T, 3, H, W),
"mask" (B, T), "caption" list[str], "start"/"end"/"duration" seconds, "label" (B,). Frames move to
the model's device as uint8 (4x less traffic than float) and are normalised there. Instead of
"frames", a batch may carry a frozen vision tower's cached per-frame outputs ("frame_features"
(B, T, D), "patches" (B, T, P, D)): they skip the tower and enter the adapter, nothing else changes.

Contrastive tasks all-gather their features with `gather` before scoring, so with N processes
the loss sees the global batch; the rest are per-sample losses and need no gather. Every task is
registered in `vidclip.registry.TASKS` under the name `train.task` uses.
"""

import torch
import torch.nn.functional as F

from vidclip.losses import soft_label_kl
from vidclip.registry import TASKS
from vidclip.train.distributed import gather_list
from vidclip.video.transforms import model_input


def model_device(model):
    return next(model.parameters()).device


def caption_tokens(model, captions):
    return model.tokenize(list(captions)).to(model_device(model))


def batch_video_features(model, batch):
    """The model's video feature dict for a batch of pixels or of cached frozen-tower outputs."""
    device = model_device(model)
    mask = batch["mask"].to(device)  # (B, T)
    if "frames" in batch:
        return model.video_features(model_input(batch["frames"], model.preprocess_config, device), mask)
    assert not model.adapter.hooks_vision_blocks, f"{model.adapter.name!r} hooks the vision blocks: no frame cache"
    assert not any(p.requires_grad for p in model.clip.visual.parameters()), "frame cache with a trainable vision tower"
    frames = batch["frame_features"].to(device)  # (B, T, D)
    patches = batch["patches"].to(device) if "patches" in batch and model.adapter.needs_patches else None
    return model.adapter.video(frames, mask, patches)


class Task:
    """What every task shares: its batch size and how it is built from a config."""

    name = "base"

    @classmethod
    def build(cls, *, classes=None, templates=None, class_loss=None):
        return cls()

    @staticmethod
    def batch_size(batch):
        return len(batch["caption"]) if "caption" in batch else int(batch["frames"].shape[0])


@TASKS.register
class RetrievalTask(Task):
    """Symmetric InfoNCE over the global batch + the adapter's own losses (VideoCLIP decides both)."""

    name = "retrieval"

    def losses(self, model, batch, gather):
        video = batch_video_features(model, batch)
        text = model.text_features(caption_tokens(model, batch["caption"]))
        return model.losses_from_features(gather(text), gather(video), gather_list(batch["caption"]))


@TASKS.register
class MomentTask(Task):
    """Moment localisation: the model's moment head loss on every window of each query, as
    fractions of its clip ("windows" (B, W, 2) seconds, NaN-padded; else "start"/"end"), and its
    saliency loss on "saliency" (B, T) per-frame ratings where the batch has them. A highlight-only
    sample (TVSum, YouTube Highlights: ratings, no window) trains the saliency head alone."""

    name = "moments"

    def losses(self, model, batch, gather):
        video = batch_video_features(model, batch)
        device = video["frames"].device
        duration = batch["duration"].to(device)
        first = torch.stack([batch["start"].to(device), batch["end"].to(device)], dim=-1)  # (B, 2) seconds
        windows = batch["windows"].to(device) if "windows" in batch else first[:, None]  # (B, W, 2) seconds
        saliency = batch["saliency"].to(device) if "saliency" in batch else None  # (B, T)
        located = torch.isfinite(windows).all(-1).any(-1)  # (B,)
        rated = located if saliency is None else located | ~torch.isnan(saliency).all(-1)  # TVSum: ratings only
        if not rated.all() or not torch.isfinite(duration).all():
            raise ValueError("the moments task needs a window (start, end) or saliency ratings, and the duration, "
                             "for every sample; use a moment-retrieval or highlight annotation file "
                             "(Charades-STA, QVHighlights, ActivityNet, TVSum, ...)")
        windows = (windows / duration[:, None, None].clamp_min(1e-6)).clamp(0, 1)  # (B, W, 2) fractions; NaN stays
        captions = list(batch["caption"])
        text = model.text_features(caption_tokens(model, captions))
        return model.moment_losses_from_features(text, video, captions, windows, saliency)


@TASKS.register
class ClassificationTask(Task):
    """Clips against class prompts + the adapter's losses. `class_prompts[c]` lists class c's prompt texts.

    class_loss "kl" (default, EZ-CLIP's `train.py` with ActionCLIP's `KLLoss`): each clip gets one
    random prompt of its class; the (B, B) clip-text logits are scored against soft in-batch labels
    (`vidclip.losses.soft_label_kl`), both directions averaged; only B texts are encoded per step.
    "cross_entropy": each clip against every class (prompt embeddings averaged), a plain
    cross-entropy: every class is a negative every step, at the cost of encoding all prompts.
    """

    name = "classification"

    def __init__(self, class_prompts, class_loss="kl"):
        if not class_prompts:
            raise ValueError("classification needs class names: the training annotations list no classes")
        if class_loss not in ("kl", "cross_entropy"):
            raise ValueError(f"class_loss={class_loss!r}: expected kl or cross_entropy")
        self.class_prompts = [list(prompts) for prompts in class_prompts]
        self.class_loss = class_loss

    @classmethod
    def build(cls, *, classes=None, templates=None, class_loss=None):
        from vidclip.data.formats import class_prompts

        prompts = class_prompts(classes or [], templates) if templates else class_prompts(classes or [])
        return cls(prompts, class_loss or "kl")

    def class_text_features(self, model):
        """Feature dict (C, ...) with each class's prompt embeddings averaged and renormalised."""
        flat = [text for prompts in self.class_prompts for text in prompts]
        features = model.text_features(caption_tokens(model, flat))
        counts = [len(prompts) for prompts in self.class_prompts]
        out = {key: torch.stack([part.mean(0) for part in value.split(counts)]) for key, value in features.items()}
        out["embedding"] = F.normalize(out["embedding"], dim=-1)  # (C, D)
        return out

    def sampled_prompts(self, labels):
        """One prompt per clip, drawn at random among its class's prompts (official: a random text augmentation)."""
        picks = [torch.randint(len(self.class_prompts[int(label)]), ()).item() for label in labels]
        return [self.class_prompts[int(label)][pick] for label, pick in zip(labels, picks)]

    def losses(self, model, batch, gather):
        labels = batch["label"].to(model_device(model))
        if (labels < 0).any():
            raise ValueError("the classification task needs a class label for every sample")
        video = batch_video_features(model, batch)
        scale = model.clip.logit_scale.exp().clamp(max=100)
        if self.class_loss == "kl":
            captions = self.sampled_prompts(labels.tolist())
            text = model.text_features(caption_tokens(model, captions))
            text, video, labels, captions = gather(text), gather(video), gather(labels), gather_list(captions)
            logits = (scale * model.similarity(text, video)).float()  # (B texts, B clips)
            losses = {"classification": 0.5 * (soft_label_kl(logits.t(), labels) + soft_label_kl(logits, labels))}
            losses.update(model.adapter.losses(model=model, text=text, video=video, captions=captions))
        else:
            text = self.class_text_features(model)
            logits = scale * model.similarity(text, video).t()  # (B, C)
            losses = {"classification": F.cross_entropy(logits.float(), labels)}
            paired = {key: value[labels] for key, value in text.items()}  # each clip with its own class text
            captions = [self.class_prompts[int(label)][0] for label in labels]
            losses.update(model.adapter.losses(model=model, text=paired, video=video, captions=captions))
        losses["loss"] = sum(losses.values())
        return losses


@TASKS.register
class ImageTextTask(Task):
    """Plain open_clip pre-training on image-caption pairs: symmetric InfoNCE on the CLIP towers.

    Images come as "images" (B, 3, H, W) or as one-frame clips "frames" (B, 1, 3, H, W).
    """

    name = "image_text"

    def losses(self, model, batch, gather):
        from vidclip.towers import run_text

        images = batch["images"] if "images" in batch else batch["frames"][:, 0]  # (B, 3, H, W)
        images = model_input(images[:, None], model.preprocess_config, model_device(model))[:, 0]
        clip = model.clip
        image = F.normalize(clip.encode_image(images), dim=-1)  # (B, D)
        text = F.normalize(run_text(clip, caption_tokens(model, batch["caption"]))[0], dim=-1)  # (B, D)
        image, text = gather(image), gather(text)
        return {"loss": model.contrastive_loss(text @ image.t())}


def build_task(name, *, classes=None, templates=None, class_loss=None):
    """Task object by name (`train.task` in the config); classes/templates/class_loss serve classification."""
    return TASKS[name].build(classes=classes, templates=templates, class_loss=class_loss)
