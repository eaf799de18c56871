"""The demo's last step: index its untrimmed moment videos, so `vidclip serve` can show them in a browser."""

import shlex
from pathlib import Path

# the trained method whose checkpoint serves the index: VDI finds moments with its head, the others by similarity
SERVE_PREFERENCE = ("vdi", "seqtransf", "glscl", "prompts", "meanp")


def build_serve_index(out: Path, root: Path, run_dirs: dict, *, device: str) -> dict | None:
    """Index root/moments/videos with the preferred trained method into out/moments.index.

    Returns {"index", "model", "count", "command"} (the command that serves it), or None when no
    video method was trained.
    """
    from vidclip.api import load
    from vidclip.search.index import VideoIndex

    method = next((name for name in SERVE_PREFERENCE if name in run_dirs), None)
    if method is None:
        return None
    checkpoint = run_dirs[method] / "last"
    index_path = Path(out) / "moments.index"
    index = VideoIndex.build(load(checkpoint, device=device), Path(root) / "moments" / "videos", progress=False)
    index.save(index_path)
    command = shlex.join(["vidclip", "serve", str(index_path), "--model", str(checkpoint)])
    return {"index": str(index_path), "model": str(checkpoint), "count": len(index), "command": command}
