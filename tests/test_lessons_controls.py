"""Lesson helpers of lessons 03-04: paper-equivalent style weight, style distance, stage times."""
import pytest
import torch

import helpers as nst
from helpers import lessons


def test_paper_style_weight_is_the_papers_beta_at_512_and_scales_with_pixels():
    assert lessons.paper_style_weight(1e-3, torch.zeros(1, 3, 512, 512)) == pytest.approx(1e3)
    # a quarter of the pixels -> a quarter of beta for the same balance
    assert lessons.paper_style_weight(1e-3, torch.zeros(1, 3, 256, 256)) == pytest.approx(250.0)
    assert lessons.paper_style_weight(1e-4, torch.zeros(1, 3, 100, 300), reference=100) == pytest.approx(3e4)
    with pytest.raises(ValueError, match="ratio"):
        lessons.paper_style_weight(0, torch.zeros(1, 3, 8, 8))


def _img(seed, h=48, w=48):
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(seed))


def test_style_distance_is_eq3_against_a_brute_force_reference():
    vgg = nst.load_vgg19(device="cpu")
    img, style = _img(0), _img(1, 64, 40)
    layers = ("relu1_1", "relu2_1")
    with torch.no_grad():
        F, S = vgg(img, layers), vgg(style, layers)
    expected = 0.0
    for n in layers:  # E_l = 1/(4 N^2) sum (G/M - A/M_style)^2, w_l = 1/2
        N = F[n].shape[1]
        f, s = F[n][0].reshape(N, -1).double(), S[n][0].reshape(N, -1).double()
        G, A = f @ f.T / f.shape[1], s @ s.T / s.shape[1]
        expected += 0.5 * float(((G - A) ** 2).sum()) / (4 * N**2)
    got = lessons.style_distance(img, style, vgg=vgg, layers=layers)
    assert got == pytest.approx(expected, rel=1e-4)
    assert lessons.style_distance(style, style, vgg=vgg, layers=layers) == pytest.approx(0.0, abs=1e-6)


def test_style_distance_with_a_mask_measures_only_that_region():
    vgg = nst.load_vgg19(device="cpu")
    style = _img(2)
    img = torch.cat([style, _img(3)], dim=-1)  # left half: the style itself; right half: other noise
    left = torch.zeros(1, 1, 48, 96)
    left[..., :48] = 1
    d_left = lessons.style_distance(img, style, vgg=vgg, mask=left, layers=("relu1_1",))
    d_right = lessons.style_distance(img, style, vgg=vgg, mask=1 - left, layers=("relu1_1",))
    d_all = lessons.style_distance(img, style, vgg=vgg, layers=("relu1_1",))
    assert d_left < d_all and d_left < d_right


def test_stage_seconds_splits_the_history_by_stage():
    class R:
        history = [{"stage": 0, "seconds": 1.0}, {"stage": 0, "seconds": 2.0},
                   {"stage": 1, "seconds": 5.0}, {"stage": 2, "seconds": 6.5}]
    assert lessons.stage_seconds(R()) == pytest.approx([2.0, 3.0, 1.5])


def test_stage_seconds_of_a_real_coarse_to_fine_run():
    res = nst.stylize(_img(4, 64, 64), _img(5), size=[32, 64], steps=[2, 1], progress=False, device="cpu")
    times = lessons.stage_seconds(res)
    assert len(times) == 2 and all(t > 0 for t in times)
    assert sum(times) == pytest.approx(res.history[-1]["seconds"])
