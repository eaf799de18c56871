"""Shared by the eval tests: a saved tiny random VDI checkpoint, and `vidclip eval` run as a command."""

import json

import pytest
import torch

from vidclip.cli import main


@pytest.fixture(scope="session")
def vdi_checkpoint(tmp_path_factory):
    import vidclip
    from vidclip.checkpoint import save

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("vdi") / "model"
    save(vidclip.create_model("tiny-vit-16", adapter="vdi", num_frames=4).eval(), path)
    return path


@pytest.fixture
def run_eval(capsys):
    """run(checkpoint, annotations, out, *options) -> (metrics, {video id: prediction row})."""

    def run(checkpoint, annotations, out, *options):
        assert main(["eval", "--checkpoint", str(checkpoint), "--data", str(annotations), "--workers", "0",
                     *options, "--out", str(out), "--json"]) == 0
        metrics = json.loads(capsys.readouterr().out.splitlines()[-1])
        rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
        return metrics, {row["vid"]: row for row in rows}

    return run
