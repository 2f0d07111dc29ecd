"""Small things the lessons share: quick mode, image quality numbers, self-checking exercises."""
from __future__ import annotations

import math
import os

import torch


def quick() -> bool:
    """True when env ``NST_QUICK`` is set to 1/true/yes: tests and CI run every lesson small."""
    return os.environ.get("NST_QUICK", "").strip().lower() in ("1", "true", "yes")


def lesson_settings(size: int = 512, steps: int = 300, *, quick_size: int = 64,
                    quick_steps: int = 10, gpu_scale: float = 1.0, device=None) -> dict:
    """Sizes and step counts for a lesson cell, the one place quick mode is decided.

    Full mode returns ``size`` and ``steps`` (times ``gpu_scale`` on the size when a GPU is
    present, for cells that can afford bigger images there); quick mode (``NST_QUICK=1``) returns
    ``quick_size`` and ``quick_steps`` so each lesson runs in seconds under nbval on two CPU cores.
    Notebooks never branch on quick mode themselves: they call this.
    """
    from .device import pick_device

    if quick():
        return {"size": quick_size, "steps": quick_steps, "quick": True}
    dev = pick_device(device)
    scale = gpu_scale if dev.type == "cuda" else 1.0
    return {"size": int(round(size * scale / 8)) * 8, "steps": steps, "quick": False}


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB between two images in [0, 1] of the same shape."""
    if a.shape != b.shape:
        raise ValueError(f"psnr needs images of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    mse = float((a.float() - b.float().to(a.device)).pow(2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


def check(name: str, answer, expected, *, rtol: float = 1e-4, hint: str = "") -> str:
    """Check an exercise answer: numbers, tensors or sequences close to ``expected``.

    An answer still left as ``...`` (or None) gets a nudge, not an error, so a lesson runs top to
    bottom before the learner has tried; a wrong answer raises AssertionError with the hint; a
    right one returns a short "correct" line. Solution cells call it too, so tests prove them.
    """
    def close(x, y):
        if isinstance(y, torch.Tensor) or isinstance(x, torch.Tensor):
            x, y = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
            return x.shape == y.shape and bool(torch.allclose(x.cpu(), y.cpu(), rtol=rtol, atol=1e-8))
        if isinstance(y, (list, tuple)):
            return isinstance(x, (list, tuple)) and len(x) == len(y) and all(map(close, x, y))
        if isinstance(y, (int, float)) and not isinstance(y, bool):
            return isinstance(x, (int, float)) and math.isclose(x, y, rel_tol=rtol, abs_tol=1e-12)
        return x == y

    if answer is None or answer is Ellipsis:
        return f"{name}: not answered yet - replace the ... above, or open the solution below"
    if not close(answer, expected):
        raise AssertionError(f"{name}: {answer!r} is not right. {hint}".strip())
    return f"{name}: correct"


def setup(device=None) -> "torch.device":
    """The first cell of every lesson: versions, the device found, quick-mode and GPU hints."""
    import platform

    import torchvision

    from .device import pick_device

    dev = pick_device(device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or dev.type
    print(f"python {platform.python_version()} | torch {torch.__version__} | "
          f"torchvision {torchvision.__version__} | device: {dev} ({name})")
    if dev.type == "cpu":
        print("No GPU found: everything runs on the CPU, with lesson sizes chosen for that. "
              "On Colab: Runtime -> Change runtime type -> GPU.")
    if quick():
        print("Quick mode (NST_QUICK=1): tiny images and few steps, for tests - pictures will look rough.")
    return dev


def receptive_fields() -> dict[str, tuple[int, int]]:
    """Receptive field and stride, in input pixels, of every VGG19 layer (lesson 00).

    Walking forward: a 3x3 convolution (stride 1) widens the field by 2 * stride; a 2x2 pooling
    widens it by 1 * stride and then doubles the stride (the step, in pixels, between neighbouring
    units); ReLUs change neither. -> {"conv1_1": (3, 1), ..., "pool1": (6, 2), ..., "pool5": (268, 32)}.
    Centre units only: units near the border see zero padding for part of their field.
    """
    from .vgg import LAYER_NAMES

    rf, stride, out = 1, 1, {}
    for name in LAYER_NAMES:
        if name.startswith("conv"):
            rf += 2 * stride
        elif name.startswith("pool"):
            rf, stride = rf + stride, stride * 2
        out[name] = (rf, stride)
    return out


def show_feature_maps(feats, channels=4, size: float = 1.6):
    """A matplotlib Figure: one row per layer of ``feats``, one picture per channel.

    feats: layer name -> activations (1, C, H, W), as ``vgg(img, layers)`` returns them.
    channels: an int k (each layer's k channels with the largest mean activation) or a dict
    layer -> list of channel indices. Each picture is scaled to its own min..max (viridis).
    """
    import matplotlib.pyplot as plt

    picks = {}
    for name, F in feats.items():
        if isinstance(channels, int):
            picks[name] = F[0].float().mean(dim=(1, 2)).topk(min(channels, F.shape[1])).indices.tolist()
        else:
            picks[name] = list(channels[name])
    ncols = max(len(p) for p in picks.values())
    fig, axes = plt.subplots(len(picks), ncols, figsize=(size * ncols, size * len(picks)), squeeze=False)
    for row, (name, idx) in zip(axes, picks.items()):
        fmap = feats[name][0].detach().float().cpu()  # (C, H, W)
        for ax, c in zip(row, idx + [None] * (ncols - len(idx))):
            ax.set_axis_off()
            if c is not None:
                ax.imshow(fmap[c].numpy(), cmap="viridis")
                ax.set_title(f"{name} #{c}", fontsize=8)
    fig.tight_layout()
    return fig


def plot_losses(runs, x: str = "step", key: str = "total", ax=None, title: str | None = None):
    """Loss curves on a log axis: ``runs`` maps a label to a Result (or its ``history`` list).

    x: "step" or "seconds" (wall time on this device). key: a history entry ("total", "content",
    "style", "tv"). Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    if x not in ("step", "seconds"):
        raise ValueError(f"x={x!r} is not one of ('step', 'seconds')")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    for label, run in runs.items():
        history = getattr(run, "history", run)
        ax.plot([h[x] for h in history], [h[key] for h in history], label=label)
    ax.set_yscale("log")
    ax.set_xlabel("iteration" if x == "step" else "seconds on this device")
    ax.set_ylabel(f"{key} loss")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def paper_style_weight(ratio: float, image, reference: int = 512) -> float:
    """beta (with alpha = 1) that gives alpha/beta = ``ratio`` the balance it has at ``reference``^2 px.

    Gatys et al. quote alpha/beta for images of about 512 x 512 px. L_content (eq. 2) sums over
    the M_l positions of its layer, so it grows with the pixel count, while E_l (eq. 4) divides by
    M_l^2 and does not. An image with H * W pixels therefore needs beta = (H W / reference^2) / ratio
    for the same balance (lessons 03, 04). image: a tensor (..., H, W).
    """
    if not (isinstance(ratio, (int, float)) and ratio > 0):
        raise ValueError(f"ratio={ratio!r} must be a number > 0 (alpha/beta, e.g. 1e-3)")
    H, W = image.shape[-2:]
    return H * W / reference**2 / ratio


def style_distance(img: torch.Tensor, style: torch.Tensor, *, vgg=None, mask=None,
                   layers=("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")) -> float:
    """L_style (eqs. 3-5, w_l = 1/L) of ``img`` against ``style``: how far its Grams are from the style's.

    img, style: (1, 3, H, W) in [0, 1], any two sizes (Grams are compared per position). ``mask``
    (1, 1, H, W) in [0, 1] measures only that region of ``img``. ``vgg``: a loaded VGG19 (default:
    Caffe weights on img's device). Lessons use it to check which style an image carries.
    """
    from .losses import style_loss
    from .vgg import load_vgg19

    vgg = load_vgg19(device=img.device) if vgg is None else vgg
    with torch.no_grad():
        targets = vgg(style.to(img.device), layers)  # 4-D targets: style_loss takes their Grams
        m = None if mask is None else mask.to(img.device)
        return float(style_loss(vgg(img, layers), targets, mask=m))


def stage_seconds(result) -> list[float]:
    """Wall-clock seconds of each coarse-to-fine stage of a stylize Result, from its history."""
    ends = {}
    for h in result.history:
        ends[h.get("stage", 0)] = h["seconds"]  # seconds since the start; the last entry of a stage wins
    times, before = [], 0.0
    for stage in sorted(ends):
        times.append(ends[stage] - before)
        before = ends[stage]
    return times
