"""Kernel tests: Triton kernels against their PyTorch twins.

Without a CUDA device the kernels run in the Triton interpreter on CPU tensors. TRITON_INTERPRET
must be set before a kernel module is imported (`triton.jit` picks the interpreter when it
decorates), and only where no CUDA device exists: on a GPU machine the `gpu` tests then check the
compiled kernels (run `TRITON_INTERPRET=1 pytest tests/kernels -m "not gpu"` there for the CPU ones).
Nothing else in the suite uses compiled Triton on a machine without CUDA, so this is harmless to it.
"""

import os

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"


def pytest_generate_tests(metafunc):
    """A `device` argument runs the test on CPU (interpreter) and on CUDA (compiled, `gpu` marker)."""
    if "device" in metafunc.fixturenames:
        compiled_untested = INTERPRET and torch.cuda.is_available()
        no_interpreter = pytest.mark.skipif(not INTERPRET, reason="Triton on CPU needs TRITON_INTERPRET=1")
        interpreted = pytest.mark.skipif(compiled_untested, reason="interpreter on: nothing compiled")
        cpu = pytest.param("cpu", marks=no_interpreter)
        cuda = pytest.param("cuda", marks=[pytest.mark.gpu, interpreted])
        metafunc.parametrize("device", [cpu, cuda])


@pytest.fixture
def poisoned(monkeypatch):
    """Every buffer a kernel writes starts as NaN, so an element it forgets to write fails the test."""
    pytest.importorskip("triton")
    from vidclip.kernels.frame_pool import triton as frame_pool_triton
    from vidclip.kernels.temporal_attention import triton as temporal_attention_triton

    def nan_empty(shape, dtype, device):
        return torch.full(shape, float("nan"), dtype=dtype, device=device)

    for module in (frame_pool_triton, temporal_attention_triton):
        monkeypatch.setattr(module, "_empty", nan_empty)
