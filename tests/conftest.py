"""Fixtures shared by several test modules."""
import getpass
import os
import sys
import tempfile
from pathlib import Path

import pytest

import helpers as nst


@pytest.fixture
def vgg_calls(monkeypatch):
    """Count VGG forward passes: per call the layers computed, the input size and whether the
    input needs a gradient (False for target computations)."""
    calls = []
    vgg = nst.load_vgg19(device="cpu")
    forward = type(vgg).forward

    def counting(self, img, layers=("relu5_1",)):
        out = forward(self, img, layers)
        calls.append({"layers": tuple(out), "shape": tuple(img.shape[-2:]), "grad": img.requires_grad})
        return out

    monkeypatch.setattr(type(vgg), "forward", counting)
    return calls


def on_ci() -> bool:
    """Whether the tests run on CI (env CI=true/1/yes): there, missing tools fail instead of skipping."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture
def ipywidgets7_folder():
    """A folder holding Colab's ipywidgets 7.7.1 (installed once, cached); skips only off CI.

    The cache is a folder in the system's temp dir (not pytest's cache, which
    ``-p no:cacheprovider`` switches off); env NST_IPYWIDGETS7_DIR names a ready folder instead.
    """
    sys.path.insert(0, str(Path(__file__).parent))
    try:
        import ipywidgets7
    finally:
        sys.path.pop(0)
    cache = Path(tempfile.gettempdir()) / f"nst-tests-{getpass.getuser()}"
    try:
        return ipywidgets7, ipywidgets7.target(cache)
    except RuntimeError as e:
        if on_ci():
            raise
        pytest.skip(f"cannot install ipywidgets 7.7.1 (offline?): {e}")
