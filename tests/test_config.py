"""Config loading: YAML layering, --set overrides, error messages, JSON round trip, the recipes."""

import json
from pathlib import Path

import pytest

from vidclip.train.config import (
    Config,
    ConfigError,
    DatasetSpec,
    ModelConfig,
    config_from_dict,
    config_to_dict,
    config_to_yaml,
    load_config,
)

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
ALL_YAML = sorted(CONFIGS.rglob("*.yaml"))


def write(tmp_path, name, text):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------- layering


def test_defaults_without_files():
    cfg = load_config([])
    assert cfg == Config()
    assert cfg.model.adapter == "meanp" and cfg.data.train is None


def test_layer_order_base_then_defaults_then_self_then_later_files(tmp_path):
    write(tmp_path, "root.yaml", "model: {name: root, num_frames: 4}\ntrain: {seed: 1, epochs: 1}\n")
    write(tmp_path, "parts/a.yaml", "model: {name: a}\ntrain: {seed: 2}\n")
    write(tmp_path, "parts/b.yaml", "model: {name: b}\noptim: {betas: [0.5, 0.6]}\n")
    recipe = write(tmp_path, "recipe.yaml",
                   "base: root.yaml\ndefaults: [parts/a.yaml, parts/b.yaml]\ntrain: {seed: 3}\n")
    cfg = load_config(recipe)
    assert cfg.model.name == "b"  # defaults in order, after base
    assert cfg.model.num_frames == 4  # deep merge keeps the base's sibling keys
    assert cfg.train.seed == 3 and cfg.train.epochs == 1  # the file itself beats its includes
    assert cfg.optim.betas == [0.5, 0.6]
    later = write(tmp_path, "later.yaml", "model: {name: later}\noptim: {betas: [0.1, 0.2]}\n")
    cfg = load_config([recipe, later])
    assert cfg.model.name == "later" and cfg.optim.betas == [0.1, 0.2]  # lists replace, not append
    assert cfg.model.num_frames == 4


def test_includes_resolve_relative_to_the_including_file(tmp_path):
    write(tmp_path, "x/methods/m.yaml", "model: {adapter: glscl, adapter_options: {num_queries: 8, depth: 3}}\n")
    write(tmp_path, "x/mid.yaml", "defaults: methods/m.yaml\n")
    top = write(tmp_path, "top.yaml", "defaults: [x/mid.yaml]\nmodel: {adapter_options: {num_queries: 12}}\n")
    cfg = load_config(str(top))
    assert cfg.model.adapter == "glscl"
    assert cfg.model.adapter_options == {"num_queries": 12, "depth": 3}  # free-form dicts merge too


def test_include_cycle_and_missing_include(tmp_path):
    write(tmp_path, "a.yaml", "base: b.yaml\n")
    write(tmp_path, "b.yaml", "base: a.yaml\n")
    with pytest.raises(ConfigError, match="include cycle: a.yaml -> b.yaml -> a.yaml"):
        load_config(tmp_path / "a.yaml")
    bad = write(tmp_path, "c.yaml", "defaults: [nope.yaml]\n")
    with pytest.raises(ConfigError, match=r"not found: .*nope.yaml \(included from .*c.yaml\)"):
        load_config(bad)
    with pytest.raises(ConfigError, match="'defaults' must be a file name or a list"):
        load_config(write(tmp_path, "d.yaml", "defaults: {a: 1}\n"))


def test_yaml_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"e.yaml: not valid YAML"):
        load_config(write(tmp_path, "e.yaml", "model: [unclosed\n"))
    with pytest.raises(ConfigError, match=r"f.yaml: the top level must be a mapping"):
        load_config(write(tmp_path, "f.yaml", "- a\n- b\n"))
    assert load_config(write(tmp_path, "empty.yaml", "")) == Config()


def test_exponent_without_dot_is_a_float(tmp_path):
    cfg = load_config(write(tmp_path, "lr.yaml", "optim: {lr: 1e-4, tower_lr: 2E-7}\n"), ["optim.eps=1e-8"])
    assert cfg.optim.lr == 1e-4 and cfg.optim.tower_lr == 2e-7 and cfg.optim.eps == 1e-8


# ----------------------------------------------------------------------------- --set


def test_set_overrides_nested_lists_and_null(tmp_path):
    recipe = write(tmp_path, "r.yaml",
                   "eval: {sets: [{annotations: a.json}, {annotations: b.json, format: jsonl}]}\n"
                   "model: {pretrained: openai}\n")
    cfg = load_config(recipe, [
        "train.batch_size=32",
        "model.adapter_options.num_queries=8",
        "data.templates=['a video of {}', '{} in a video']",
        "optim.betas=[0.9, 0.999]",
        "eval.sets.1.format=qvhighlights",
        "eval.sets.-2.video_root=/videos",
        "data.train.annotations=train.json",  # creates the unset section
        "data.train.options={durations: d.csv}",
        "model.pretrained=null",
        "model.grad_checkpointing=true",
        "train.out_dir=runs/x=y",  # only the first '=' splits
        "data.cache=",  # empty value -> null
    ])
    assert cfg.train.batch_size == 32
    assert cfg.model.adapter_options == {"num_queries": 8}
    assert cfg.data.templates == ["a video of {}", "{} in a video"]
    assert cfg.optim.betas == [0.9, 0.999]
    assert cfg.eval.sets[1] == DatasetSpec(annotations="b.json", format="qvhighlights")
    assert cfg.eval.sets[0].video_root == "/videos"
    assert cfg.data.train == DatasetSpec(annotations="train.json", options={"durations": "d.csv"})
    assert cfg.model.pretrained is None and cfg.model.grad_checkpointing is True
    assert cfg.train.out_dir == "runs/x=y" and cfg.data.cache is None


def test_later_overrides_win():
    assert load_config([], ["train.seed=1", "train.seed=2"]).train.seed == 2


@pytest.mark.parametrize("override, message", [
    ("train.seed", "--set expects key=value"),
    ("=3", "--set expects key=value"),
    ("train..seed=1", "--set expects key=value"),
    ("train.seed=[1", "not valid YAML"),
    ("train.seed.x=1", r"'train.seed' is a value, not a section"),
])
def test_set_malformed(tmp_path, override, message):
    recipe = write(tmp_path, "r.yaml", "train: {seed: 0}\n")
    with pytest.raises(ConfigError, match=message):
        load_config(recipe, [override])


def test_set_list_index_out_of_range(tmp_path):
    recipe = write(tmp_path, "r.yaml", "eval: {sets: [{annotations: a.json}]}\n")
    with pytest.raises(ConfigError, match=r"'eval.sets' is a list of 1 items; '3' is not an index"):
        load_config(recipe, ["eval.sets.3.format=jsonl"])


# ----------------------------------------------------------------------------- errors


def test_unknown_key_in_yaml_names_key_section_and_valid_names(tmp_path):
    recipe = write(tmp_path, "r.yaml", "model:\n  adaptor: glscl\n")
    with pytest.raises(ConfigError) as info:
        load_config(recipe)
    assert str(info.value) == (
        "unknown key 'model.adaptor' in section 'model' (did you mean 'adapter'?); valid keys: "
        "adapter, adapter_options, freeze, grad_checkpointing, loss, name, num_frames, pretrained"
    )


def test_unknown_top_level_and_nested_list_keys(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key 'trian' in section '<top level>' \(did you mean 'train'\?\); "
                                          r"valid keys: data, eval, model, optim, train"):
        load_config(write(tmp_path, "a.yaml", "trian: {seed: 1}\n"))
    with pytest.raises(ConfigError, match=r"unknown key 'eval.sets\[1\].annotation' in section 'eval.sets\[1\]'.*"
                                          r"valid keys: annotations, format, on_invalid, options, split, video_root"):
        load_config(write(tmp_path, "b.yaml", "eval: {sets: [{annotations: a}, {annotation: b}]}\n"))


def test_unknown_key_from_set():
    with pytest.raises(ConfigError, match=r"unknown key 'optim.learning_rate' in section 'optim'.*valid keys: "
                                          r"accumulation, betas, clip_grad_norm, eps, lr, min_lr_ratio"):
        load_config([], ["optim.learning_rate=0.1"])
    with pytest.raises(ConfigError, match=r"unknown key 'nope' in section '<top level>'"):
        load_config([], ["nope.x=1"])


@pytest.mark.parametrize("override, message", [
    ("train.epochs=five", "train.epochs: expected int, got str 'five'"),
    ("train.epochs=2.5", "train.epochs: expected int, got float 2.5"),
    ("train.epochs=true", "train.epochs: expected int, got bool True"),
    ("optim.lr=fast", "optim.lr: expected float, got str 'fast'"),
    ("model.grad_checkpointing=1", "model.grad_checkpointing: expected bool, got int 1"),
    ("model.name=123", r"model.name: expected str, got int 123 \(quote it to pass text\)"),
    ("model.adapter=xclip",
     "model.adapter: expected one of 'meanp', 'seqtransf', 'prompts', 'vdi', 'glscl', got str 'xclip'"),
    ("train.precision=fp8", "train.precision: expected one of 'auto', 'fp32', 'bf16', 'fp16', got str 'fp8'"),
    ("model.pretrained=[a]", r"model.pretrained: expected str or null, got list \['a'\]"),
    ("train.max_steps=ten", "train.max_steps: expected int or null, got str 'ten'"),
    ("model.num_frames=null", "model.num_frames: expected int, got null"),
    ("data.templates=a {}", "data.templates: expected a list of str, got str 'a {}'"),
    ("data.templates=[1]", r"data.templates\[0\]: expected str, got int 1"),
    ("model.adapter_options=[1]", "model.adapter_options: expected a mapping with text keys"),
    ("eval.sets=[a.json]", r"eval.sets\[0\]: expected a section of DatasetSpec fields, got str 'a.json'"),
    ("eval.sets={}", "eval.sets: expected a list of DatasetSpec sections, got dict"),
    ("model=ViT-B-32", "model: expected a section of ModelConfig fields, got str 'ViT-B-32'"),
    ("data.train.format=jsonl", "data.train.annotations: required field is missing"),
    ("train.batch_size=0", "train.batch_size: must be >= 1, got 0"),
    ("optim.warmup_ratio=1.5", "optim.warmup_ratio: must be <= 1, got 1.5"),
    ("data.fps=0", "data.fps: must be > 0, got 0.0"),
    ("optim.betas=[0.9]", "optim.betas: expected 2 values, got 1"),
])
def test_type_and_value_errors_name_field_and_allowed(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config([], [override])


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_int_is_accepted_for_float_and_converted():
    cfg = load_config([], ["optim.lr=1", "data.fps=2"])
    assert cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float) and isinstance(cfg.data.fps, float)


# ----------------------------------------------------------------------------- round trip


def test_json_round_trip_of_a_full_config(tmp_path):
    cfg = load_config([], [
        "data.train.annotations=t.json", "data.train.options={durations: d.csv, n: 3}",
        "eval.sets=[{annotations: a.json, split: '1'}]", "model.adapter_options={k: [1, 2], temp: 3.0}",
        "train.max_steps=7", "optim.clip_grad_norm=null",
    ])
    data = json.loads(json.dumps(config_to_dict(cfg)))
    back = config_from_dict(data)
    assert back == cfg
    assert config_to_dict(back) == data


def test_section_from_dict_and_yaml_dump():
    assert config_from_dict({"adapter": "vdi"}, ModelConfig) == ModelConfig(adapter="vdi")
    cfg = Config()
    assert "adapter: meanp" in config_to_yaml(cfg)


# ----------------------------------------------------------------------------- the recipes


def test_recipes_exist():
    names = {p.relative_to(CONFIGS).as_posix() for p in ALL_YAML}
    for needed in ["base.yaml", "msrvtt_meanp.yaml", "msrvtt_glscl.yaml", "charades_vdi.yaml",
                   "k400_prompts.yaml", "synthetic_pretrain.yaml", "datasets/msrvtt.yaml",
                   "datasets/charades_sta.yaml", "datasets/k400.yaml", "datasets/synthetic.yaml",
                   *(f"methods/{m}.yaml" for m in ["meanp", "seqtransf", "prompts", "vdi", "glscl"]),
                   *(f"synthetic_{m}.yaml" for m in ["meanp", "seqtransf", "prompts", "vdi", "glscl"])]:
        assert needed in names, needed


@pytest.mark.parametrize("path", ALL_YAML, ids=lambda p: p.relative_to(CONFIGS).as_posix())
def test_every_yaml_in_configs_loads_and_round_trips(path):
    cfg = load_config(path)
    assert config_from_dict(json.loads(json.dumps(config_to_dict(cfg)))) == cfg


def test_recipe_settings_follow_the_papers():
    meanp = load_config(CONFIGS / "msrvtt_meanp.yaml")
    assert (meanp.model.name, meanp.model.adapter, meanp.model.num_frames) == ("ViT-B-32", "meanp", 12)
    assert (meanp.train.batch_size, meanp.train.epochs, meanp.train.task) == (128, 5, "retrieval")
    assert (meanp.optim.lr, meanp.optim.tower_lr) == (1e-4, 1e-7)
    assert meanp.data.train.format == "msrvtt" and meanp.data.max_words == 32

    glscl = load_config(CONFIGS / "msrvtt_glscl.yaml")
    assert glscl.model.adapter == "glscl"
    assert glscl.model.adapter_options["num_queries"] == 8 and glscl.model.adapter_options["local_weight"] == 0.5

    prompts = load_config(CONFIGS / "k400_prompts.yaml")
    assert (prompts.model.name, prompts.model.num_frames, prompts.model.freeze) == ("ViT-B-16", 8, "towers")
    assert prompts.train.task == "classification" and len(prompts.eval.sets) == 2

    vdi = load_config(CONFIGS / "charades_vdi.yaml")
    assert vdi.model.adapter == "vdi" and vdi.train.task == "moments" and vdi.data.train.format == "charades_sta"

    demo = load_config(CONFIGS / "synthetic_prompts.yaml", ["train.max_steps=5"])
    assert demo.model.freeze == "visual" and demo.model.num_frames == 8 and demo.train.max_steps == 5
    assert load_config(CONFIGS / "synthetic_pretrain.yaml").train.task == "image_text"
