"""Where tensors live and how reproducible runs are: device choice, seeding, precision policy."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

from .errors import DeviceError  # defined in errors (the leaf module); re-exported here

#: Accepted ``precision`` values for the VGG forward/backward. Losses and Gram matrices are always
#: computed in float32 (a Gram matrix sums H*W products and overflows float16 at relu1_1).
PRECISIONS = ("fp32", "bf16", "fp16")
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
_KINDS = ("cuda", "mps", "cpu")

__all__ = ["DeviceError", "PRECISIONS", "default_precision", "pick_device", "resolve_precision",
           "seed_everything"]


def _available(kind: str) -> bool:
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    return kind == "cpu"


def pick_device(prefer: str | torch.device | None = None) -> torch.device:
    """The device to compute on: ``prefer``, else env ``NST_DEVICE``, else cuda > mps > cpu.

    ``prefer`` may be ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``, ``"auto"`` or a
    ``torch.device``. Asking for a device this machine lacks raises :class:`DeviceError` saying
    what is available, rather than failing later deep inside torch.
    """
    source = "prefer"
    if prefer is None:
        prefer, source = os.environ.get("NST_DEVICE") or "auto", "NST_DEVICE"
    if isinstance(prefer, torch.device):
        prefer = str(prefer)
    name = str(prefer).strip().lower()
    if name == "auto":
        return torch.device(next(k for k in _KINDS if _available(k)))
    kind = name.split(":")[0]
    if kind not in _KINDS:
        raise DeviceError(f"{source}={prefer!r} is not a device; use one of {('auto',) + _KINDS}")
    if not _available(kind):
        have = [k for k in _KINDS if _available(k)]
        raise DeviceError(f"{source}={prefer!r}: no {kind} device on this machine; available: {have}")
    device = torch.device(name)
    if kind == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise DeviceError(f"{source}={prefer!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    return device


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); return a CPU generator seeded the same way.

    Pass the generator to anything random you control (noise init) so a run's randomness does not
    depend on what else touched the global RNG before it.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def default_precision(device: torch.device) -> str:
    """The precision used when a caller passes ``precision=None``.

    float32 everywhere until a reduced precision is measured to win on a device kind at equal
    quality (no benchmark here measures that yet); the hook exists so that decision lives here.
    """
    return "fp32"


def resolve_precision(precision: str | None, device: torch.device) -> torch.dtype:
    """Map a ``precision`` name to the dtype for VGG activations on ``device``.

    Raises :class:`DeviceError` for unknown names, for fp16 off CUDA, and for bf16 on a GPU
    without bf16 support. bf16 is allowed on the CPU: not faster there, but it runs the same
    autocast code path a GPU run takes, so that path is tested where there is no GPU.
    """
    name = default_precision(device) if precision is None else str(precision).lower()
    if name not in _DTYPES:
        raise DeviceError(f"precision={precision!r} is not one of {PRECISIONS}")
    if name == "fp16" and device.type != "cuda":
        raise DeviceError(f"precision='fp16' needs a CUDA GPU (device is {device}); use 'fp32' or 'bf16'")
    if name == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise DeviceError("precision='bf16' needs an Ampere-or-newer GPU; use 'fp16' or 'fp32'")
    return _DTYPES[name]
