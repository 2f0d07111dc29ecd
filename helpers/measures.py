"""Numbers that say how an image came out: the one home of the measures lessons, tests and benchmarks read.

Every image is (1, 3, H, W) in [0, 1]. Each measure says its range and which way is better:

- :func:`psnr`: pixel agreement in dB (higher = closer; inf for identical images).
- :func:`feature_distance`: relative distance of VGG19 features at one layer (0 = the same).
- :func:`style_distance`: L_style (eqs. 3-5) against a style image (0 = the style's own Grams).
- :func:`style_left` / :func:`photo_lost`: the two "referee" fractions of a stylised image, each
  the image's distance divided by a baseline's, so they read the same at every size:
  style_left < 1 means the image carries more of the style than the photo did (lower = more
  style); photo_lost < 1 means it kept more of the photo's features than the style image has
  (lower = more of the photo kept).
- :func:`layout_kept`: correlation of n x n grey thumbnails, -1..1 (1 = the same layout).
- :func:`sharpness`: share of the luma's spectral energy in the upper half of the frequencies,
  0..1 (higher = more fine detail; bicubic upscaling is well below a real photo).
- :func:`color_distance`: distance of RGB mean and covariance (0 = the same colour statistics).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as nnf

from .color import color_stats, to_yiq
from .errors import ImageError

__all__ = ["color_distance", "feature_distance", "layout_kept", "photo_lost", "psnr", "sharpness",
           "style_distance", "style_left"]

#: The style layers of the engine's default and of the referee measures (Gatys et al.'s five).
REFEREE_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
#: The layer :func:`photo_lost` compares at: the engine's default content layer.
REFEREE_CONTENT_LAYER = "relu4_2"


def _vgg(vgg, img: torch.Tensor):
    """``vgg``, or the default network (Caffe weights, cached) on ``img``'s device."""
    if vgg is not None:
        return vgg
    from .vgg import load_vgg19

    return load_vgg19(device=img.device)


def _resized(img: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(1, 3, h, w) -> (1, 3, *size), antialiased bicubic (as the engine resizes), clamped to [0, 1]."""
    if tuple(img.shape[-2:]) == tuple(size):
        return img
    return nnf.interpolate(img, size=size, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def _long_side(img: torch.Tensor, side: int) -> tuple[int, int]:
    """(H, W) of ``img`` scaled so its long side is ``side``, aspect kept."""
    H, W = img.shape[-2:]
    s = side / max(H, W)
    return max(1, round(H * s)), max(1, round(W * s))


def _same_shape(name: str, a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise ImageError(f"{name} needs images of one shape, got {tuple(a.shape)} and {tuple(b.shape)}; "
                         "load them at one size (nst.load_image(x, size=...))")


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB, 10 log10(1 / mean (a - b)^2), of two images in [0, 1].

    a, b: tensors of one shape, e.g. (1, 3, H, W). 20 dB is an RMS error of 0.1; identical images
    give inf. Higher = closer, pixel by pixel (it cannot tell blur from detail: see sharpness).
    """
    _same_shape("psnr", a, b)
    mse = float((a.float() - b.float().to(a.device)).pow(2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


def feature_distance(img: torch.Tensor, ref: torch.Tensor, layer: str = "relu4_2", vgg=None) -> float:
    """Relative feature distance sum (F - P)^2 / sum P^2 at ``layer`` (eq. 1 without the 1/2, scale-free).

    img, ref: (1, 3, H, W) in [0, 1] of one shape; F, P their VGG19 features at ``layer``.
    0 = the same features; 1 = as far as all-zero features would be. relu4_2 measures how much of
    a photo's layout a stylised image keeps; relu2_2 is a perceptual measure for super-resolution.
    ``vgg``: a loaded VGG19 (default: Caffe weights on img's device).
    """
    _same_shape("feature_distance", img, ref)
    vgg = _vgg(vgg, img)
    with torch.no_grad():
        F, P = vgg(img, [layer])[layer].float(), vgg(ref.to(img.device), [layer])[layer].float()
        return float((F - P).pow(2).sum() / P.pow(2).sum().clamp_min(1e-12))


def style_distance(img: torch.Tensor, style: torch.Tensor, *, vgg=None, mask=None,
                   layers=REFEREE_STYLE_LAYERS) -> float:
    """L_style (eqs. 3-5, w_l = 1/L) of ``img`` against ``style``: how far its Grams are from the style's.

    img, style: (1, 3, H, W) in [0, 1], any two sizes (Grams are compared per position). ``mask``
    (1, 1, H, W) in [0, 1] measures only that region of ``img``. ``vgg``: a loaded VGG19 (default:
    Caffe weights on img's device). >= 0; 0 = the style's own Grams. Its scale depends on the
    style image: divide by a baseline (as :func:`style_left` does) to compare across styles.
    """
    from .losses import style_loss

    vgg = _vgg(vgg, img)
    with torch.no_grad():
        targets = vgg(style.to(img.device), layers)  # 4-D targets: style_loss takes their Grams
        m = None if mask is None else mask.to(img.device)
        return float(style_loss(vgg(img, layers), targets, mask=m))


def style_left(img: torch.Tensor, photo: torch.Tensor, style: torch.Tensor, *, vgg=None) -> float:
    """The referee's style fraction: style_distance(img, S) / style_distance(photo, S).

    img, photo, style: (1, 3, H, W) in [0, 1]; S is ``style`` resized (bicubic, antialiased) so its
    long side equals img's, the scale the engine matches it at with style_scale=1. 1 = as far from
    the style as the photo itself; lower = more of the style taken (0 = the style's own Grams).
    Size-free: the same fraction at any resolution of the same images.
    """
    vgg = _vgg(vgg, img)
    S = _resized(style.to(img.device), _long_side(style, max(img.shape[-2:])))
    return style_distance(img, S, vgg=vgg) / max(style_distance(photo.to(img.device), S, vgg=vgg), 1e-30)


def photo_lost(img: torch.Tensor, photo: torch.Tensor, style: torch.Tensor, *, vgg=None) -> float:
    """The referee's content fraction: feature_distance(img, photo) / feature_distance(S, photo) at relu4_2.

    img, photo: (1, 3, H, W) in [0, 1] of one shape; S is ``style`` resized to the photo's H x W.
    0 = the photo's own features; 1 = as far from the photo as the style image is; lower = more of
    the photo kept. Size-free, like :func:`style_left`.
    """
    vgg = _vgg(vgg, img)
    S = _resized(style.to(img.device), tuple(photo.shape[-2:]))
    base = feature_distance(S, photo, REFEREE_CONTENT_LAYER, vgg=vgg)
    return feature_distance(img, photo, REFEREE_CONTENT_LAYER, vgg=vgg) / max(base, 1e-30)


def layout_kept(img: torch.Tensor, ref: torch.Tensor, n: int = 8) -> float:
    """How much of ``ref``'s layout ``img`` keeps: the correlation of their n x n grey thumbnails (lesson 05).

    Both images (1, 3, H, W) in [0, 1], of the same aspect, are turned to luminance and averaged
    down to n x n cells; the result is the Pearson correlation of the two thumbnails, from -1 to 1:
    1 = the same arrangement of light and dark (brightness and contrast do not matter), 0 = none of
    it, as for a texture rebuilt from Gram matrices alone. n = 8 asks about the large-scale layout,
    a larger n about finer detail. Size-free: the same number at any resolution of the same images.
    """
    if not (isinstance(n, int) and n >= 2):
        raise ValueError(f"n={n!r} must be an int >= 2 (the thumbnail's side)")

    def thumb(t):
        t = t.detach().float().cpu()
        if t.dim() != 4 or t.shape[1] != 3:
            raise ImageError(f"layout_kept needs (1, 3, H, W) images, got {tuple(t.shape)}")
        g = nnf.adaptive_avg_pool2d(to_yiq(t)[:, :1], n).flatten()  # luma Y, n x n cells
        return g - g.mean()

    a, b = thumb(img), thumb(ref)
    return float((a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-12))


#: :func:`sharpness` counts spectral energy above this radial frequency, in cycles per pixel:
#: half the Nyquist frequency (0.5), so the upper half of the frequencies a grid can hold.
SHARP_FREQUENCY = 0.25


def sharpness(img: torch.Tensor) -> float:
    """The share of the luma's spectral energy above half the Nyquist frequency, 0..1.

    img: (1, 3, H, W) or (3, H, W) in [0, 1]. The luma Y (mean removed) is mirrored at its borders
    (so the picture's edges are not counted as a jump, the cosine transform's spectrum) and its
    power |FFT|^2 summed where the radial frequency sqrt(fy^2 + fx^2) > 0.25 cycles per pixel,
    divided by the total. Size-free and brightness-free: a pixel checkerboard is ~1, a smooth
    gradient ~0, blur lowers it; a bicubic x4 upscale is well below the real photo. 0 for a flat image.
    """
    t = img.detach().float().cpu()
    if t.dim() == 3:
        t = t[None]
    if t.dim() != 4 or t.shape[:2] != (1, 3) or min(t.shape[-2:]) < 2:
        raise ImageError(f"sharpness needs one image (1, 3, H, W) with H, W >= 2, got {tuple(img.shape)}")
    y = to_yiq(t)[0, 0].double()  # (H, W)
    y = y - y.mean()
    y = torch.cat([y, y.flip(0)], 0)
    y = torch.cat([y, y.flip(1)], 1)  # (2H, 2W): even extension, no jump at the borders
    power = torch.fft.fft2(y).abs().pow(2)  # (2H, 2W)
    fy = torch.fft.fftfreq(y.shape[0], dtype=torch.float64)[:, None]  # cycles per pixel
    fx = torch.fft.fftfreq(y.shape[1], dtype=torch.float64)[None, :]
    total = float(power.sum())
    if total <= 1e-20:
        return 0.0
    return float(power[(fy**2 + fx**2).sqrt() > SHARP_FREQUENCY].sum()) / total


def color_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """How far apart two images' colour statistics are: |mu_a - mu_b| + ||C_a - C_b||_F.

    a, b: (1, 3, H, W) or (3, H, W) in [0, 1], any two sizes; mu the RGB mean (3,), C the RGB
    covariance (3, 3). 0 for identical statistics; used by lessons and tests to show colour
    preservation working (lower = colours closer).
    """
    mu_a, cov_a = color_stats(a, "a")
    mu_b, cov_b = color_stats(b, "b")
    return float((mu_a - mu_b).norm() + (cov_a - cov_b).norm())
