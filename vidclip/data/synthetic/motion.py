"""What each action does to an object: start states that leave room for it, and its end state.

`change` is shared by the short clips and the untrimmed moment videos, so an action looks the
same in both; it returns None when the action cannot happen from a state (no room to move, already
invisible, ...), which is how moment videos chain only events that make sense.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from vidclip.data.synthetic.scene import State
from vidclip.data.synthetic.vocab import ACTIONS, COLOURS, SHAPES, family_actions

MARGIN = 0.15  # an object's centre stays this far inside the frame
SIZE_MIN, SIZE_MAX = 0.08, 0.26  # half-extent, as a fraction of the frame
MIN_TRAVEL, MAX_TRAVEL = 0.3, 0.5  # a move covers this much of the frame
MIN_RESIZE = 0.07
COLOUR_JITTER = 12.0  # per-channel spread around a named colour


def random_state(rng: np.random.Generator, shape: str, colour: str, *, area=(0.25, 0.75)) -> State:
    """A visible object of medium size somewhere in `area` (both axes), slightly tilted if it can be."""
    period = SHAPES[shape]
    jitter = rng.uniform(-COLOUR_JITTER, COLOUR_JITTER, size=3)
    state = State(shape=shape, colour=colour, rgb=(0.0, 0.0, 0.0), x=float(rng.uniform(*area)),
                  y=float(rng.uniform(*area)), size=float(rng.uniform(0.13, 0.19)),
                  angle=float(rng.uniform(-period / 4, period / 4)) if period else 0.0)
    return state.recoloured(colour, jitter)


def clip_start(rng: np.random.Generator, action: str, shape: str, colour: str) -> State:
    """A start state from which `action` has the full range to play in a short clip."""
    state = random_state(rng, shape, colour)
    far = float(rng.uniform(0.7, 0.8))
    if action in ("move_left", "move_right"):
        return replace(state, x=far if action == "move_left" else 1 - far)
    if action in ("move_up", "move_down"):
        return replace(state, y=far if action == "move_up" else 1 - far)
    if action == "grow":
        return replace(state, size=float(rng.uniform(SIZE_MIN, 0.11)))
    if action == "shrink":
        return replace(state, size=float(rng.uniform(0.22, SIZE_MAX)))
    if action == "appear":
        return replace(state, alpha=0.0)
    if action in ("rotate_cw", "rotate_ccw"):
        sign = 1.0 if action == "rotate_cw" else -1.0
        return replace(state, angle=-sign * rotation_amount(shape) / 2 + float(rng.normal(0, 2)))
    return state


def clip_endpoints(rng: np.random.Generator, action: str, shape: str, colour: str,
                   colour2: str | None = None) -> tuple[State, State]:
    """(first, last) state of a short clip of `action`.

    An action and its reverse draw the same pairs of endpoints, in opposite order: no frame and no
    set of frames (position, size, tilt, ...) tells "moves left" from "moves right", only the order.
    """
    forward = family_actions(ACTIONS[action].family)[0]
    start = clip_start(rng, forward, shape, colour)
    end = change(rng, forward, start, colour2=colour2)
    return (start, end) if action == forward else (end, start)


def rotation_amount(shape: str) -> float:
    """Half the shape's period (at most 120 degrees): turning further would look like turning back."""
    return min(SHAPES[shape] / 2, 120.0)


def change(rng: np.random.Generator, action: str, state: State, *, colour2: str | None = None) -> State | None:
    """The state after `action`, or None if it cannot happen from `state`."""
    if ACTIONS[action].family != "visibility" and state.alpha < 1:
        return None  # only a visible object can be seen doing anything
    if action in ("move_left", "move_right", "move_up", "move_down"):
        axis = "x" if action in ("move_left", "move_right") else "y"
        sign = -1.0 if action in ("move_left", "move_up") else 1.0
        position = getattr(state, axis)
        margin = max(MARGIN, 0.9 * state.size)  # a large shape stops before it leaves the frame
        room = (position - margin) if sign < 0 else (1 - margin - position)
        if room < MIN_TRAVEL:
            return None
        return replace(state, **{axis: position + sign * float(rng.uniform(MIN_TRAVEL, min(MAX_TRAVEL, room)))})
    if action in ("grow", "shrink"):
        room = (SIZE_MAX - state.size) if action == "grow" else (state.size - SIZE_MIN)
        if room < MIN_RESIZE:
            return None
        step = float(rng.uniform(MIN_RESIZE, min(0.14, room)))
        return replace(state, size=state.size + (step if action == "grow" else -step))
    if action == "appear":
        return replace(state, alpha=1.0) if state.alpha == 0 else None
    if action == "disappear":
        return replace(state, alpha=0.0) if state.alpha == 1 else None
    if action == "change_colour":
        if colour2 is None:
            others = [c for c in COLOURS if c != state.colour]
            colour2 = others[int(rng.integers(len(others)))]
        if colour2 == state.colour:
            return None
        return state.recoloured(colour2, rng.uniform(-COLOUR_JITTER, COLOUR_JITTER, size=3))
    if action in ("rotate_cw", "rotate_ccw"):
        if SHAPES[state.shape] is None:
            return None
        sign = 1.0 if action == "rotate_cw" else -1.0
        return replace(state, angle=state.angle + sign * rotation_amount(state.shape) * float(rng.uniform(0.85, 1.0)))
    raise ValueError(f"unknown action {action!r}")
