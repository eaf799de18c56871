"""The data sets a recipe names, loaded exactly as `vidclip train` and `vidclip eval` load them."""

from __future__ import annotations

from pathlib import Path

from vidclip.errors import ConfigError


def recipe_sets(config) -> list[tuple[str, object]]:
    """(config field, DatasetSpec) of every set a run reads: data.train, data.val, eval.sets[i]."""
    sets = [(f"data.{name}", getattr(config.data, name)) for name in ("train", "val")
            if getattr(config.data, name) is not None]
    return sets + [(f"eval.sets[{index}]", spec) for index, spec in enumerate(config.eval.sets)]


def load_spec(spec, where: str):
    """Annotations of a `DatasetSpec`; a missing file or a wrong option is a ConfigError naming the field."""
    from vidclip.data.formats import load_annotations

    if not Path(spec.annotations).exists():
        raise ConfigError(f"{where}.annotations: file not found: {spec.annotations}")
    options = {**spec.options, "on_invalid": spec.on_invalid}
    if spec.split is not None:
        options["split"] = spec.split
    try:
        return load_annotations(spec.annotations, format=spec.format, video_root=spec.video_root, **options)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None
