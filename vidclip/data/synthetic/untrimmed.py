"""Untrimmed videos for moment retrieval: 3-6 events in sequence with idle gaps between them.

One or two objects (of different shapes, so "the red circle" names one object) take turns; each
event starts from the state the previous events left, so only actions that make sense follow
(a hidden object can only appear, an object at the left edge cannot move further left).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from vidclip.data.synthetic.captions import clip_captions
from vidclip.data.synthetic.motion import change, random_state
from vidclip.data.synthetic.scene import State, Track
from vidclip.data.synthetic.splits import is_novel
from vidclip.data.synthetic.vocab import ACTIONS, COLOURS, SHAPES, can_perform


@dataclass
class Event:
    actor: int  # index of the object that acts
    action: str
    start_state: State
    end_state: State
    novel: bool  # its (action, shape) pair is held out of training
    caption: dict  # {"caption", "static", "dynamic"}
    start_frame: int = 0
    end_frame: int = 0  # exclusive


@dataclass
class MomentVideo:
    split: str
    objects: list[State]  # at the first frame
    events: list[Event] = field(default_factory=list)
    num_frames: int = 0
    video_id: str = ""


def plan_moment_video(rng: np.random.Generator, split: str, held_out: dict[str, str], *, fps: float,
                      num_events=(3, 6), event_seconds=(1.5, 3.0), gap_seconds=(0.5, 1.5)) -> MomentVideo:
    """A video whose events avoid held-out pairs (train/test) or include at least one (novel)."""
    while True:
        video = _plan_events(rng, split, held_out, int(rng.integers(num_events[0], num_events[1] + 1)))
        if len(video.events) >= num_events[0] and (split != "novel" or any(e.novel for e in video.events)):
            break
    cursor = _frames(rng, gap_seconds, fps, minimum=1)
    for event in video.events:
        event.start_frame = cursor
        event.end_frame = cursor + _frames(rng, event_seconds, fps, minimum=2)
        cursor = event.end_frame + _frames(rng, gap_seconds, fps, minimum=1)
    video.num_frames = cursor
    return video


def _frames(rng, seconds_range, fps, *, minimum):
    return max(minimum, int(round(rng.uniform(*seconds_range) * fps)))


def _plan_events(rng, split: str, held_out: dict[str, str], num_events: int) -> MomentVideo:
    num_objects = 1 + int(rng.random() < 0.5)
    shapes = [list(SHAPES)[i] for i in rng.choice(len(SHAPES), size=num_objects, replace=False)]
    colours = [list(COLOURS)[i] for i in rng.choice(len(COLOURS), size=num_objects, replace=False)]
    objects = [random_state(rng, s, c, area=(0.3, 0.7)) for s, c in zip(shapes, colours)]
    objects = [replace(o, alpha=0.0) if rng.random() < 0.25 else o for o in objects]
    video = MomentVideo(split, list(objects))
    current, seen = list(objects), set()
    for _ in range(num_events):
        options = [(i, a) for i, state in enumerate(current) for a in ACTIONS
                   if can_perform(a, state.shape) and (split == "novel" or not is_novel(a, state.shape, held_out))]
        for index in rng.permutation(len(options)):
            actor, action = options[index]
            before = current[actor]
            after = change(rng, action, before)
            key = (actor, action, before.colour, after.colour if after else None)
            if after is None or key in seen:
                continue
            seen.add(key)
            caption = clip_captions(rng, 1, action=action, shape=before.shape, colour=before.colour,
                                    colour2=after.colour, article="the")[0]
            video.events.append(Event(actor, action, before, after, is_novel(action, before.shape, held_out), caption))
            current[actor] = after
            break
    return video


def moment_tracks(video: MomentVideo) -> list[Track]:
    """Per object, its (num_frames,) track: held still between events, interpolated during its own."""
    segments: list[list[Track]] = [[] for _ in video.objects]
    current, cursor = list(video.objects), 0

    def hold_all(until):
        for i, state in enumerate(current):
            segments[i].append(Track.between(state, state, np.zeros(until - cursor)))

    for event in video.events:
        hold_all(event.start_frame)
        cursor = event.start_frame
        length = event.end_frame - event.start_frame
        for i, state in enumerate(current):
            if i == event.actor:  # the last frame of an event shows its end state
                segments[i].append(Track.between(event.start_state, event.end_state, np.arange(1, length + 1) / length))
            else:
                segments[i].append(Track.between(state, state, np.zeros(length)))
        current[event.actor] = event.end_state
        cursor = event.end_frame
    hold_all(video.num_frames)
    return [Track.concat(parts) for parts in segments]
