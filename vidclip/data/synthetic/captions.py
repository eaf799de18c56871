"""Words for what happens: several phrasings per action, and static descriptions of still frames.

A clip caption is an object phrase ("a red circle") followed by a verb phrase ("slides left");
keeping the two apart gives the static / dynamic split of a query that VDI-style models use.
A verb phrase that names the starting colour ("changes from {colour} to {colour2}") is preceded
by an object phrase without it ("a circle").
"""

from __future__ import annotations

import numpy as np

VERB_PHRASES = {
    "move_left": ("moves to the left", "slides left", "is moving leftward", "travels from right to left", "goes left"),
    "move_right": ("moves to the right", "slides right", "is moving rightward", "travels from left to right", "goes right"),
    "move_up": ("moves up", "rises", "slides upward", "travels from bottom to top", "goes up"),
    "move_down": ("moves down", "sinks", "slides downward", "travels from top to bottom", "goes down"),
    "grow": ("grows", "gets bigger", "expands", "grows larger", "increases in size"),
    "shrink": ("shrinks", "gets smaller", "contracts", "shrinks in size", "decreases in size"),
    "appear": ("appears", "fades in", "comes into view", "materialises", "becomes visible"),
    "disappear": ("disappears", "fades out", "vanishes", "fades away", "becomes invisible"),
    "change_colour": ("changes colour from {colour} to {colour2}", "turns {colour2}", "goes from {colour} to {colour2}",
                      "becomes {colour2}", "changes from {colour} to {colour2}"),
    "rotate_cw": ("rotates clockwise", "spins clockwise", "turns clockwise", "is rotating clockwise",
                  "rotates to the right"),
    "rotate_ccw": ("rotates counterclockwise", "spins anticlockwise", "turns counterclockwise",
                   "is rotating anticlockwise", "rotates to the left"),
}


def phrase(action: str, index: int, *, shape: str, colour: str, colour2: str | None = None,
           article: str = "a") -> tuple[str, str]:
    """(object phrase, verb phrase) of the index-th phrasing of `action`."""
    template = VERB_PHRASES[action][index]
    names_colour = "{colour}" in template
    subject = f"{article} {shape}" if names_colour else f"{article} {colour} {shape}"
    return subject, template.format(colour=colour, colour2=colour2)


def clip_captions(rng: np.random.Generator, count: int, *, action: str, shape: str, colour: str,
                  colour2: str | None = None, article: str | None = None) -> list[dict]:
    """`count` captions in distinct phrasings (repeats only past the number of phrasings).

    Each is {"caption", "static", "dynamic"}; the article is drawn ("a"/"the") unless given.
    """
    num_phrasings = len(VERB_PHRASES[action])
    order = np.concatenate([rng.permutation(num_phrasings) for _ in range(-(-count // num_phrasings))])[:count]
    captions = []
    for index in order:
        det = article or ("a", "the")[int(rng.integers(2))]
        subject, verb = phrase(action, int(index), shape=shape, colour=colour, colour2=colour2, article=det)
        captions.append({"caption": f"{subject} {verb}", "static": subject, "dynamic": verb})
    return captions


# ---- still frames -------------------------------------------------------------------------------

_ROWS = ("top", None, "bottom")
_COLUMNS = ("left", None, "right")
EMPTY_CAPTIONS = ("an empty scene", "a plain background", "nothing but the background")


def position_words(x: float, y: float) -> str:
    """Thirds of the frame: 'at the top left', 'on the right', 'in the centre', ..."""
    row, column = _ROWS[min(int(y * 3), 2)], _COLUMNS[min(int(x * 3), 2)]
    if row and column:
        return f"at the {row} {column}"
    if row:
        return f"at the {row}"
    if column:
        return f"on the {column}"
    return "in the centre"


def size_word(size: float) -> str | None:
    return "small" if size < 0.12 else "large" if size > 0.19 else None


def tilt_words(angle: float, period: float | None) -> str | None:
    """'tilted left/right' when a turn is visible (the rotation tracks' endpoints are tilted)."""
    if period is None:
        return None
    reduced = (angle + period / 2) % period - period / 2  # in [-period/2, period/2)
    if abs(reduced) < period / 12:
        return None
    return "tilted right" if reduced > 0 else "tilted left"


def still_caption(rng: np.random.Generator, *, shape: str, colour: str, x: float, y: float, size: float,
                  alpha: float, angle: float, period: float | None) -> str:
    """E.g. 'a faint small red circle at the top left' (one of three word orders)."""
    adjectives = " ".join(w for w in ("faint" if alpha < 0.6 else None, size_word(size), colour) if w)
    tilt = tilt_words(angle, period)
    noun = f"{shape} {tilt}" if tilt else shape
    where = position_words(x, y)
    form = int(rng.integers(3))
    if form == 0:
        return f"a {adjectives} {noun} {where}"
    if form == 1:
        return f"{where}, a {adjectives} {noun}"
    return f"there is a {adjectives} {noun} {where}"
