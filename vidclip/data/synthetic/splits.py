"""Which clips each split holds: held-out verb-object pairs, balanced draws, and temporal twins.

The novel-composition split (like Charades-CG) holds (action family, shape) pairs that train and
test never show: each shape has one family held out, and each family is held out for one shape, so
every verb and every shape is still seen in training, only never together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidclip.data.synthetic.vocab import ACTIONS, COLOURS, FAMILIES, SHAPES, can_perform, family_actions

SPLITS = ("train", "test", "novel")


@dataclass
class ClipSpec:
    """One short clip to render: an object doing one action."""

    split: str
    action: str
    shape: str
    colour: str  # at the start
    colour2: str | None = None  # at the end (colour changes only)
    twin: ClipSpec | None = None
    reversed_twin: bool = False  # its frames are its twin's, played backwards
    video_id: str = ""


def held_out_families(rng: np.random.Generator) -> dict[str, str]:
    """{shape: family never shown with that shape in train/test}, a matching shapes <-> families."""
    shapes = list(SHAPES)
    while True:
        order = rng.permutation(len(FAMILIES))
        chosen = {shape: FAMILIES[order[i % len(order)]] for i, shape in enumerate(shapes)}
        if all(can_perform(family_actions(family)[0], shape) for shape, family in chosen.items()):
            return chosen


def is_novel(action: str, shape: str, held_out: dict[str, str]) -> bool:
    return held_out.get(shape) == ACTIONS[action].family


def novel_pairs(held_out: dict[str, str]) -> list[tuple[str, str]]:
    """Every (action, shape) pair of the novel split."""
    return [(action, shape) for shape, family in held_out.items() for action in family_actions(family)]


def balanced(rng: np.random.Generator, pool: list, count: int) -> list:
    """`count` items in shuffled rounds over `pool`: every item once before any item twice."""
    if count <= 0:
        return []
    if not pool:
        raise ValueError("nothing to draw from: the split allows no (action, shape) pair")
    rounds = -(-count // len(pool))
    order = np.concatenate([rng.permutation(len(pool)) for _ in range(rounds)])[:count]
    return [pool[i] for i in order]


def plan_clips(rng: np.random.Generator, split: str, count: int, *, twin_fraction: float,
               held_out: dict[str, str]) -> list[ClipSpec]:
    """`count` clips of one split in random order; a `twin_fraction` of them come as twin pairs.

    Colours are drawn so that (action, shape, colours) combinations repeat as little as possible:
    a test set then has few clips that share a caption.
    """
    novel = split == "novel"
    allowed = [(a, s) for s in SHAPES for a in ACTIONS if can_perform(a, s) and is_novel(a, s, held_out) == novel]
    families = list(dict.fromkeys((ACTIONS[a].family, s) for a, s in allowed))
    num_pairs = min(int(round(count * twin_fraction / 2)), count // 2)
    used: set[tuple] = set()
    specs = []
    for family, shape in balanced(rng, families, num_pairs):
        actions = family_actions(family)
        action = actions[int(rng.integers(len(actions)))]
        colour, colour2 = _fresh_colours(rng, used, [action, ACTIONS[action].reverse], shape, swap_for_twin=True)
        forward = ClipSpec(split, action, shape, colour, colour2)
        twin = ClipSpec(split, ACTIONS[action].reverse, shape, colour2 or colour, colour if colour2 else None,
                        twin=forward, reversed_twin=True)
        forward.twin = twin
        specs += [forward, twin]
    for action, shape in balanced(rng, allowed, count - 2 * num_pairs):
        colour, colour2 = _fresh_colours(rng, used, [action], shape)
        specs.append(ClipSpec(split, action, shape, colour, colour2))
    return [specs[i] for i in rng.permutation(len(specs))]


def _fresh_colours(rng, used: set, actions: list[str], shape: str, *, swap_for_twin: bool = False,
                   tries: int = 30) -> tuple[str, str | None]:
    """(colour, colour2) whose combinations with `actions` are unused, if that is possible in `tries`."""
    names = list(COLOURS)
    for attempt in range(tries):
        colour, colour2 = (names[i] for i in rng.choice(len(names), size=2, replace=False))
        if actions[0] != "change_colour":
            colour2 = None
        keys = [(actions[0], shape, colour, colour2)]
        if swap_for_twin:
            keys.append((actions[1], shape, colour2 or colour, colour if colour2 else None))
        if attempt == tries - 1 or not used.intersection(keys):
            used.update(keys)
            return colour, colour2
    raise AssertionError("unreachable")
