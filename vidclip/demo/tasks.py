"""Demo tasks: the library's retrieval and moment tasks, on pixels or on cached frame features.

Pixels ("frames" in the batch) go straight to `vidclip.train.tasks.RetrievalTask` / `MomentTask`.
Cached frame features ("frame_features", "patches": the frozen tower's per-frame outputs, see
`vidclip.demo.data.embed_frames`) skip the tower and enter the model where its own
`video_features` would hand them on: the adapter. The losses are the model's own
(`losses_from_features`, the moment head, the adapter's losses); tests/test_demo.py checks both
paths give the same losses.

VDI's moment head needs untrimmed videos, but the demo also ranks VDI on the short clips (twins,
R@1, zero-shot) like every other method, so `ClipsAndMomentsTask` sums the retrieval loss on a clip
batch and the moment loss on a moment batch.
"""

import torch

from vidclip.train.tasks import MomentTask, RetrievalTask, batch_size, caption_tokens, model_device


def cached_video_features(model, batch):
    """Video feature dict from cached per-frame tower outputs: (B, T, D) [+ patches (B, T, P, D)]."""
    assert not model.adapter.hooks_vision_blocks, f"{model.adapter.name!r} hooks the vision blocks: no frame cache"
    assert not any(p.requires_grad for p in model.clip.visual.parameters()), "frame cache with a trainable vision tower"
    device = model_device(model)
    frames = batch["frame_features"].to(device)  # (B, T, D)
    mask = batch["mask"].to(device)  # (B, T)
    patches = batch["patches"].to(device) if "patches" in batch and model.adapter.needs_patches else None
    return model.adapter.video(frames, mask, patches)


class ClipRetrievalTask:
    """Symmetric InfoNCE + the adapter's losses, from pixels or cached frame features."""

    name = "retrieval"
    batch_size = staticmethod(batch_size)

    def __init__(self):
        self.pixels = RetrievalTask()

    def losses(self, model, batch, gather):
        if "frames" in batch:
            return self.pixels.losses(model, batch, gather)
        from vidclip.train.distributed import gather_list

        video = cached_video_features(model, batch)
        text = model.text_features(caption_tokens(model, batch["caption"]))
        return model.losses_from_features(gather(text), gather(video), gather_list(batch["caption"]))


class MomentsTask:
    """The moment head's loss + the adapter's losses on spans given as fractions of each video."""

    name = "moments"
    batch_size = staticmethod(batch_size)

    def __init__(self):
        self.pixels = MomentTask()

    def losses(self, model, batch, gather):
        if "frames" in batch:
            return self.pixels.losses(model, batch, gather)
        from vidclip.modules.moment_head import moment_loss

        video = cached_video_features(model, batch)
        device = video["frames"].device
        spans = torch.stack([batch["start"], batch["end"]], dim=-1).to(device)  # (B, 2) seconds
        spans = (spans / batch["duration"].to(device)[:, None].clamp_min(1e-6)).clamp(0, 1)  # fractions
        captions = list(batch["caption"])
        text = model.text_features(caption_tokens(model, captions))
        logits, edges = model.adapter.moment_head(video["frames"], text["embedding"])
        losses = moment_loss(logits, edges, video["frame_mask"], spans.to(logits.dtype))
        losses.update(model.adapter.losses(model=model, text=text, video=video, captions=captions))
        losses["loss"] = sum(losses.values())
        return losses


class ClipsAndMomentsTask:
    name = "retrieval+moments"

    def __init__(self, moment_weight: float = 1.0):
        self.retrieval, self.moments, self.moment_weight = ClipRetrievalTask(), MomentsTask(), moment_weight

    @staticmethod
    def batch_size(batch):
        return len(batch["clips"]["caption"]) + len(batch["moments"]["caption"])

    def losses(self, model, batch, gather):
        retrieval = self.retrieval.losses(model, batch["clips"], gather)
        moments = self.moments.losses(model, batch["moments"], gather)
        out = {f"retrieval/{key}": value for key, value in retrieval.items() if key != "loss"}
        out.update({f"moments/{key}": value for key, value in moments.items() if key != "loss"})
        out["retrieval/loss"], out["moments/loss"] = retrieval["loss"], moments["loss"]
        out["loss"] = retrieval["loss"] + self.moment_weight * moments["loss"]
        return out
