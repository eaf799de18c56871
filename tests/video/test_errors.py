"""Bad input → VideoDecodeError naming the file and the reason, from every backend; never a hang."""

import pickle
import sys
import time

import pytest
import torch

from vidclip.errors import VideoDecodeError
from vidclip.video import available_backends, read_frames
from vidclip.video.backends import resolve

BAD = ["missing", "empty", "text", "audio_only", "zero_frames", "truncated", "no_moov"]


@pytest.mark.parametrize("backend", ["pyav", "torchcodec", "decord"])
@pytest.mark.parametrize("kind", BAD)
def test_bad_file_raises_video_decode_error(bad_files, kind, backend):
    if backend not in available_backends():
        pytest.skip(f"backend {backend} is not installed")
    path, reason = bad_files[kind]
    started = time.monotonic()
    with pytest.raises(VideoDecodeError, match=reason) as caught:
        read_frames(path, num_frames=4, backend=backend)
    assert time.monotonic() - started < 10  # decord hangs on the truncated file; vidclip must not
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.path == str(path) and str(path) in str(error)
    assert pickle.loads(pickle.dumps(error)).reason == error.reason  # crosses DataLoader workers


def test_truncated_file_names_the_frames_it_lacks(bad_files):
    with pytest.raises(VideoDecodeError, match=r"truncated\.mp4.*claims 48 frames, the file holds \d+ whole ones"):
        read_frames(bad_files["truncated"][0], timestamps=[0.0])


@pytest.mark.parametrize("backend, module", [("decord", "decord"), ("torchcodec", "torchcodec")])
def test_missing_backend_names_the_extra(monkeypatch, backend, module):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    monkeypatch.setitem(sys.modules, f"{module}.decoders", None)
    with pytest.raises(ImportError, match=rf"pip install 'vidclip\[{backend}\]'"):
        resolve(backend)
    assert backend not in available_backends()


def test_cuda_needs_torchcodec(videos):
    with pytest.raises(ValueError, match="device='cuda' needs backend='torchcodec'"):
        read_frames(videos["h264"].path, num_frames=2, backend="pyav", device="cuda")
    with pytest.raises(ValueError, match="decode on 'cpu' or 'cuda'"):
        read_frames(videos["h264"].path, num_frames=2, device="mps")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_cuda_without_a_gpu_is_a_clear_error(videos):
    with pytest.raises(ValueError, match="CUDA is not available"):
        read_frames(videos["h264"].path, num_frames=2, device="cuda")


@pytest.mark.gpu
def test_nvdec_decodes_the_same_frames_on_the_gpu(videos):
    path = videos["h264"].path
    gpu = read_frames(path, num_frames=6, device="cuda")
    cpu = read_frames(path, num_frames=6)
    assert gpu.frames.is_cuda and gpu.backend == "torchcodec"
    torch.testing.assert_close(gpu.timestamps, cpu.timestamps)
    assert (gpu.frames.cpu().float() - cpu.frames.float()).abs().mean() < 3


def _raise(error):
    def fail(*args, **kwargs):
        raise error

    return fail


def test_each_library_s_own_exception_is_wrapped(videos, monkeypatch):
    """Files that pass the index but break a decoder: each library's exception type becomes
    VideoDecodeError (simulated, since real ones depend on FFmpeg builds)."""
    import av

    path = videos["h264"].path
    read_frames(path, num_frames=1)  # the index is cached from here on
    cases = [("pyav", av, "open", av.error.InvalidDataError(1094995529, "Invalid data found"), "Invalid data")]
    if "decord" in available_backends():
        import decord

        cases.append(("decord", decord, "VideoReader", decord.DECORDError("cannot seek"), "decord: cannot seek"))
    if "torchcodec" in available_backends():
        from torchcodec import decoders

        cases.append(("torchcodec", decoders, "VideoDecoder", RuntimeError("bad frame"), "torchcodec: bad frame"))
    for backend, owner, name, error, message in cases:
        with monkeypatch.context() as patch:
            patch.setattr(owner, name, _raise(error))
            with pytest.raises(VideoDecodeError, match=message):
                read_frames(path, num_frames=3, backend=backend)
