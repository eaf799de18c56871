"""A tiny stand-in video-text model with known answers: colour words match frames of that colour.

It has the interface vidclip's models expose (encode_video with per-frame features, encode_text,
tokenize, preprocess_config, config), so the API, index and moments run without CLIP weights.
"""

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "yellow": (255, 255, 0),
           "cyan": (0, 255, 255), "magenta": (255, 0, 255)}
_VOCAB = {word: i + 1 for i, word in enumerate(COLOURS)}


class TinyVideoModel(nn.Module):
    def __init__(self, *, dim: int = 16, adapter: str = "meanp", seed: int = 0, num_frames: int = 4):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.register_buffer("proj", torch.linalg.qr(torch.randn(dim, 3, generator=generator))[0].T.contiguous())
        self.logit_scale = nn.Parameter(torch.tensor(math.log(100.0)))
        self.config = {"name": "tiny-fake", "adapter": adapter, "dim": dim}
        self.preprocess_config = {"image_size": 16, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}
        self.num_frames = num_frames
        if adapter == "glscl":
            self.frame_pool_temperature = 0.05

    def video_features(self, frames, frame_mask=None):
        per_frame = F.normalize(frames.mean((-1, -2)) @ self.proj, dim=-1)  # (B, T, D)
        if frame_mask is None:
            frame_mask = torch.ones(per_frame.shape[:2], dtype=torch.bool)
        mask = frame_mask.float()
        video = (per_frame * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp_min(1)
        return {"embedding": F.normalize(video, dim=-1), "frames": per_frame, "frame_mask": frame_mask}

    def encode_video(self, frames, frame_mask=None):
        return self.video_features(frames, frame_mask)["embedding"]

    def tokenize(self, texts):
        ids = [[_VOCAB.get(word.strip(".,").lower(), 0) for word in text.split()] for text in texts]
        width = max(1, max(len(row) for row in ids))
        return torch.tensor([row + [0] * (width - len(row)) for row in ids])

    def text_features(self, tokens):
        table = torch.tensor([(0, 0, 0)] + list(COLOURS.values()), dtype=torch.float32) / 127.5 - 1  # (V, 3)
        valid = (tokens > 0).float()[..., None]
        rgb = (table[tokens] * valid).sum(1) / valid.sum(1).clamp_min(1)
        return {"embedding": F.normalize(rgb @ self.proj, dim=-1)}

    def encode_text(self, tokens):
        return self.text_features(tokens)["embedding"]

    def similarity(self, text, video):
        if self.config["adapter"] == "glscl":  # the text-conditioned frame pooling of GLSCL's global score
            from vidclip.kernels import frame_pool_scores

            return frame_pool_scores(text["embedding"], video["frames"], frame_mask=video["frame_mask"],
                                     temperature=self.frame_pool_temperature)
        return text["embedding"] @ video["embedding"].T


def write_video(path, colours, *, fps: int = 4, size: int = 32):
    """An H.264 file showing one colour per second: colours is a list of names, one per second."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for name in colours:
            frame = np.zeros((size, size, 3), np.uint8)
            frame[:] = COLOURS[name]
            for _ in range(fps):
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


def write_colour_pair_clips(folder, count: int) -> None:
    """v0.mp4 ... v{count-1}.mp4: two-second clips, each showing its own pair of colours."""
    names = list(COLOURS)
    for i in range(count):
        write_video(Path(folder) / f"v{i}.mp4", [names[i % len(names)], names[(i * 2 + 1) % len(names)]], size=16)


def use_fake_model(monkeypatch_or_none=None, **options):
    """Make `vidclip.api.load` (what the CLI calls) return a Pipeline of TinyVideoModel."""
    import vidclip.api
    from vidclip.pipeline import Pipeline

    def load(name_or_checkpoint, pretrained=None, device="cpu", adapter=None, num_frames=None, *, cache_dir=None):
        pipeline = Pipeline(TinyVideoModel(**options), device=device, num_frames=num_frames)
        if cache_dir is not None:
            from vidclip.moments.frame_features import FeatureCache

            pipeline.feature_cache = FeatureCache(cache_dir)
        return pipeline

    if monkeypatch_or_none is None:
        vidclip.api.load = load
    else:
        monkeypatch_or_none.setattr(vidclip.api, "load", load)


def run_cli_rank(rank, world_size, port, argv):
    """One torchrun-like rank: env of torch.distributed, the fake model, `vidclip.cli.main(argv)`."""
    import os
    import sys

    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    use_fake_model()
    from vidclip.cli import main

    code = main(argv)
    if code:
        sys.exit(code)


def colour_frames(name, num_frames=4, size=16):
    """Model-ready float frames (T, 3, S, S) of one colour (normalised with mean = std = 0.5)."""
    rgb = torch.tensor(COLOURS[name], dtype=torch.float32) / 127.5 - 1
    return rgb.view(1, 3, 1, 1).expand(num_frames, 3, size, size).clone()
