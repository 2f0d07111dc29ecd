"""Lesson helpers: quick mode, PSNR, exercise checks, receptive fields, feature-map and loss plots."""
import math

import matplotlib
import pytest
import torch

import helpers as nst
from helpers import lessons

matplotlib.use("Agg")


def test_receptive_fields_match_the_recurrence_and_known_values():
    rf = lessons.receptive_fields()
    assert list(rf) == list(nst.LAYER_NAMES)
    assert rf["conv1_1"] == (3, 1) and rf["relu1_1"] == (3, 1) and rf["conv1_2"] == (5, 1)
    assert rf["pool1"] == (6, 2) and rf["conv2_1"] == (10, 2)
    assert rf["conv4_2"] == (84, 8) and rf["conv5_1"] == (156, 16) and rf["pool5"] == (268, 32)


@pytest.mark.parametrize("layer", ["conv1_2", "conv2_1", "conv3_1"])
def test_receptive_field_is_where_the_gradient_reaches(layer):
    # independent check by autograd: the centre unit's gradient is non-zero on exactly its field
    vgg = nst.load_vgg19(pooling="avg", device="cpu")
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    F = vgg(x, [layer])[layer]
    F[0, :, F.shape[2] // 2, F.shape[3] // 2].sum().backward()
    rows = (x.grad[0].abs().sum(0).sum(1) > 0).nonzero()
    assert int(rows.max() - rows.min() + 1) == lessons.receptive_fields()[layer][0]


def test_show_feature_maps_picks_the_most_active_channels():
    feats = {"a": torch.zeros(1, 5, 4, 4), "b": torch.zeros(1, 3, 2, 2)}
    feats["a"][0, 3] = 2.0
    feats["a"][0, 1] = 1.0
    fig = lessons.show_feature_maps(feats, channels=2)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 4 and titles[:2] == ["a #3", "a #1"]
    fig = lessons.show_feature_maps(feats, channels={"a": [0], "b": [2, 1]})
    assert [ax.get_title() for ax in fig.axes] == ["a #0", "", "b #2", "b #1"]


def test_plot_losses_log_axis_and_both_x_axes():
    hist = [{"step": i, "seconds": 0.1 * i, "total": 10.0 ** -i} for i in range(4)]
    ax = lessons.plot_losses({"run": hist}, x="seconds")
    assert ax.get_yscale() == "log" and list(ax.lines[0].get_xdata()) == [0.0, 0.1, 0.2, 0.30000000000000004]
    res = nst.Result(image=torch.zeros(1, 3, 2, 2), history=hist)
    assert lessons.plot_losses({"r": res}).get_xlabel() == "iteration"
    with pytest.raises(ValueError, match="step"):
        lessons.plot_losses({"r": res}, x="time")


def test_check_answers():
    assert "not answered" in lessons.check("q", ..., 1.0)
    assert lessons.check("q", 6.5, torch.tensor(6.5)) == "q: correct"
    assert lessons.check("q", (1, 64, 56, 56), (1, 64, 56, 56)) == "q: correct"
    assert lessons.check("q", [[5, 2], [2, 1]], torch.tensor([[5.0, 2.0], [2.0, 1.0]])) == "q: correct"
    with pytest.raises(AssertionError, match="hint"):
        lessons.check("q", 7, 6.5, hint="hint")


def test_psnr_and_lesson_settings(monkeypatch):
    a = torch.zeros(1, 3, 4, 4)
    assert nst.psnr(a, a) == math.inf and nst.psnr(a, a + 0.1) == pytest.approx(20.0)
    monkeypatch.setenv("NST_QUICK", "1")
    assert nst.lesson_settings(size=256, steps=100, quick_size=80, quick_steps=7) == \
        {"size": 80, "steps": 7, "quick": True}
    monkeypatch.setenv("NST_QUICK", "0")
    assert nst.lesson_settings(size=256, steps=100, device="cpu") == {"size": 256, "steps": 100, "quick": False}
