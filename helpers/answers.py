"""The answers to the lessons' exercises, held where a notebook does not show them.

:func:`helpers.lessons.quiz` checks a learner's answer against the entry of its key ("02.gram").
An answer that depends on the notebook (a measurement, a tensor the exercise names) is a function of
the inputs the notebook passes along with the answer: the checker computes it from what the
learner also has, so no visible cell holds it. Functions run only once an answer is given.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Exercise:
    """One exercise: what its check prints, its answer (a value, or a function of the notebook's
    inputs), a hint for a wrong answer, the relative tolerance for numbers and the absolute one for
    entries near zero (float32 sums on a 0-255 scale round at about 1e-5)."""

    label: str
    answer: Any
    hint: str = ""
    rtol: float = 1e-4
    atol: float = 1e-8


def _shape_at(vgg, layer: str, side: int = 256) -> tuple:
    """The shape of ``vgg``'s ``layer`` for a (1, 3, side, side) image (lessons 00, 02)."""
    with torch.no_grad():
        return tuple(vgg(torch.zeros(1, 3, side, side, device=vgg.mean.device), [layer])[layer].shape)


def _grey_pixel(vgg) -> list:
    """What ``vgg`` receives for a mid-grey pixel, in its channel order (lesson 00)."""
    return vgg.preprocess(torch.full((1, 3, 1, 1), 0.5, device=vgg.mean.device)).flatten().tolist()


def _gradient_of_a_mean() -> list:
    """d mean(red channel) / d x at a red and at a green pixel of a (1, 3, 4, 4) image (lesson 00)."""
    x = torch.rand(1, 3, 4, 4, requires_grad=True)
    x[0, 0].mean().backward()
    return [x.grad[0, 0, 1, 2].item(), x.grad[0, 1, 1, 2].item()]


def _content_gradient(F: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    """dL_content/dF (eq. 2) by autograd (lesson 01)."""
    from .losses import content_loss

    F = F.detach().clone().requires_grad_(True)
    content_loss(F, P).backward()
    return F.grad


def _as_layer(F: torch.Tensor) -> torch.Tensor:
    """A (N, M) matrix of features as a (1, N, 1, M) feature map."""
    return F.reshape(1, F.shape[0], 1, F.shape[1])


def _best_layer(runs: dict, photo: torch.Tensor) -> str:
    """The content layer whose run at the most content-heavy alpha/beta is closest to the photo (lesson 03)."""
    from .measures import psnr

    ratio = max(r for _, r in runs)
    layers = list(dict.fromkeys(layer for layer, _ in runs))
    return max(layers, key=lambda layer: psnr(runs[layer, ratio].image, photo))


def _total_at(content, style, x: torch.Tensor) -> float:
    """Eq. 7 with alpha = 1, beta = 1e4 at the image x: the engine's first history entry (lesson 03)."""
    from .optimize import stylize

    res = stylize(content, style, objective="paper", content_weight=1.0, style_weight=1e4,
                  init=x.detach(), steps=1, precision="fp32", progress=False, device=x.device)  # as the learner's
    return res.history[0]["total"]


def _default_total_at(content, style, x: torch.Tensor) -> float:
    """Eq. 7 under the engine's default objective and weights at the image x, in fp32 (lesson 08)."""
    from .optimize import stylize

    res = stylize(content, style, init=x.detach(), steps=1, precision="fp32", progress=False, device=x.device)
    return res.history[0]["total"]


def _default_weights_sum() -> float:
    """alpha + beta of the engine's defaults: eq. 7 with relative terms when x's features are all zero (lesson 08)."""
    from .options import defaults

    d = defaults()
    return d["content_weight"] + d["style_weight"]


def _brightest_primary() -> tuple:
    """The pure colour with the largest luma Y, and its Y (lesson 04)."""
    from .color import to_yiq

    pure = {"red": [1.0, 0.0, 0.0], "green": [0.0, 1.0, 0.0], "blue": [0.0, 0.0, 1.0]}
    Ys = {k: float(to_yiq(torch.tensor(v).view(1, 3, 1, 1))[0, 0]) for k, v in pure.items()}
    return max(Ys.items(), key=lambda kv: kv[1])


def _pixel_growth(result) -> float:
    """Pixels of a coarse-to-fine run's last stage over its first (lesson 04)."""
    (h1, w1), (h3, w3) = result.sizes[0], result.sizes[-1]
    return h3 * w3 / (h1 * w1)


def _first_to_see_all(rf: dict, photo: torch.Tensor) -> str:
    """The shallowest conv layer whose receptive field (``rf``: lessons.receptive_fields()) covers
    the photo's long side (lesson 05)."""
    from .vgg import LAYER_NAMES

    side = max(photo.shape[-2:])
    return next(n for n in LAYER_NAMES if n.startswith("conv") and rf[n][0] >= side)


def _pooling_gradients(w: torch.Tensor) -> list:
    """The gradient of a 2 x 2 window's max- and average-pooled output (lesson 05)."""
    out = []
    for pool in (torch.nn.functional.max_pool2d, torch.nn.functional.avg_pool2d):
        x = w.detach().clone().requires_grad_(True)
        pool(x, 2).sum().backward()
        out.append(x.grad[0, 0].tolist())
    return out


def exercises() -> dict[str, Exercise]:
    """Every exercise :func:`helpers.lessons.quiz` checks, by key ("NN.name", NN the lesson)."""
    from . import nets
    from .color import luminance
    from .losses import content_loss, gram_matrix, style_layer_loss

    E = Exercise
    return {
        "00.relu3_1": E("relu3_1 shape", lambda vgg: _shape_at(vgg, "relu3_1"),
                        "Block 3 has 256 channels, and two poolings have halved 256 twice."),
        "00.grey": E("grey pixel", _grey_pixel, "Scale to 0-255 (127.5), then subtract the mean "
                     "(103.939, 116.779, 123.68) in B, G, R order.", rtol=1e-3),
        "00.preprocess": E("Preprocess", lambda vgg, probe: vgg.preprocess(probe.to(vgg.mean.device)).cpu(),
                           "255 * x - self.mean, then .flip(1) reverses the channel axis (RGB -> BGR).",
                           rtol=1e-5, atol=1e-3),
        "00.mean_grad": E("gradient of a mean", _gradient_of_a_mean, "A mean of n numbers changes by "
                          "1/n when one of them grows by 1; pixels not in it do not count."),
        "01.content": E("content loss", lambda F, P: content_loss(F, P).item(),
                        "Square the four differences, add them up, halve the sum."),
        "01.grad": E("content gradient", _content_gradient,
                     "The derivative of (1/2) d^2 is d: the gradient is the difference F - P."),
        "01.depth": E("closest and furthest", lambda psnr: [max(psnr, key=psnr.get), min(psnr, key=psnr.get)],
                      "Look at the PSNR line printed in section 3: higher dB is closer."),
        "02.gram": E("Gram matrix", lambda F: gram_matrix(_as_layer(F))[0],
                     "G_ij is the sum over positions of F_ik * F_jk: row i dotted with row j."),
        "02.gram_code": E("gram", lambda probe: gram_matrix(probe),
                          "Flatten H and W into one axis of M = H * W positions (F.flatten(2)), then multiply "
                          "by the transpose of the last two axes: Fm @ Fm.transpose(1, 2).", rtol=1e-5),
        "02.NM": E("N and M at relu3_1", lambda vgg: (lambda s: (s[1], s[2] * s[3]))(_shape_at(vgg, "relu3_1")),
                   "Block 3 has 256 channels; two poolings have halved each side twice; M = H * W."),
        "02.E": E("E_l", lambda F, A: style_layer_loss(_as_layer(F), A / F.shape[1]).item(),  # A per position
                  "G - A has two entries of size 1; divide the sum of squares by 4 N^2 M^2 with N = M = 2."),
        "03.eq7": E("eq. 7 at x", _total_at, "Run vgg on x for the content layer and the style layers, "
                    "then alpha * content + beta * style.", rtol=1e-3),
        "03.layer": E("layer that keeps the photo", _best_layer,
                      "Which row's left-hand picture looks most like the photo, fine fur included?"),
        "04.primary": E("brightest primary", _brightest_primary,
                        "Y = 0.299 R + 0.587 G + 0.114 B: put one colour at 1 and the others at 0.", rtol=1e-3),
        "04.mask": E("bright mask", lambda probe, threshold: (luminance(probe)[:, :1] > threshold).float(),
                     "r, g, b = img[:, 0:1], img[:, 1:2], img[:, 2:3] keep the channel axis; compare "
                     "0.299 r + 0.587 g + 0.114 b with the threshold and turn the result into floats."),
        "04.pixels": E("pixels, last stage / first", _pixel_growth, "The side grows 2x per stage, twice; "
                       "the pixel count grows with the square of the side.", rtol=0.05),
        "05.layout": E("more layout at conv4_2", lambda lay: max(dict.fromkeys(n for n, _ in lay),
                                                                 key=lambda n: lay[n, "conv4_2"]),
                       "Look at the layout numbers printed for conv4_2 (and at the grid): which one still shows a cat?"),
        "05.normalise": E("normalised conv2_1", lambda vggn: [vggn.conv2_1.weight, vggn.conv2_1.bias],
                          "Multiply input channel c by s_in[c], divide output filter o by s_out[o] (use .view "
                          "to broadcast); the bias only by s_out."),
        "05.rf": E("first layer to see it all", _first_to_see_all,
                   "Walk nst.LAYER_NAMES in order and stop at the first conv whose rf[n][0] >= side."),
        "05.pool": E("pooling gradients", _pooling_gradients,
                     "Max: all of it goes to the largest input. Average: each input gets a quarter."),
        "06.norm": E("06.norm", "instance", "Look at section 3: which pair of outputs came out alike?"),
        "06.code": E("06.code", lambda: nets.load_net(nets.STYLE_NET, "cpu").code_size,
                     "Section 2 prints it: the (gamma, beta) numbers per style."),
        "07.psnr": E("07.psnr", "pixel", "Which loss is the mean squared error that PSNR is computed from?"),
        "07.sharp": E("07.sharp", "feature", "Which net's high-frequency share came closest to the real photo's?"),
        "08.zero": E("objective at zero features", _default_weights_sum,
                     "Each relative term divides a sum of squares by its target's: with F = 0 and G = 0 the "
                     "differences are -P and -A.", rtol=1e-6),
        "08.objective": E("objective", _default_total_at, "Content: sum (F - P)^2 / sum P^2. Style: for each "
                          "layer sum (G - A)^2 / sum A^2 with G = nst.gram_matrix(F, normalize=True), then the "
                          "mean over the five layers. Total: alpha * content + beta * style.", rtol=1e-3),
    }
