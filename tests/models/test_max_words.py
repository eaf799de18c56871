"""data.max_words (CLIP4Clip's max_words): captions cut to that many tokens, end token kept, for
training and, through the checkpoint, for evaluation."""

import pytest

from vidclip.checkpoint import save
from vidclip.errors import ConfigError
from vidclip.factory import load_checkpoint
from vidclip.train.config import load_config
from vidclip.train.runner import create_video_model

LONG = "a red circle " * 20  # far longer than 8 tokens


def _config(max_words):
    return load_config([], ["model.name=tiny-vit-16", "model.pretrained=null", "model.adapter=meanp",
                            "model.num_frames=2", f"data.max_words={max_words}"])


def test_max_words_cuts_captions_keeping_the_end_token_and_survives_a_checkpoint(tmp_path):
    model = create_video_model(_config(8), "cpu")
    full = model._tokenizer([LONG])  # (1, context) as the tower alone tokenizes
    cut = model.tokenize([LONG, "a dog"])
    assert cut.shape == (2, 8)
    assert cut[0, :7].tolist() == full[0, :7].tolist()
    assert cut[0, 7] == full.max()  # the end-of-text token (the vocabulary's largest id) closes the cut caption
    assert cut[1].tolist() == model._tokenizer(["a dog"])[0, :8].tolist()
    save(model, tmp_path / "ckpt")
    assert load_checkpoint(tmp_path / "ckpt").tokenize([LONG]).shape == (1, 8)


def test_max_words_longer_than_the_context_is_a_config_error():
    with pytest.raises(ConfigError, match="max_words: 500 exceeds"):
        create_video_model(_config(500), "cpu")
