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
