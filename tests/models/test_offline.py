"""A pretrained tag without network fails in well under a second with how to place the weights by hand."""

import socket
import time

import pytest

from vidclip.errors import CheckpointError
from vidclip.factory import create_model


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    calls = []

    def unreachable(address, *args, **kwargs):
        calls.append(address)
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    for key in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(key, raising=False)
    return calls


def test_a_tag_without_network_fails_fast_saying_how_to_place_the_weights(no_network, tmp_path):
    began = time.monotonic()
    with pytest.raises(CheckpointError) as error:
        create_model("ViT-B-32", pretrained="laion2b_s34b_b79k", cache_dir=str(tmp_path / "cache"))
    assert time.monotonic() - began < 2
    message = str(error.value)
    assert "huggingface.co cannot be reached" in message and "laion/CLIP-ViT-B-32-laion2B-s34B-b79K" in message
    assert "--pretrained /path/to/weights" in message and "HF_HUB_OFFLINE=1" in message
    assert str(tmp_path / "cache") in message and no_network == [("huggingface.co", 443)]


def test_hf_hub_offline_is_honoured_without_trying_the_network(no_network, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointError, match="HF_HUB_OFFLINE is set"):
        create_model("ViT-B-32", pretrained="openai", cache_dir=str(tmp_path / "cache"))
    assert no_network == []


def test_a_cached_copy_is_used_offline(no_network, monkeypatch, tmp_path):
    """The file open_clip would have downloaded, already in the cache: found without the network."""
    import vidclip.factory as factory

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tag = {"url": "https://example.org/weights/model-abc.pt"}
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "model-abc.pt").write_bytes(b"weights")
    assert factory.download_tag("x", "t", tag, cache_dir=str(cache)) == str(cache / "model-abc.pt")


def test_an_hf_hub_model_without_network_reads_the_cache_only_and_fails_fast(no_network, monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    offline_before = constants.HF_HUB_OFFLINE
    began = time.monotonic()
    with pytest.raises(CheckpointError, match="cannot download hf-hub:nobody/no-such-model .*HF_HUB_OFFLINE=1"):
        create_model("hf-hub:nobody/no-such-model", cache_dir=str(tmp_path / "hub"))
    assert time.monotonic() - began < 2 and constants.HF_HUB_OFFLINE == offline_before  # put back
