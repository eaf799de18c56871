import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from vidclip import kernels
from vidclip.kernels.frame_pool import reference as frame_pool_reference
from vidclip.kernels.temporal_attention import reference as temporal_attention_reference


def test_auto_picks_the_twin_on_cpu(monkeypatch):
    monkeypatch.delenv("VIDCLIP_KERNELS", raising=False)
    assert kernels.kernel_backend(torch.zeros(1)) == "torch"


def test_env_forces_torch(monkeypatch):
    monkeypatch.setenv("VIDCLIP_KERNELS", "Torch ")
    assert kernels.kernel_backend(torch.zeros(1)) == "torch"


def test_bad_value_names_the_choices(monkeypatch):
    monkeypatch.setenv("VIDCLIP_KERNELS", "cuda")
    with pytest.raises(ValueError, match=r"VIDCLIP_KERNELS='cuda': expected one of auto, torch, triton"):
        kernels.kernel_backend(torch.zeros(1))


def test_triton_on_cpu_needs_the_interpreter(monkeypatch):
    pytest.importorskip("triton")
    monkeypatch.setenv("VIDCLIP_KERNELS", "triton")
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(ValueError, match="needs CUDA tensors"):
        kernels.kernel_backend(torch.zeros(1))
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert kernels.kernel_backend(torch.zeros(1)) == "triton"


def _forced_triton(monkeypatch):
    pytest.importorskip("triton")
    import os

    if os.environ.get("TRITON_INTERPRET") != "1":
        pytest.skip("Triton on CPU needs TRITON_INTERPRET=1")
    monkeypatch.setenv("VIDCLIP_KERNELS", "triton")


def test_forced_triton_runs_the_kernels(monkeypatch):
    _forced_triton(monkeypatch)
    from vidclip.kernels.frame_pool import triton as frame_pool_triton
    from vidclip.kernels.temporal_attention import triton as temporal_attention_triton

    calls = []

    def spy(module, name):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *args, **kwargs: calls.append(name) or real(*args, **kwargs))

    spy(temporal_attention_triton, "temporal_attention")
    spy(frame_pool_triton, "frame_pool_scores")
    q, k, v = torch.randn(3, 2 * 4, 5, 2, 16).unbind(0)
    out = kernels.temporal_attention(q, k, v, 4)
    torch.testing.assert_close(out, temporal_attention_reference.temporal_attention(q, k, v, 4), atol=1e-5, rtol=1e-5)
    text, frames = F.normalize(torch.randn(7, 16), dim=-1), F.normalize(torch.randn(3, 4, 16), dim=-1)
    scores = kernels.frame_pool_scores(text, frames, temperature=0.1)
    expected = frame_pool_reference.frame_pool_scores(text, frames, temperature=0.1)
    torch.testing.assert_close(scores, expected, atol=1e-5, rtol=1e-5)
    assert calls == ["temporal_attention", "frame_pool_scores"]


def test_frame_pool_with_gradients_falls_back_to_the_twin(monkeypatch):
    _forced_triton(monkeypatch)
    text = F.normalize(torch.randn(7, 16), dim=-1).requires_grad_()
    frames = F.normalize(torch.randn(3, 4, 16), dim=-1)
    kernels.frame_pool_scores(text, frames, temperature=0.1).sum().backward()
    assert text.grad is not None


def test_import_does_no_work():
    """Importing the package imports no triton (no GPU probing at import time)."""
    code = "import sys, vidclip.kernels; assert 'triton' not in sys.modules, 'triton imported at import time'"
    subprocess.run([sys.executable, "-c", code], check=True)
