"""The training config: dataclasses filled from layered YAML files and `--set key=value` overrides.

Why dataclasses and not a dict: every field has a type, a default and a place, so a typo or a wrong
type fails at load time with the valid names instead of hours into a run; and the whole config
round-trips through JSON (`config_to_dict` / `config_from_dict`), which is how checkpoints carry it.

Layering: a YAML file may name other files under `base:` and/or `defaults:` (a name or a list, paths
relative to that file). Included files load first, in order, then the file itself; later layers
override earlier ones key by key (mappings merge recursively, lists and scalars replace). Then the
`--set a.b=c` overrides apply, each value parsed as YAML (`--set optim.lr=1e-4`,
`--set "data.templates=['a {}', 'b {}']"`, `--set eval.sets.0.annotations=x.json`; an empty value is null).

YAML note: PyYAML reads `1e-4` (no dot) as a string; the loader here reads it as a float, as YAML 1.2 does.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence, Union

import yaml
from vidclip.errors import ConfigError
from vidclip.registry import ADAPTERS, DATASETS, TASKS


def _f(default, doc: str = "", **checks):
    """A field with a documented default and optional checks (min, max, gt, length; choices: a registry)."""
    meta = {"doc": doc, **checks}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


Freeze = Literal["auto", "none", "visual", "text", "towers"]
Loss = Literal["auto", "softmax", "sigmoid"]
Precision = Literal["auto", "fp32", "bf16", "fp16"]
Schedule = Literal["cosine", "linear", "constant"]
Sampling = Literal["uniform", "random"]
OnInvalid = Literal["drop", "error"]
ClassLoss = Literal["kl", "cross_entropy"]
Distributed = Literal["auto", "none", "ddp"]
Ties = Literal["pessimistic", "optimistic"]
V2tRank = Literal["by_video", "by_caption"]


# ----------------------------------------------------------------------------- sections


@dataclass
class DatasetSpec:
    """One annotation file and how to read it (a reader of `vidclip.data` does the reading)."""

    annotations: str = field(metadata={"doc": "annotation file (the dataset's own format)"})
    format: str = _f("auto", "reader name (vidclip.registry.DATASETS: msrvtt, charades_sta, jsonl, ...); auto = guess",
                     choices=DATASETS, also="auto")
    video_root: str | None = _f(None, "folder of the videos; None = beside the annotation file")
    split: str | None = _f(None, "split name or file, for formats that keep it apart (MSR-VTT: train or "
                           "MSRVTT_train.9k.csv; HMDB51: 1-3)")
    on_invalid: OnInvalid = _f("drop", "records that cannot be valid (start > end, empty window): "
                               "drop and count them, or stop with an error")
    options: dict[str, Any] = _f({}, "extra reader keyword arguments (e.g. durations, data_json)")


@dataclass
class ModelConfig:
    name: str = _f("ViT-B-32", "architecture: an open_clip or vidclip model config name")
    pretrained: str | None = _f("openai", "open_clip tag, weights file or vidclip checkpoint; None = random")
    adapter: str = _f("meanp", "temporal adapter (vidclip.registry.ADAPTERS)", choices=ADAPTERS)
    num_frames: int = _f(12, "frames per clip the model is built for", min=1)
    freeze: Freeze = _f("auto", "towers to freeze; auto = the adapter's default (prompts: towers)")
    grad_checkpointing: bool = _f(False, "recompute activations in the backward pass to save memory")
    adapter_options: dict[str, Any] = _f({}, "keyword arguments for the adapter (checked by the adapter)")
    loss: Loss = _f("auto", "contrastive loss; auto = the towers' own (sigmoid for SigLIP towers, else softmax InfoNCE)")


@dataclass
class DataConfig:
    train: DatasetSpec | None = _f(None, "training annotations")
    val: DatasetSpec | None = _f(None, "validation annotations (periodic eval)")
    num_frames: int | None = _f(None, "frames decoded per clip; None = model.num_frames", min=1)
    fps: float | None = _f(None, "sample at this rate, then thin to num_frames; None = uniform over the clip", gt=0)
    train_sampling: Sampling = _f("random", "random = one random frame per segment (TSN); uniform = centres")
    image_size: int | None = _f(None, "frame side in pixels; None = the model's", min=1)
    max_words: int | None = _f(None, "text tokens kept; None = the model's context length", min=2)
    templates: list[str] = _f(["a video of a person {}."], "class-name prompts for classification")
    workers: int = _f(4, "data-loading worker processes", min=0)
    cache: str | None = _f(None, "folder for decoded-frame tensors (decode once, reuse every epoch)")


@dataclass
class OptimConfig:
    lr: float = _f(1e-4, "learning rate of the new modules (adapter, heads)", gt=0)
    tower_lr: float = _f(1e-7, "learning rate of the pretrained towers (0 with frozen towers)", min=0)
    weight_decay: float = _f(0.2, "AdamW weight decay (not on norms, biases, embeddings)", min=0)
    betas: list[float] = _f([0.9, 0.98], "AdamW betas", length=2)
    eps: float = _f(1e-6, "AdamW epsilon", gt=0)
    schedule: Schedule = _f("cosine", "learning-rate decay after warmup")
    warmup_steps: int | None = _f(None, "linear warmup in optimizer steps; None = warmup_ratio of the run", min=0)
    warmup_ratio: float = _f(0.1, "warmup as a fraction of all steps", min=0, max=1)
    min_lr_ratio: float = _f(0.0, "final learning rate as a fraction of the peak", min=0, max=1)
    clip_grad_norm: float | None = _f(1.0, "clip the global gradient norm; None or 0 = no clipping", min=0)
    accumulation: int = _f(1, "micro-batches per optimizer step", min=1)


@dataclass
class TrainConfig:
    task: str = _f("retrieval", "what is trained (vidclip.registry.TASKS)", choices=TASKS)
    class_loss: ClassLoss = _f("kl", "classification objective: kl = EZ-CLIP's soft in-batch labels, "
                                     "cross_entropy = every class prompt each step")
    epochs: int = _f(5, "passes over the training set (ignored when max_steps is set)", min=0)
    max_steps: int | None = _f(None, "optimizer steps; overrides epochs", min=1)
    batch_size: int = _f(128, "samples per optimizer step over all processes (the papers' batch size)", min=1)
    precision: Precision = _f("auto", "auto = bf16 on CUDA, fp32 on CPU")
    seed: int = _f(0, "seeds weights, data order and augmentation")
    out_dir: str = _f("runs/default", "run folder: checkpoints, logs, config")
    log_every: int = _f(10, "optimizer steps between log records", min=1)
    eval_every: int = _f(0, "optimizer steps between evaluations; 0 = at the end only", min=0)
    save_every: int = _f(0, "optimizer steps between checkpoints; 0 = at the end only", min=0)
    max_bad_steps: int = _f(10, "consecutive non-finite losses tolerated (skipped) before stopping", min=1)
    distributed: Distributed = _f("auto", "auto = DDP when launched by torchrun")
    tensorboard: bool = _f(True, "also write TensorBoard events (needs the viz extra)")
    progress: bool = _f(True, "show a progress bar")


@dataclass
class EvalConfig:
    sets: list[DatasetSpec] = _f([], "evaluation sets; empty = data.val")
    batch_size: int = _f(64, "clips per forward pass at evaluation", min=1)
    ties: Ties = _f("pessimistic", "rank of a correct item tied with wrong ones (see vidclip.eval.metrics)")
    v2t_rank: V2tRank = _f("by_video", "video->text rank with several captions: by_video = CLIP4Clip's "
                           "(rivals offer their best caption), by_caption = every caption competes")
    num_windows: int = _f(10, "moment windows predicted per query", min=1)


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


# ----------------------------------------------------------------------------- dict <-> dataclass


def config_to_dict(config) -> dict:
    """Plain dict of JSON types (what a checkpoint stores)."""
    return dataclasses.asdict(config)


def config_from_dict(data: Mapping, cls=Config):
    """Build and check a config (or one section, `cls`) from a plain dict; raises ConfigError."""
    return _build(cls, data, "")


def config_to_yaml(config) -> str:
    return yaml.safe_dump(config_to_dict(config), sort_keys=False)


def _join(where: str, key) -> str:
    return f"{where}.{key}" if where else str(key)


def _build(cls, data, where: str):
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or 'config'}: expected a section of {cls.__name__} fields, got {_show(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            raise ConfigError(_unknown_key(key, where, sorted(fields)))
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, f in fields.items():
        path = _join(where, name)
        if name in data:
            kwargs[name] = _check_range(_coerce(data[name], hints[name], path), f.metadata, path)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{path}: required field is missing ({f.metadata.get('doc', '')})")
    return cls(**kwargs)


def _unknown_key(key, where: str, valid: list[str]) -> str:
    section = where or "<top level>"
    guess = difflib.get_close_matches(str(key), valid, n=1)
    hint = f" (did you mean {guess[0]!r}?)" if guess else ""
    return f"unknown key {_join(where, key)!r} in section {section!r}{hint}; valid keys: {', '.join(valid)}"


def _show(value) -> str:
    return "null" if value is None else f"{type(value).__name__} {value!r}"


def _describe(tp) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _describe(a) for a in args)
    if origin is list:
        inner = args[0]
        return f"a list of {inner.__name__} sections" if dataclasses.is_dataclass(inner) else f"a list of {_describe(inner)}"
    if origin is dict:
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return f"a section of {tp.__name__} fields"
    return getattr(tp, "__name__", str(tp))


def _coerce(value, tp, path: str):
    """Check `value` against the annotation `tp`; ints are accepted (and converted) for floats."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return copy.deepcopy(value)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1 and value is not None:
            try:
                return _coerce(value, options[0], path)
            except ConfigError as error:
                if dataclasses.is_dataclass(options[0]):
                    raise
                raise ConfigError(f"{path}: expected {_describe(tp)}, got {_show(value)}") from error
        raise ConfigError(f"{path}: expected {_describe(tp)}, got {_show(value)}")
    if origin is Literal:
        if any(type(value) is type(a) and value == a for a in args):
            return value
        raise ConfigError(f"{path}: expected {_describe(tp)}, got {_show(value)}")
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected {_describe(tp)}, got {_show(value)}")
        return [_coerce(v, args[0], f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise ConfigError(f"{path}: expected a mapping with text keys, got {_show(value)}")
        return {k: _coerce(v, args[1], _join(path, k)) for k, v in value.items()}
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }.get(tp)
    if ok is None:
        raise TypeError(f"{path}: unsupported annotation {tp!r} in the config dataclasses")
    if not ok:
        hint = " (quote it to pass text)" if tp is str and isinstance(value, (int, float)) else ""
        raise ConfigError(f"{path}: expected {_describe(tp)}, got {_show(value)}{hint}")
    if tp is float and not math.isfinite(value):  # NaN passes every range check: refuse it here
        raise ConfigError(f"{path}: expected a finite number, got {value!r}")
    return float(value) if tp is float else value


def _check_range(value, meta: Mapping, path: str):
    if isinstance(value, str) and "choices" in meta and value != meta.get("also") and value not in meta["choices"]:
        extra = [meta["also"]] if "also" in meta else []
        raise ConfigError(f"{path}: expected one of {', '.join(repr(c) for c in [*extra, *meta['choices']])}, got {_show(value)}")
    if value is None or isinstance(value, (bool, str, dict)):
        return value
    if "length" in meta and len(value) != meta["length"]:
        raise ConfigError(f"{path}: expected {meta['length']} values, got {len(value)}")
    if isinstance(value, (int, float)):
        for key, bad, words in (("min", lambda v, b: v < b, ">="), ("max", lambda v, b: v > b, "<="),
                                ("gt", lambda v, b: v <= b, ">")):
            if key in meta and bad(value, meta[key]):
                raise ConfigError(f"{path}: must be {words} {meta[key]}, got {value!r}")
    return value


# ----------------------------------------------------------------------------- YAML layering


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads `1e-4` as a float (YAML 1.2), not as the string PyYAML 1.1 gives."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)

_INCLUDE_KEYS = ("base", "defaults")


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.load(path.read_text(), Loader=_Loader)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, got {type(data).__name__}")
    return data


def _load_layered(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    path = path.resolve()
    if path in chain:
        raise ConfigError("config include cycle: " + " -> ".join(p.name for p in (*chain, path)))
    if not path.is_file():
        origin = f" (included from {chain[-1]})" if chain else ""
        raise ConfigError(f"config file not found: {path}{origin}")
    data = _read_yaml(path)
    merged: dict = {}
    for key in _INCLUDE_KEYS:
        includes = data.pop(key, None)
        if includes is None:
            continue
        includes = [includes] if isinstance(includes, str) else includes
        if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
            raise ConfigError(f"{path}: {key!r} must be a file name or a list of file names, got {includes!r}")
        for include in includes:
            merged = deep_merge(merged, _load_layered(path.parent / include, (*chain, path)))
    return deep_merge(merged, data)


def deep_merge(base: Mapping, top: Mapping) -> dict:
    """`top` over `base`: mappings merge key by key, anything else in `top` replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply_overrides(tree: dict, overrides: Sequence[str]) -> dict:
    """Apply `a.b=c` strings to a config tree in place (values parsed as YAML); returns the tree."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key or "" in key.split("."):
            raise ConfigError(f"--set expects key=value with a dotted key (e.g. optim.lr=1e-4), got {item!r}")
        try:
            value = yaml.load(raw, Loader=_Loader) if raw.strip() else None
        except yaml.YAMLError as error:
            raise ConfigError(f"--set {item!r}: the value is not valid YAML: {error}") from None
        _set_path(tree, key.split("."), value, key)
    return tree


def _set_path(tree: dict, parts: list[str], value, key: str) -> None:
    node: Any = tree
    for depth, part in enumerate(parts):
        here = ".".join(parts[:depth]) or "<top level>"
        if isinstance(node, list):
            if not re.fullmatch(r"-?\d+", part) or not -len(node) <= int(part) < len(node):
                raise ConfigError(f"--set {key}: {here!r} is a list of {len(node)} items; {part!r} is not an index")
            part = int(part)
        elif not isinstance(node, dict):
            raise ConfigError(f"--set {key}: {here!r} is a value, not a section")
        if depth == len(parts) - 1:
            node[part] = value
        else:
            if isinstance(node, dict) and node.get(part) is None:
                node[part] = {}  # e.g. data.train, unset so far
            node = node[part]


def load_config(paths: str | os.PathLike | Sequence[str | os.PathLike] = (), overrides: Sequence[str] = ()) -> Config:
    """Layer the YAML files (later ones win), apply `--set` overrides, check everything.

    Raises ConfigError naming the offending key (with the valid names) or field (with its type or
    allowed values).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if isinstance(overrides, str):
        overrides = [overrides]
    tree: dict = {}
    for path in paths:
        tree = deep_merge(tree, _load_layered(Path(path)))
    apply_overrides(tree, overrides)
    return config_from_dict(tree)
