"""Every recipe's data sets load: a recipe can never name a format or an option that does not exist."""

from pathlib import Path

import pytest

from real_like import write_spec_files
from vidclip.data.check import check_recipe
from vidclip.data.recipe import recipe_sets
from vidclip.registry import DATASETS
from vidclip.train.config import load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
RECIPES = sorted(CONFIGS.rglob("*.yaml"))


# Configs load inside the tests, not at collection: loading one imports the adapters and with them
# Triton, which the kernel tests must import themselves, in interpreter mode.
@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: str(p.relative_to(CONFIGS)))
def test_recipe_data_sets_load_on_files_laid_out_like_the_real_ones(recipe, tmp_path, monkeypatch):
    config = load_config(recipe)
    if not recipe_sets(config):
        pytest.skip("a layer without data sets (base or method)")
    monkeypatch.chdir(tmp_path)  # recipes name paths relative to where `vidclip train` runs
    for _, spec in recipe_sets(config):
        write_spec_files(spec)
    checks = check_recipe(config, sample=0)
    for check in checks:
        assert check.error is None, check.summary()  # e.g. an option the reader does not take
        assert len(check.annotations) > 0, check.summary()


def test_every_dataset_has_a_recipe():
    named = {spec.format for recipe in RECIPES for _, spec in recipe_sets(load_config(recipe))}
    derived = {"msrvtt_split", "charades_json"}  # msrvtt with a split csv; what charades_cd / cg are auto-detected as
    assert set(DATASETS.names()) - derived <= named | {"jsonl"}

