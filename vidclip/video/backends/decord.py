"""decord backend: fetches frames by index; guarded so it never sees a file it hangs on."""

from __future__ import annotations

import numpy as np
import torch

from vidclip.errors import VideoDecodeError
from vidclip.video.frame_index import FrameIndex


def unsafe(index: FrameIndex) -> str | None:
    """Why decord would return wrong frames for this stream, or None if it is safe.

    decord counts frames from the keyframe it seeks to; after an open-GOP keyframe (HEVC's
    CRA, x265's default) the decoder drops the leading frames, so the count slips and decord
    returns a later frame under the right timestamp. Its rotation code returns 4-channel or
    mis-sized frames for some sizes (64x48 rotated 90°).
    """
    if index.open_gop:
        return "open-GOP stream (decord miscounts frames after seeking)"
    if index.rotation:
        return f"rotated stream ({index.rotation}°: decord applies display rotation wrongly at some sizes)"
    return None


def decode(index: FrameIndex, ids: np.ndarray, *, device: str = "cpu") -> tuple[torch.Tensor, np.ndarray]:
    """Frames `ids` (sorted, unique) as uint8 (N, 3, H, W) and their pts in seconds.

    decord hangs or returns wrong frames when a container claims more frames than it holds;
    `FrameIndex` has already rejected such files, and decord's own frame count must agree
    with the index before any frame is fetched.
    """
    decord = _import()
    if torch.device(device).type != "cpu":
        raise ValueError(f"the decord backend decodes on the CPU only (device={device!r}); use backend='torchcodec'")
    try:
        reader = decord.VideoReader(index.path, num_threads=0)
        if len(reader) != len(index):
            raise VideoDecodeError(
                index.path, f"decord counts {len(reader)} frames but the stream holds {len(index)}; use backend='pyav'"
            )
        starts = reader.get_frame_timestamp(ids.tolist())[:, 0].astype(np.float64)  # (N,)
        frames = torch.from_numpy(reader.get_batch(ids.tolist()).asnumpy())  # (N, H, W, 3)
    except decord.DECORDError as error:
        raise VideoDecodeError(index.path, f"decord: {str(error).strip().splitlines()[0]}") from None
    # decord's timestamps are float32 and start at zero: put them back on the stream's clock
    # to the precision of the index, after checking they name the frames asked for.
    offset = starts - (index.seconds[ids] - index.begin)
    if np.abs(offset).max(initial=0) > 2e-3:
        raise VideoDecodeError(index.path, "decord returned frames at other times than asked; use backend='pyav'")
    return frames.permute(0, 3, 1, 2), index.seconds[ids]  # (N, 3, H, W)


def _import():
    try:
        import decord
    except ImportError as error:
        raise ImportError(
            f"backend 'decord' is not available ({error}); install it with: pip install 'vidclip[decord]'"
        ) from error
    decord.bridge.set_bridge("native")
    return decord
