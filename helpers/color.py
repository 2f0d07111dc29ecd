"""Colour preservation (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer").

Two ways to keep the content's colours while taking the style's strokes:
- ``match_color``: recolour the *style* image so its mean and covariance of RGB equal the
  content's, then transfer as usual ("colour histogram matching" in the paper, done with the
  linear map of first and second moments).
- luminance-only transfer: run style transfer on the Y (luma) channel of both images and put the
  content's chroma (I, Q of YIQ) back afterwards (``to_yiq`` / ``from_yiq`` / ``luminance``).
All images (B, 3, H, W) RGB in [0, 1]; the colour statistics take one image, (1, 3, H, W) or
(3, H, W), and refuse anything else with an :class:`~helpers.errors.ImageError` naming it.
"""
from __future__ import annotations

import torch

from .errors import ImageError

# NTSC YIQ: Y is luma; I, Q carry the colour. Rows are output channels.
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114],
                            [0.595716, -0.274453, -0.321263],
                            [0.211456, -0.522591, 0.311135]])


def _apply(matrix: torch.Tensor, img: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", matrix.to(img), img)


def to_yiq(img: torch.Tensor) -> torch.Tensor:
    """RGB (B,3,H,W) -> YIQ (B,3,H,W); Y in [0,1]."""
    return _apply(_RGB_TO_YIQ, img)


def from_yiq(yiq: torch.Tensor) -> torch.Tensor:
    """YIQ (B,3,H,W) -> RGB (B,3,H,W), clamped to [0,1]."""
    return _apply(torch.linalg.inv(_RGB_TO_YIQ), yiq).clamp(0, 1)


def luminance(img: torch.Tensor) -> torch.Tensor:
    """Luma Y of RGB (B,3,H,W), repeated to 3 channels so VGG can take it."""
    return to_yiq(img)[:, :1].expand(-1, 3, -1, -1).contiguous()


def match_luminance(style_y: torch.Tensor, content_y: torch.Tensor) -> torch.Tensor:
    """Shift and scale the style's luma to the content's mean and std (paper sec. 4.1)."""
    s_mean, s_std = style_y.mean(), style_y.std()
    c_mean, c_std = content_y.mean(), content_y.std()
    return ((style_y - s_mean) * (c_std / s_std.clamp_min(1e-6)) + c_mean).clamp(0, 1)


def combine_luminance(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The stylised image's luma with the content's chroma (I, Q)."""
    yiq = to_yiq(content)
    yiq = torch.cat([to_yiq(stylized)[:, :1], yiq[:, 1:]], dim=1)
    return from_yiq(yiq)


def _sqrtm(cov: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    """Symmetric (inverse) square root of a 3x3 covariance via its eigen-decomposition."""
    vals, vecs = torch.linalg.eigh(cov)
    vals = vals.clamp_min(1e-8)
    return vecs @ torch.diag(vals.rsqrt() if inverse else vals.sqrt()) @ vecs.T


def _pixels(img: torch.Tensor, name: str) -> torch.Tensor:
    """The RGB values of one image as (3, H*W) float64; ImageError naming ``name`` otherwise."""
    if not isinstance(img, torch.Tensor) or not img.is_floating_point():
        kind = f"a {img.dtype} tensor" if isinstance(img, torch.Tensor) else type(img).__name__
        raise ImageError(f"{name} must be a float tensor in [0, 1], got {kind}; use nst.load_image")
    if (img.dim() not in (3, 4) or img.shape[-3] != 3 or (img.dim() == 4 and img.shape[0] != 1)
            or img.shape[-1] * img.shape[-2] == 0):
        raise ImageError(f"{name} has shape {tuple(img.shape)}; expected one RGB image with "
                         "pixels, (1, 3, H, W) or (3, H, W) (for a batch, pass one image at a time)")
    return img.reshape(3, -1).double()  # (3, H*W)


def color_stats(img: torch.Tensor, name: str = "img") -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (3,) and covariance (3,3) of the RGB values of an image (1,3,H,W)."""
    x = _pixels(img, name)  # (3, H*W)
    mean = x.mean(1)
    xc = x - mean[:, None]
    return mean, xc @ xc.T / xc.shape[1]


def match_color(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Recolour ``style`` so its RGB mean and covariance equal ``content``'s.

    x' = C_c^{1/2} C_s^{-1/2} (x - mu_s) + mu_c, with symmetric square roots (the "image analogies"
    variant in Gatys et al. 2017, which keeps hues from rotating). Both (1,3,H,W) in [0,1].
    """
    mu_s, cov_s = color_stats(style, "style")
    mu_c, cov_c = color_stats(content, "content")
    T = _sqrtm(cov_c) @ _sqrtm(cov_s, inverse=True)  # (3, 3)
    x = _pixels(style, "style")
    out = T @ (x - mu_s[:, None]) + mu_c[:, None]
    return out.reshape(style.shape).to(style.dtype).clamp(0, 1)

