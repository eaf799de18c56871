import pytest

import vidclip


@pytest.fixture
def tiny():
    def make(adapter="meanp", num_frames=3, arch="tiny-vit-16", **kwargs):
        return vidclip.create_model(arch, adapter=adapter, num_frames=num_frames, **kwargs)

    return make
