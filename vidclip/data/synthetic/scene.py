"""Drawing shapes: object states, their per-frame tracks, backgrounds, and an anti-aliased rasteriser.

Coordinates are normalised to [0, 1] (x right, y down); `size` is the shape's half-extent in the
same unit; `angle` is in degrees, positive = clockwise on screen. Rendering is vectorised over
frames, so one call draws a whole clip (or a batch of still images of one shape).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from vidclip.data.synthetic.vocab import COLOURS


@dataclass(frozen=True)
class State:
    """What one object looks like at one instant."""

    shape: str
    colour: str  # the colour's name, for captions
    rgb: tuple[float, float, float]
    x: float
    y: float
    size: float
    angle: float = 0.0
    alpha: float = 1.0  # 0 = invisible, 1 = opaque

    def recoloured(self, colour: str, rgb_jitter=(0.0, 0.0, 0.0)) -> State:
        rgb = tuple(float(np.clip(c + j, 0, 255)) for c, j in zip(COLOURS[colour], rgb_jitter))
        return replace(self, colour=colour, rgb=rgb)


@dataclass
class Track:
    """One object over F frames: arrays of shape (F,) and rgb (F, 3)."""

    shape: str
    x: np.ndarray
    y: np.ndarray
    size: np.ndarray
    angle: np.ndarray
    alpha: np.ndarray
    rgb: np.ndarray

    @classmethod
    def between(cls, start: State, end: State, progress: np.ndarray) -> Track:
        """Linear interpolation start -> end at each progress value in [0, 1] (one per frame)."""
        p = np.asarray(progress, dtype=np.float32)

        def lerp(a, b):
            return (np.float32(a) + (np.float32(b) - np.float32(a)) * p).astype(np.float32)

        rgb = np.stack([lerp(a, b) for a, b in zip(start.rgb, end.rgb)], axis=-1)  # (F, 3)
        return cls(start.shape, lerp(start.x, end.x), lerp(start.y, end.y), lerp(start.size, end.size),
                   lerp(start.angle, end.angle), lerp(start.alpha, end.alpha), rgb)

    @classmethod
    def concat(cls, tracks: list[Track]) -> Track:
        fields = ("x", "y", "size", "angle", "alpha", "rgb")
        return cls(tracks[0].shape, *(np.concatenate([getattr(t, f) for t in tracks]) for f in fields))

    def __len__(self) -> int:
        return len(self.x)


def backgrounds(rng: np.random.Generator, count: int, size: int) -> np.ndarray:
    """(count, H, W, 3) float32 dark backgrounds: plain, or lightly textured (a soft gradient + grain).

    Dark so every colour, even faint, stands out; static over a clip, so textures cost the encoder nothing.
    """
    base = rng.uniform(20, 70, size=(count, 1, 1, 3)).astype(np.float32)
    textured = rng.random(count) < 0.5
    ramp = np.linspace(-1, 1, size, dtype=np.float32)
    direction = rng.uniform(0, 2 * np.pi, size=count)
    gradient = (np.cos(direction)[:, None, None] * ramp[None, None, :]
                + np.sin(direction)[:, None, None] * ramp[None, :, None])  # (count, H, W)
    amplitude = rng.uniform(5, 15, size=(count, 1, 1)) * textured[:, None, None]
    grain = rng.normal(0, 3, size=(count, size, size)) * textured[:, None, None]
    return np.clip(base + (amplitude * gradient + grain)[..., None], 0, 255).astype(np.float32)


def _box(px, py, half_w, half_h):
    return np.maximum(np.abs(px) - half_w, np.abs(py) - half_h)


def _convex_polygon(px, py, r, vertices):
    """Max over edges of the distance to the edge's line (outward): the signed distance, near the edges."""
    cx, cy = np.mean(vertices, axis=0)
    distances = []
    for (ax, ay), (bx, by) in zip(vertices, vertices[1:] + vertices[:1]):
        nx, ny = by - ay, ax - bx  # perpendicular to the edge
        if nx * (cx - ax) + ny * (cy - ay) > 0:  # make it point away from the centre
            nx, ny = -nx, -ny
        norm = np.hypot(nx, ny)
        distances.append(((px - ax * r) * nx + (py - ay * r) * ny) / norm)
    return np.maximum.reduce(distances)


def _signed_distance(shape: str, px: np.ndarray, py: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Approximate signed distance (normalised units, < 0 inside) in the shape's own upright frame."""
    if shape == "circle":
        return np.hypot(px, py) - r
    if shape == "ring":
        return np.abs(np.hypot(px, py) - 0.72 * r) - 0.28 * r
    if shape == "square":
        return _box(px, py, 0.85 * r, 0.85 * r)
    if shape == "cross":
        return np.minimum(_box(px, py, r, 0.33 * r), _box(px, py, 0.33 * r, r))
    if shape == "triangle":  # isosceles, apex up
        return _convex_polygon(px, py, r, ((0.0, -1.0), (0.75, 0.8), (-0.75, 0.8)))
    if shape == "star":  # five points, one pointing up; radius swings between 0.45 r and r
        theta = np.arctan2(py, px) + np.pi / 2
        phase = (theta * 5 / (2 * np.pi)) % 1.0
        spike = 1.0 - 2.0 * np.abs(phase - np.round(phase))  # 1 at a tip, 0 between tips
        return (np.hypot(px, py) - r * (0.45 + 0.55 * spike)) * 0.8
    raise ValueError(f"unknown shape {shape!r}")


def coverage(track: Track, size: int) -> np.ndarray:
    """(F, H, W) fraction of each pixel the shape covers, anti-aliased over one pixel."""
    centres = (np.arange(size, dtype=np.float32) + 0.5) / size
    dx = centres[None, None, :] - track.x[:, None, None]  # (F, 1, W)
    dy = centres[None, :, None] - track.y[:, None, None]  # (F, H, 1)
    theta = np.deg2rad(track.angle)[:, None, None]
    cos, sin = np.cos(theta), np.sin(theta)
    px = cos * dx + sin * dy  # rotate the pixel into the shape's frame (undo a clockwise turn)
    py = -sin * dx + cos * dy  # (F, H, W)
    distance = _signed_distance(track.shape, px, py, track.size[:, None, None])
    return np.clip(0.5 - distance * size, 0.0, 1.0)


def render(tracks: list[Track], background: np.ndarray) -> np.ndarray:
    """Composite tracks (in order) over `background` ((H, W, 3) or (F, H, W, 3)); (F, H, W, 3) uint8."""
    num_frames = len(tracks[0]) if tracks else 1
    size = background.shape[-2]
    image = np.broadcast_to(background, (num_frames, size, size, 3)).astype(np.float32)
    for track in tracks:
        weight = (coverage(track, size) * track.alpha[:, None, None])[..., None]  # (F, H, W, 1)
        image = image * (1.0 - weight) + track.rgb[:, None, None, :] * weight
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
