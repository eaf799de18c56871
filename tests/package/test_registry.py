"""One registry per concept: every adapter, task and dataset format can be chosen from YAML and the CLI."""

import pytest

from vidclip.errors import ConfigError
from vidclip.registry import ADAPTERS, DATASETS, TASKS
from vidclip.train.config import load_config


def write(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_registries_hold_what_ships():
    assert ADAPTERS.names() == ["meanp", "seqtransf", "prompts", "vdi", "glscl"]
    assert set(TASKS.names()) == {"retrieval", "moments", "classification", "image_text"}
    assert {"msrvtt", "charades_sta", "qvhighlights", "activitynet", "jsonl", "kinetics"} <= set(DATASETS.names())


@pytest.mark.parametrize("name", ADAPTERS.names())
def test_every_adapter_from_yaml_and_set(tmp_path, name):
    assert load_config(write(tmp_path, f"model: {{adapter: {name}}}\n")).model.adapter == name
    assert load_config([], [f"model.adapter={name}"]).model.adapter == name


@pytest.mark.parametrize("name", TASKS.names())
def test_every_task_from_yaml(tmp_path, name):
    assert load_config(write(tmp_path, f"train: {{task: {name}}}\n")).train.task == name


@pytest.mark.parametrize("name", ["auto", *DATASETS.names()])
def test_every_dataset_format_from_yaml(tmp_path, name):
    config = load_config(write(tmp_path, f"data: {{train: {{annotations: a.json, format: {name}}}}}\n"))
    assert config.data.train.format == name


@pytest.mark.parametrize("field, registry", [("model.adapter", ADAPTERS), ("train.task", TASKS),
                                             ("data.train.format", DATASETS)])
def test_unknown_names_list_the_registered_ones(field, registry):
    overrides = [f"{field}=nope"] + (["data.train.annotations=a.json"] if field.startswith("data") else [])
    with pytest.raises(ConfigError, match=f"{field}: expected one of .*'{registry.names()[0]}'.*got str 'nope'"):
        load_config([], overrides)


@pytest.mark.parametrize("name", ADAPTERS.names())
def test_every_adapter_from_the_cli(name):
    from vidclip.cli import build_parser

    args = build_parser().parse_args(["embed", "a.mp4", "--out", "e.safetensors", "--model", "tiny-vit-16",
                                      "--adapter", name])
    assert args.adapter == name


def test_cli_help_lists_the_registry(capsys):
    from vidclip.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["embed", "--help"])
    assert ", ".join(ADAPTERS.names()) in " ".join(capsys.readouterr().out.split())


def test_an_adapter_registered_elsewhere_is_choosable_and_builds(tmp_path, monkeypatch):
    from vidclip.adapters.base import Adapter
    from vidclip.factory import create_model

    monkeypatch.setattr(ADAPTERS, "_entries", dict(ADAPTERS._entries))  # undone after the test

    @ADAPTERS.register
    class FirstFrame(Adapter):
        name = "first_frame"

    config = load_config(write(tmp_path, "model: {adapter: first_frame}\n"))
    model = create_model("tiny-vit-16", adapter=config.model.adapter, num_frames=2)
    assert isinstance(model.adapter, FirstFrame)


def test_a_name_registered_twice_is_refused(monkeypatch):
    monkeypatch.setattr(TASKS, "_entries", dict(TASKS._entries))
    with pytest.raises(ValueError, match="registered twice"):
        TASKS.register("retrieval")(object)
