"""Fixtures shared by several test modules."""
import os
import sys
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


@pytest.fixture
def ipywidgets7_folder(request, tmp_path_factory):
    """A folder holding Colab's ipywidgets 7.7.1 (installed once, cached); skips only off CI."""
    sys.path.insert(0, str(Path(__file__).parent))
    try:
        import ipywidgets7
    finally:
        sys.path.pop(0)
    cache = request.config.cache.mkdir("nst") if request.config.cache else tmp_path_factory.mktemp("c")
    try:
        return ipywidgets7, ipywidgets7.target(cache)
    except RuntimeError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"cannot install ipywidgets 7.7.1 (offline?): {e}")
