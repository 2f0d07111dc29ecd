"""Tests for helpers/measures.py against hand-computed values and brute-force references.

Where a measure reads VGG19 features, a stand-in network whose "features" are the image itself
makes the expected number a line of arithmetic; the real network is used for the references.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchvision.transforms.functional import gaussian_blur

import helpers as nst
from helpers import measures
from helpers.errors import ImageError


class IdentityNet:
    """A stand-in for VGG19: every layer's features are the image; remembers the shapes it saw."""

    def __init__(self):
        self.seen = []

    def __call__(self, x, layers):
        self.seen.append(tuple(x.shape))
        return {n: x.float() for n in layers}


def flat(value: float, h: int = 8, w: int = 8) -> torch.Tensor:
    return torch.full((1, 3, h, w), value)


def rand(seed: int, h: int = 48, w: int = 48) -> torch.Tensor:
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(seed))


# --- psnr ------------------------------------------------------------------------------------------

def test_psnr_by_hand():
    a = torch.zeros(1, 3, 4, 4)
    assert nst.psnr(a, a) == math.inf
    assert nst.psnr(a, a + 0.1) == pytest.approx(20.0)  # RMS 0.1 -> 10 log10(1 / 0.01)
    b = a.clone()
    b[..., 0, 0] = 1.0  # one pixel of 16 off by 1: mse = 1/16
    assert nst.psnr(a, b) == pytest.approx(10 * math.log10(16))


def test_psnr_needs_one_shape():
    with pytest.raises(ValueError, match="one shape"):
        nst.psnr(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 5))


# --- feature distances -----------------------------------------------------------------------------

def test_feature_distance_by_hand():
    net = IdentityNet()
    # sum (0.25 - 0.5)^2 / sum 0.5^2 = 0.0625 / 0.25
    assert measures.feature_distance(flat(0.25), flat(0.5), vgg=net) == pytest.approx(0.25)
    assert measures.feature_distance(flat(0.5), flat(0.5), vgg=net) == 0.0
    with pytest.raises(ImageError, match="one shape"):
        measures.feature_distance(flat(0.5), flat(0.5, 8, 9), vgg=net)


def test_feature_distance_with_vgg_is_zero_for_the_image_itself_and_grows_with_noise():
    vgg = nst.load_vgg19(device="cpu")
    x = rand(0)
    noisy = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    assert measures.feature_distance(x, x, vgg=vgg) == pytest.approx(0.0, abs=1e-7)
    assert 0 < measures.feature_distance(noisy, x, "relu2_2", vgg=vgg) < 1


def test_style_distance_by_hand():
    # flat images c and d: per-position Grams c^2 and d^2 in each of the 3 x 3 entries, so
    # E_l = 9 (c^2 - d^2)^2 / (4 * 3^2) at every layer, and the 1/L weights average them
    got = measures.style_distance(flat(0.5), flat(0.3, 6, 10), vgg=IdentityNet())
    assert got == pytest.approx((0.25 - 0.09) ** 2 / 4)


def test_style_distance_is_eq3_against_a_brute_force_reference():
    vgg = nst.load_vgg19(device="cpu")
    img, style = rand(0), rand(1, 64, 40)
    layers = ("relu1_1", "relu2_1")
    with torch.no_grad():
        F, S = vgg(img, layers), vgg(style, layers)
    expected = 0.0
    for n in layers:  # E_l = 1/(4 N^2) sum (G/M - A/M_style)^2, w_l = 1/2
        N = F[n].shape[1]
        f, s = F[n][0].reshape(N, -1).double(), S[n][0].reshape(N, -1).double()
        G, A = f @ f.T / f.shape[1], s @ s.T / s.shape[1]
        expected += 0.5 * float(((G - A) ** 2).sum()) / (4 * N**2)
    got = nst.style_distance(img, style, vgg=vgg, layers=layers)
    assert got == pytest.approx(expected, rel=1e-4)
    assert nst.style_distance(style, style, vgg=vgg, layers=layers) == pytest.approx(0.0, abs=1e-6)


def test_style_distance_with_a_mask_measures_only_that_region():
    vgg = nst.load_vgg19(device="cpu")
    style = rand(2)
    img = torch.cat([style, rand(3)], dim=-1)  # left half: the style itself; right half: other noise
    left = torch.zeros(1, 1, 48, 96)
    left[..., :48] = 1
    d_left = nst.style_distance(img, style, vgg=vgg, mask=left, layers=("relu1_1",))
    d_right = nst.style_distance(img, style, vgg=vgg, mask=1 - left, layers=("relu1_1",))
    d_all = nst.style_distance(img, style, vgg=vgg, layers=("relu1_1",))
    assert d_left < d_all and d_left < d_right


# --- the referee fractions -------------------------------------------------------------------------

def test_style_left_by_hand_and_the_style_is_resized_to_the_images_long_side():
    net = IdentityNet()
    # flat images: style_distance ~ (c^2 - d^2)^2, so the fraction is ((c^2 - d^2) / (p^2 - d^2))^2
    got = measures.style_left(flat(0.4, 12, 16), flat(0.6, 12, 16), flat(0.3, 40, 20), vgg=net)
    assert got == pytest.approx(((0.16 - 0.09) / (0.36 - 0.09)) ** 2, rel=1e-5)  # float32 Grams
    assert (1, 3, 16, 8) in net.seen  # the 40 x 20 style at the image's long side, 16


def test_photo_lost_by_hand_and_the_style_is_resized_to_the_photo():
    net = IdentityNet()
    # feature distances (c - p)^2 / p^2 and (d - p)^2 / p^2: the fraction is ((c - p) / (d - p))^2
    got = measures.photo_lost(flat(0.5, 12, 16), flat(0.6, 12, 16), flat(0.2, 30, 30), vgg=net)
    assert got == pytest.approx((0.1 / 0.4) ** 2)
    assert (1, 3, 12, 16) in net.seen and (1, 3, 30, 30) not in net.seen


def test_referee_fractions_at_their_ends_with_vgg():
    vgg = nst.load_vgg19(device="cpu")
    photo, style = rand(4, 48, 64), rand(5, 64, 64).pow(3)  # a dark, contrasty "style"
    S = torch.nn.functional.interpolate(style, size=(48, 64), mode="bicubic", antialias=True).clamp(0, 1)
    assert measures.style_left(photo, photo, style, vgg=vgg) == pytest.approx(1.0)
    assert measures.photo_lost(photo, photo, style, vgg=vgg) == pytest.approx(0.0, abs=1e-7)
    assert measures.photo_lost(S, photo, style, vgg=vgg) == pytest.approx(1.0, rel=1e-5)
    assert measures.style_left(style, photo, style, vgg=vgg) == pytest.approx(0.0, abs=1e-6)  # its own scale


# --- layout, sharpness, colour ---------------------------------------------------------------------

def test_layout_kept_by_hand():
    # 2 x 2 thumbnails of grey images: luma (0, 1, 0, 1) against (0, 1, 0, 1) and against (1, 0, 0, 1)
    a = torch.tensor([[0.0, 1.0], [0.0, 1.0]]).expand(1, 3, 2, 2)
    b = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).expand(1, 3, 2, 2)
    assert measures.layout_kept(a, a, n=2) == pytest.approx(1.0)
    assert measures.layout_kept(a, b, n=2) == pytest.approx(0.0, abs=1e-6)  # centred: (-,+,-,+).(+,-,-,+) = 0
    assert measures.layout_kept(1 - a, a, n=2) == pytest.approx(-1.0)


def test_layout_kept_reads_the_arrangement_of_light_and_dark():
    g = torch.Generator().manual_seed(0)
    # a smooth picture: a bright blob left of centre on a dark ground, with a little noise
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 96), torch.linspace(-1, 1, 128), indexing="ij")
    blob = torch.exp(-((xx + 0.4) ** 2 + yy ** 2) / 0.1)
    img = (0.2 + 0.6 * blob + 0.02 * torch.randn(3, 96, 128, generator=g)).clamp(0, 1)[None]
    assert measures.layout_kept(img, img) > 0.999
    assert measures.layout_kept(0.5 * img + 0.3, img) > 0.999        # brightness and contrast do not count
    assert measures.layout_kept(img.flip(-1), img) < 0.5             # the blob on the other side
    # the same pixels in random places: the histogram is kept, the layout is not (measured r = 0.21 with this seed; 64 cells of 192 pixels each)
    shuffled = img.flatten(2)[..., torch.randperm(96 * 128, generator=g)].view_as(img)
    assert abs(measures.layout_kept(shuffled, img)) < 0.35
    # size-free: the same images at half the resolution give nearly the same number
    small = torch.nn.functional.interpolate(img.flip(-1), scale_factor=0.5, mode="area")
    ref_small = torch.nn.functional.interpolate(img, scale_factor=0.5, mode="area")
    assert abs(measures.layout_kept(small, ref_small) - measures.layout_kept(img.flip(-1), img)) < 0.05
    with pytest.raises(ValueError, match="n=1"):
        measures.layout_kept(img, img, n=1)


def test_sharpness_of_a_checkerboard_a_gradient_and_a_flat_image():
    i = torch.arange(32)
    checker = ((i[:, None] + i[None, :]) % 2).float().expand(1, 3, 32, 32)  # all at 0.71 cycles/px
    assert nst.sharpness(checker) > 0.99
    ramp = torch.linspace(0, 1, 48).expand(1, 3, 32, 48)  # the mirrored ramp is one slow triangle wave
    assert nst.sharpness(ramp) < 1e-3
    assert nst.sharpness(flat(0.3)) == 0.0
    # brightness and contrast do not change it; the size hardly does
    noise = rand(6, 64, 64)
    assert nst.sharpness(0.5 * noise + 0.2) == pytest.approx(nst.sharpness(noise), rel=1e-6)


def test_sharpness_counts_energy_above_a_quarter_cycle_per_pixel():
    # one cosine along x, in phase with the mirrored extension: all its energy at k / (2W) cycles/px
    W = 64
    x = torch.arange(W, dtype=torch.float64) + 0.5
    for k, above in ((20, False), (40, True)):  # 20/128 = 0.16, 40/128 = 0.31 cycles per pixel
        wave = (0.5 + 0.4 * torch.cos(math.pi * k * x / W)).float().expand(1, 3, 8, W)
        assert nst.sharpness(wave) == pytest.approx(1.0 if above else 0.0, abs=1e-6), k


def test_blur_and_bicubic_upscaling_lower_sharpness():
    noise = rand(7, 64, 64)
    blurred = gaussian_blur(noise, kernel_size=7, sigma=1.5)
    assert nst.sharpness(blurred) < 0.5 * nst.sharpness(noise)
    photo = nst.load_image("chelsea", size=256, device="cpu")
    small = torch.nn.functional.interpolate(photo, scale_factor=0.25, mode="bicubic", antialias=True)
    up = torch.nn.functional.interpolate(small, size=photo.shape[-2:], mode="bicubic").clamp(0, 1)
    assert nst.sharpness(up) < 0.5 * nst.sharpness(photo)


def test_sharpness_refuses_a_batch():
    with pytest.raises(ImageError, match="one image"):
        nst.sharpness(torch.rand(2, 3, 8, 8))


def test_color_distance_by_hand():
    a = torch.full((1, 3, 2, 2), 0.2, dtype=torch.float64)
    b = torch.full((1, 3, 2, 2), 0.5, dtype=torch.float64)
    assert measures.color_distance(a, a) == 0.0
    assert measures.color_distance(a, b) == pytest.approx(0.3 * np.sqrt(3))  # |mu| only: no covariance
    # one channel with values 0 and 1 (variance 1/4) against a flat grey of the same mean 1/2
    c = torch.zeros(1, 3, 2, 2, dtype=torch.float64) + 0.5
    d = c.clone()
    d[0, 0] = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert measures.color_distance(c, d) == pytest.approx(0.25)
    e, f = torch.rand(1, 3, 6, 7, dtype=torch.float64), torch.rand(1, 3, 5, 9, dtype=torch.float64)
    assert measures.color_distance(e, f) == pytest.approx(measures.color_distance(f, e))
