"""The synthetic world's vocabulary: shapes, colours, and the actions that change them.

Every action has a reverse that shows the same frames played backwards; that is what makes a
temporal twin. Actions that reverse each other share a `family`, the unit held out for the
novel-composition split (so a held-out pair's twin is held out too).
"""

from __future__ import annotations

from dataclasses import dataclass

# name -> RGB; far apart in hue and brightness so they survive 4:2:0 chroma subsampling at 32 px
COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 190, 60),
    "blue": (50, 100, 240),
    "yellow": (235, 215, 40),
    "purple": (165, 70, 215),
    "white": (235, 235, 235),
}

# name -> rotational period in degrees; None: looks the same at every angle, so it cannot visibly rotate
SHAPES = {
    "circle": None,
    "square": 90.0,
    "triangle": 360.0,  # isosceles, pointing up: it has no rotational symmetry
    "cross": 90.0,
    "star": 72.0,
    "ring": None,
}


@dataclass(frozen=True)
class Action:
    name: str  # identifier used in the annotations, e.g. "move_left"
    family: str  # actions that are each other's reverse share a family
    reverse: str  # the action the reversed frames show
    label: str  # class name for zero-shot classification (Kinetics-style, spaces allowed)


ACTIONS = {
    action.name: action
    for action in (
        Action("move_left", "horizontal", "move_right", "moving left"),
        Action("move_right", "horizontal", "move_left", "moving right"),
        Action("move_up", "vertical", "move_down", "moving up"),
        Action("move_down", "vertical", "move_up", "moving down"),
        Action("grow", "size", "shrink", "growing"),
        Action("shrink", "size", "grow", "shrinking"),
        Action("appear", "visibility", "disappear", "appearing"),
        Action("disappear", "visibility", "appear", "disappearing"),
        # reversing red -> blue gives blue -> red: the same action with the colours swapped
        Action("change_colour", "colour", "change_colour", "changing colour"),
        Action("rotate_cw", "rotation", "rotate_ccw", "rotating clockwise"),
        Action("rotate_ccw", "rotation", "rotate_cw", "rotating counterclockwise"),
    )
}

FAMILIES = tuple(dict.fromkeys(action.family for action in ACTIONS.values()))

CLASS_LABELS = tuple(dict.fromkeys(action.label for action in ACTIONS.values()))


def can_perform(action: str, shape: str) -> bool:
    """Rotation only exists for shapes that look different when turned."""
    return ACTIONS[action].family != "rotation" or SHAPES[shape] is not None


def family_actions(family: str) -> list[str]:
    return [name for name, action in ACTIONS.items() if action.family == family]
