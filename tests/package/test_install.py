"""`pip install .` (a wheel, not editable) into a fresh venv, then the demo from another folder.

The fresh venv borrows the test environment's dependencies through a .pth file (no network, no
second torch), but not its editable vidclip: the vidclip that runs is the installed wheel.
"""

import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("install")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(work / "dist"), str(ROOT)], check=True, cwd=work)
    wheel = next((work / "dist").glob("vidclip-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()] + [sysconfig.get_paths()["purelib"]]
    Path(purelib, "borrowed_deps.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n")
    # pip of this environment installs into the fresh venv's site-packages
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target", purelib,
                    str(wheel)], check=True)
    return venv


def clean_env():
    """This environment without PYTHONPATH / VIRTUAL_ENV, which would import a source tree instead of the wheel."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def run(venv, *args, cwd):
    return subprocess.run([str(venv / "bin" / "python"), "-m", "vidclip", *args], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, timeout=900)


def test_the_installed_package_is_the_wheel_with_its_recipes(installed, tmp_path):
    probe = subprocess.run([str(installed / "bin" / "python"), "-c",
                            "import vidclip, vidclip.configs, vidclip.kernels; print(vidclip.__file__); "
                            "print(vidclip.configs.path('synthetic_pretrain.yaml').is_file())"],
                           cwd=tmp_path, env=clean_env(), capture_output=True, text=True, check=True).stdout.split()
    assert str(installed) in probe[0] and str(ROOT) not in probe[0]
    assert probe[1] == "True"


def test_demo_help_and_a_tiny_demo_run_from_another_folder(installed, tmp_path):
    shown = run(installed, "demo", "--help", cwd=tmp_path)
    assert shown.returncode == 0 and "synthetic" in shown.stdout
    done = run(installed, "demo", "--quick", "--out", "out", "--no-progress", "--methods", "meanp", "seqtransf",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "out" / "results.json").is_file() and (tmp_path / "out" / "report.md").is_file()
