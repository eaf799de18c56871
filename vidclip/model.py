"""VideoCLIP: an open_clip CLIP plus one temporal adapter, the one model object of vidclip.

Embeddings from `encode_video` / `encode_text` are L2-normalised (B, D). Richer feature sets
(`video_features`, `text_features`) are dicts of tensors (all-gatherable key by key) holding what the
adapter's similarity head needs: "embedding" (B, D) always; "frames" (B, T, D) normalised and
possibly contextualised per-frame features and "frame_mask" (B, T) for videos; GLSCL adds "queries"
(B, K, D) on both sides and the raw feature norms ("norm" (B,), "frame_norms" (B, T)), EZ-CLIP the
latter. `similarity(text, video)` is the method's own (Nt, Nv) score.
"""

from functools import partial

import torch
from einops import rearrange
from torch import nn

from vidclip.errors import ConfigError
from vidclip.losses import clip_loss, sigmoid_loss
from vidclip.adapters.moment_head import decode_moments, moment_loss, saliency_loss, saliency_pairs, saliency_targets
from vidclip.towers import check_supported, run_text, run_vision

FREEZE_POLICIES = ("none", "towers", "visual", "text")
LOSSES = ("auto", "softmax", "sigmoid")
SIGLIP_INIT_BIAS = -10.0  # SigLIP's initial logit bias, for a sigmoid loss on a tower trained without one


class VideoCLIP(nn.Module):
    def __init__(self, *, clip, adapter, tokenizer, config, preprocess_config, freeze=None):
        super().__init__()
        check_supported(clip, adapter)
        self.clip, self.adapter = clip, adapter
        self._tokenizer = tokenizer
        self.config = dict(config)
        self.loss = _resolve_loss(self.config.get("loss", "auto"), clip)
        if self.loss == "sigmoid" and getattr(clip, "logit_bias", None) is None:  # a CLIP tower trained with SigLIP's loss
            self.logit_bias = nn.Parameter(torch.tensor(SIGLIP_INIT_BIAS))
        self.preprocess_config = dict(preprocess_config)
        self.set_freeze(freeze or adapter.default_freeze)

    @property
    def num_frames(self):
        return self.adapter.num_frames

    # ----------------------------------------------------------------- text
    def tokenize(self, texts):
        """list[str] (or one str) -> LongTensor (N, L) on the CPU.

        L is the tower's context length, or the recipe's `data.max_words` (CLIP4Clip's `max_words`: longer
        captions are cut, their end token kept), which the config stores so evaluation cuts alike.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        return self._tokenizer(texts, context_length=self.config.get("max_words"))

    def text_features(self, tokens):
        """tokens (B, L) LongTensor (or list[str]) -> feature dict with "embedding" (B, D)."""
        if not torch.is_tensor(tokens):
            tokens = self.tokenize(tokens).to(self.clip.logit_scale.device)
        block_fn = self.adapter.text_block if self.adapter.hooks_text_blocks else None
        eot, words, word_mask = run_text(self.clip, tokens, block_fn=block_fn)
        return self.adapter.text(eot, words, word_mask)

    def encode_text(self, tokens):
        """tokens (B, L) or list[str] -> (B, D) L2-normalised; equals CLIP's text embedding."""
        return self.text_features(tokens)["embedding"]

    # ---------------------------------------------------------------- video
    def frame_embeddings(self, frames, frame_mask=None, *, patches=False):
        """frames (B, T, 3, H, W) -> per-frame CLIP embeddings (B, T, D), mask (B, T), patches (B, T, P, D)?"""
        assert frames.ndim == 5, f"frames must be (B, T, 3, H, W), got {tuple(frames.shape)}"
        batch, num_frames = frames.shape[:2]
        if frame_mask is None:
            frame_mask = torch.ones(batch, num_frames, dtype=torch.bool, device=frames.device)
        frame_mask = frame_mask.to(device=frames.device, dtype=torch.bool)
        assert frame_mask.shape == (batch, num_frames), f"frame_mask {tuple(frame_mask.shape)} != {(batch, num_frames)}"
        block_fn = None
        if self.adapter.hooks_vision_blocks:
            block_fn = partial(self.adapter.vision_block, num_frames=num_frames, frame_mask=frame_mask)
        images = rearrange(frames, "b t c h w -> (b t) c h w")  # (B*T, 3, H, W)
        pooled, tokens = run_vision(self.clip.visual, images, block_fn=block_fn, return_patches=patches)
        pooled = rearrange(pooled, "(b t) d -> b t d", b=batch)  # (B, T, D)
        if tokens is not None:
            tokens = rearrange(tokens, "(b t) p d -> b t p d", b=batch)  # (B, T, P, D)
        return pooled, frame_mask, tokens

    def video_features(self, frames, frame_mask=None):
        """frames (B, T, 3, H, W) normalised pixels -> feature dict (see module docstring)."""
        pooled, frame_mask, tokens = self.frame_embeddings(frames, frame_mask, patches=self.adapter.needs_patches)
        return self.adapter.video(pooled, frame_mask, tokens)

    def frame_features(self, frames, frame_mask=None):
        """(B, T, D) normalised per-frame features after the adapter's temporal modelling."""
        return self.video_features(frames, frame_mask)["frames"]

    def encode_video(self, frames, frame_mask=None):
        """frames (B, T, 3, H, W) -> (B, D) L2-normalised; at T=1 equals CLIP's image embedding."""
        return self.video_features(frames, frame_mask)["embedding"]

    # -------------------------------------------------------------- scoring
    def similarity(self, text_features, video_features):
        """The method's own score (Nt, Nv): cosine, or s_g + lambda * s_l for GLSCL."""
        return self.adapter.similarity(text_features, video_features)

    @property
    def sigmoid_bias(self):
        """The learned logit bias of the sigmoid loss: the tower's own (SigLIP) or the one added for a CLIP
        tower trained with it; None under the softmax loss."""
        if self.loss != "sigmoid":
            return None
        return self.clip.logit_bias if getattr(self.clip, "logit_bias", None) is not None else self.logit_bias

    def contrastive_loss(self, similarity):
        """(N, N) paired similarities -> the towers' own pre-training objective: SigLIP's sigmoid loss
        with its learned bias, or CLIP's symmetric InfoNCE (the "loss" config option overrides)."""
        if self.loss == "sigmoid":
            return sigmoid_loss(similarity, self.clip.logit_scale, self.sigmoid_bias)
        return clip_loss(similarity, self.clip.logit_scale)

    def losses_from_features(self, text_features, video_features, captions=None):
        """The contrastive loss (`contrastive_loss`) + the adapter's weighted losses.

        Features may be all-gathered across ranks first (the rows must stay paired).
        """
        sim = self.similarity(text_features, video_features)  # (B, B)
        losses = {"contrastive": self.contrastive_loss(sim)}
        losses.update(self.adapter.losses(model=self, text=text_features, video=video_features, captions=captions))
        losses["loss"] = sum(losses.values())
        return losses

    def training_losses(self, frames, frame_mask, tokens, captions=None):
        """-> {"loss": total, "contrastive": ..., adapter losses already weighted}."""
        video = self.video_features(frames, frame_mask)
        return self.losses_from_features(self.text_features(tokens), video, captions)

    def forward(self, frames, frame_mask=None, tokens=None, captions=None, *, features_only=False):
        """For DDP: training losses, or (text_features, video_features) to all-gather first."""
        if features_only:
            video = self.video_features(frames, frame_mask)
            return self.text_features(tokens), video
        return self.training_losses(frames, frame_mask, tokens, captions)

    # -------------------------------------------------------------- moments
    def _moment_head(self):
        head = getattr(self.adapter, "moment_head", None)
        if head is None:
            raise ValueError(f"adapter {self.adapter.name!r} has no moment head; use adapter='vdi' for moments")
        return head

    def moment_losses(self, frames, frame_mask, tokens, captions, spans, saliency=None):
        """spans (B, 2) or (B, W, 2) windows as fractions of each clip (NaN rows pad) -> moment +
        saliency + injection losses, "loss" total. saliency (B, T): per-frame ratings (NaN: none)."""
        return self.moment_losses_from_features(self.text_features(tokens), self.video_features(frames, frame_mask),
                                                captions, spans, saliency)

    def moment_losses_from_features(self, text, video, captions, spans, saliency=None):
        """`moment_losses` from feature dicts (e.g. video features from a frozen tower's cached outputs)."""
        head = self._moment_head()
        logits, edges, scores = head(video["frames"], text["embedding"])
        spans, mask = spans.to(logits.dtype), video["frame_mask"]
        spans = spans[:, None] if spans.ndim == 2 else spans  # (B, W, 2)
        located = ~torch.isnan(spans[..., 0]).all(dim=1)  # (B,): highlight-only samples have no window
        losses = moment_loss(logits[located], edges[located], mask[located], spans[located]) if located.any() else {}
        if scores is not None:
            targets = saliency_targets(mask, spans, None if saliency is None else saliency.to(spans))  # (B, T)
            positives, negatives, kept = saliency_pairs(targets, mask)
            losses["saliency"] = saliency_loss(scores[kept], positives[kept], negatives[kept])
        losses.update(self.adapter.losses(model=self, text=text, video=video, captions=captions))
        losses["loss"] = sum(losses.values())
        return losses

    def _query(self, query, dtype):
        """Token ids (Q, L) -> their text embedding; a float (Q, D) text embedding is used as it is, so
        a caller that needs windows and saliency for the same queries encodes them once."""
        return (query if query.is_floating_point() else self.encode_text(query)).to(dtype)  # (Q, D)

    @torch.no_grad()
    def predict_saliency(self, video_features, tokens):
        """(B, T) saliency score per frame for one query per clip (or one for all), None when the
        moment head has no trained saliency head (a checkpoint from before it). tokens: ids (Q, L)
        or text embeddings (Q, D) from `encode_text`."""
        head = self._moment_head()
        frames = video_features["frames"]  # (B, T, D)
        query = self._query(tokens, frames.dtype)  # (Q, D)
        return head(frames, query.expand(frames.shape[0], -1))[2]

    @torch.no_grad()
    def predict_moments(self, video_features, frame_times, tokens, top_k=5, nms_iou=0.5):
        """Windows for one query per clip (or one query for all clips) -> per clip [(start_s, end_s, score)].

        video_features: dict from `video_features` (cacheable) or frames (B, T, 3, H, W).
        frame_times: (B, T) or (T,) timestamps in seconds of the sampled frames (frame centres).
        tokens: ids (Q, L) or text embeddings (Q, D) from `encode_text`.
        """
        head = self._moment_head()
        video = video_features if isinstance(video_features, dict) else self.video_features(video_features)
        frames, mask = video["frames"], video["frame_mask"]  # (B, T, D), (B, T)
        query = self._query(tokens, frames.dtype)  # (Q, D)
        assert query.shape[0] in (1, frames.shape[0]), f"{query.shape[0]} queries for {frames.shape[0]} clips"
        logits, edges, _ = head(frames, query.expand(frames.shape[0], -1))
        times = torch.as_tensor(frame_times, dtype=torch.float64).reshape(-1, frames.shape[1]).expand(frames.shape[0], -1)
        windows = decode_moments(logits, edges, mask, top_k=top_k, nms_iou=nms_iou)
        return [
            [(_to_seconds(s, t[m.cpu()]), _to_seconds(e, t[m.cpu()]), score) for s, e, score in clip]
            for clip, t, m in zip(windows, times, mask)
        ]

    # ------------------------------------------------------------- training
    def set_freeze(self, policy):
        """"towers" | "visual" | "text" | "none": freeze CLIP towers; new modules and logit scale train."""
        if policy not in FREEZE_POLICIES:
            raise ValueError(f"freeze={policy!r}: expected one of {', '.join(FREEZE_POLICIES)}")
        self.freeze = self.config["freeze"] = policy
        for name, param in self.clip.named_parameters():
            visual = name.startswith("visual.")
            scale = name.startswith("logit_")
            frozen = (policy in ("towers", "visual") and visual) or (policy in ("towers", "text") and not visual and not scale)
            param.requires_grad_(not frozen)
        for param in self.adapter.parameters():
            param.requires_grad_(True)
        return self

    def set_grad_checkpointing(self, enable=True):
        """Recompute tower blocks (and the adapter's transformers) in backward to save memory."""
        self.clip.set_grad_checkpointing(enable)
        for module in self.adapter.modules():
            if hasattr(module, "grad_checkpointing"):
                module.grad_checkpointing = enable
        return self

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())

    def num_trainable_parameters(self):
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def _resolve_loss(loss, clip):
    """"auto" -> "sigmoid" for towers pre-trained with SigLIP's loss (they carry a logit bias), else "softmax"."""
    if loss not in LOSSES:
        raise ConfigError(f"loss={loss!r}: expected one of {', '.join(LOSSES)}")
    if loss == "auto":
        return "sigmoid" if getattr(clip, "logit_bias", None) is not None else "softmax"
    return loss


def _to_seconds(fraction, times):
    """Clip fraction -> seconds, interpolating the valid frames' timestamps (frame centres)."""
    count = len(times)
    if count == 1:
        return float(times[0])
    position = fraction * count - 0.5  # continuous frame index
    left = min(max(int(position // 1), 0), count - 2)
    seconds = times[left] + (position - left) * (times[left + 1] - times[left])
    return max(0.0, float(seconds))
