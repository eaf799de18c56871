"""Still image-caption pairs with static descriptions, for image-text pre-training of a tiny CLIP.

The stills cover every look a clip frame can have (any position, size, tilt, faint or opaque,
sometimes nothing at all), and their captions name what a single frame can show: colour, shape,
size, position, tilt, faintness. A model pre-trained on them has frame features that already
separate the states the video actions move between.
"""

from __future__ import annotations

import numpy as np

from vidclip.data.synthetic.captions import EMPTY_CAPTIONS, still_caption
from vidclip.data.synthetic.motion import COLOUR_JITTER, SIZE_MAX, SIZE_MIN
from vidclip.data.synthetic.scene import Track, backgrounds, render
from vidclip.data.synthetic.vocab import COLOURS, SHAPES

EMPTY_FRACTION = 0.04
FAINT_FRACTION = 0.3


def render_stills(rng: np.random.Generator, count: int, size: int) -> tuple[np.ndarray, list[dict]]:
    """((count, 3, H, W) uint8, [{"caption", "shape", "colour", "x", "y", "size", "alpha", "angle"}])."""
    shapes = np.array(list(SHAPES))[rng.integers(len(SHAPES), size=count)]
    colours = np.array(list(COLOURS))[rng.integers(len(COLOURS), size=count)]
    x, y = rng.uniform(0.1, 0.9, size=count), rng.uniform(0.1, 0.9, size=count)
    sizes = rng.uniform(SIZE_MIN, SIZE_MAX, size=count)
    alpha = np.where(rng.random(count) < FAINT_FRACTION, rng.uniform(0.25, 1.0, size=count), 1.0)
    alpha[rng.random(count) < EMPTY_FRACTION] = 0.0
    periods = np.array([SHAPES[s] or 0.0 for s in shapes])
    angle = rng.uniform(-0.25, 0.25, size=count) * periods
    rgb = np.array([COLOURS[c] for c in colours], dtype=np.float32) + rng.uniform(-COLOUR_JITTER, COLOUR_JITTER, (count, 3))

    images = np.empty((count, size, size, 3), dtype=np.uint8)
    canvas = backgrounds(rng, count, size)
    for shape in SHAPES:  # one vectorised render per shape: a "track" whose frames are the stills
        index = np.flatnonzero(shapes == shape)
        track = Track(shape, *(a[index].astype(np.float32) for a in (x, y, sizes, angle, alpha)),
                      rgb=np.clip(rgb[index], 0, 255).astype(np.float32))
        images[index] = render([track], canvas[index])

    records = []
    for i in range(count):
        if alpha[i] == 0:
            caption = EMPTY_CAPTIONS[int(rng.integers(len(EMPTY_CAPTIONS)))]
        else:
            caption = still_caption(rng, shape=str(shapes[i]), colour=str(colours[i]), x=x[i], y=y[i], size=sizes[i],
                                    alpha=alpha[i], angle=angle[i], period=SHAPES[shapes[i]])
        visible = alpha[i] > 0
        records.append({"caption": caption, "shape": str(shapes[i]) if visible else None,
                        "colour": str(colours[i]) if visible else None,
                        "x": round(float(x[i]), 3), "y": round(float(y[i]), 3), "size": round(float(sizes[i]), 3),
                        "alpha": round(float(alpha[i]), 3), "angle": round(float(angle[i]), 1)})
    return images.transpose(0, 3, 1, 2).copy(), records  # (N, 3, H, W)
