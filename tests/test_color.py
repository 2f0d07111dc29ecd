"""Tests for helpers/color.py against hand-computed values and brute-force references."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from helpers import color
from helpers.errors import ImageError

# NTSC RGB -> YIQ, typed in from the standard's table (rows: Y, I, Q)
YIQ = np.array([[0.299, 0.587, 0.114],
                [0.595716, -0.274453, -0.321263],
                [0.211456, -0.522591, 0.311135]])


def image(seed: int, lo: float = 0.0, hi: float = 1.0, shape=(1, 3, 6, 7)) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(shape, generator=g, dtype=torch.float64)


def mean_cov(img: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Brute force: per-channel mean and population covariance with numpy."""
    x = img.reshape(3, -1).numpy()
    return x.mean(1), np.cov(x, bias=True)


def test_to_yiq_is_the_ntsc_matrix_pixel_by_pixel():
    img = image(0)
    out = color.to_yiq(img)
    for y in range(img.shape[2]):
        for x in range(img.shape[3]):
            assert np.allclose(out[0, :, y, x].numpy(), YIQ @ img[0, :, y, x].numpy(), atol=1e-6)
    red = torch.tensor([1.0, 0, 0]).reshape(1, 3, 1, 1)
    assert color.to_yiq(red)[0, 0].item() == pytest.approx(0.299)  # Y of pure red


def test_from_yiq_inverts_to_yiq():
    img = image(1).float()
    assert torch.allclose(color.from_yiq(color.to_yiq(img)), img, atol=1e-5)


def test_luminance_repeats_y_in_three_channels():
    img = image(2).float()
    y = color.luminance(img)
    assert y.shape == img.shape and y.is_contiguous()
    expected = np.einsum("c,bchw->bhw", YIQ[0], img.double().numpy())
    for c in range(3):
        assert np.allclose(y[:, c].numpy(), expected, atol=1e-6)


def test_match_luminance_takes_the_contents_mean_and_std():
    style_y, content_y = image(3, 0.4, 0.6), image(4, 0.2, 0.8)  # no clamping at these ranges
    out = color.match_luminance(style_y, content_y)
    assert out.mean().item() == pytest.approx(content_y.mean().item(), abs=1e-9)
    assert out.std().item() == pytest.approx(content_y.std().item(), abs=1e-9)
    # and it is an affine map of the style: correlation 1
    assert np.corrcoef(out.flatten().numpy(), style_y.flatten().numpy())[0, 1] == pytest.approx(1.0)


def test_combine_luminance_keeps_stylised_y_and_content_chroma():
    stylised, content = image(5, 0.35, 0.65).float(), image(6, 0.35, 0.65).float()  # in gamut
    out = color.to_yiq(color.combine_luminance(stylised, content))
    assert torch.allclose(out[:, :1], color.to_yiq(stylised)[:, :1], atol=1e-5)
    assert torch.allclose(out[:, 1:], color.to_yiq(content)[:, 1:], atol=1e-5)


@pytest.mark.parametrize("shape", [(1, 3, 5, 4), (3, 5, 4)])
def test_color_stats_equal_numpy(shape):
    img = image(7, shape=shape)
    mean, cov = color.color_stats(img)
    ref_mean, ref_cov = mean_cov(img)
    assert np.allclose(mean.numpy(), ref_mean) and np.allclose(cov.numpy(), ref_cov)


def test_match_color_gives_the_contents_mean_and_covariance():
    style, content = image(8, 0.4, 0.6, (1, 3, 16, 16)), image(9, 0.3, 0.7, (1, 3, 12, 20))
    out = color.match_color(style, content)
    assert out.shape == style.shape and out.dtype == style.dtype
    mean, cov = mean_cov(out)
    ref_mean, ref_cov = mean_cov(content)
    assert np.allclose(mean, ref_mean, atol=1e-9) and np.allclose(cov, ref_cov, atol=1e-9)


def test_match_color_equals_the_formula_with_scipy_square_roots():
    style, content = image(10, 0.4, 0.6, (1, 3, 16, 16)), image(11, 0.3, 0.7)
    mu_s, cov_s = mean_cov(style)
    mu_c, cov_c = mean_cov(content)
    T = scipy.linalg.sqrtm(cov_c).real @ np.linalg.inv(scipy.linalg.sqrtm(cov_s).real)
    x = style.reshape(3, -1).numpy()
    expected = (T @ (x - mu_s[:, None]) + mu_c[:, None]).reshape(style.shape)
    assert np.allclose(color.match_color(style, content).numpy(), np.clip(expected, 0, 1), atol=1e-8)


def test_match_color_undoes_a_uniform_contrast_change():
    content = image(12, 0.2, 0.8)
    washed_out = 0.5 * content + 0.2  # same hues, half the contrast
    assert torch.allclose(color.match_color(washed_out, content), content, atol=1e-7)
    assert torch.allclose(color.match_color(content, content), content, atol=1e-7)


def test_match_color_of_a_flat_style_stays_finite():
    flat = torch.full((1, 3, 4, 4), 0.3, dtype=torch.float64)
    out = color.match_color(flat, image(13))
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("bad, match", [
    (torch.rand(2, 3, 4, 4), r"style has shape \(2, 3, 4, 4\).*one image at a time"),
    (torch.rand(1, 1, 4, 4), r"style has shape \(1, 1, 4, 4\)"),
    (torch.rand(1, 3, 0, 4), r"style has shape \(1, 3, 0, 4\)"),
    (torch.zeros(1, 3, 4, 4, dtype=torch.uint8), "style must be a float tensor.*uint8"),
    (np.zeros((4, 4, 3)), "style must be a float tensor.*ndarray"),
])
def test_bad_images_name_the_argument(bad, match):
    with pytest.raises(ImageError, match=match):
        color.match_color(bad, torch.rand(1, 3, 4, 4))
