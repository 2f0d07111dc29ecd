"""Where tensors live and how reproducible runs are: device choice, seeding, precision policy."""
from __future__ import annotations

import functools
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

__all__ = ["DeviceError", "PRECISIONS", "cpu_native_bf16", "default_precision", "pick_device",
           "resolve_precision", "seed_everything"]


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


#: oneDNN's ISA caps (env ONEDNN_MAX_CPU_ISA) under which its convolutions still have bf16 dot
#: products in hardware; any lower cap (SSE41, AVX2, AVX512_CORE, ...) emulates bf16.
_ONEDNN_BF16_ISAS = ("ALL", "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX",
                     "AVX512_CORE_AMX_FP16", "AVX10_1_512", "AVX10_1_512_AMX", "AVX10_1_512_AMX_FP16")


def _cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none: macOS, Windows)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


@functools.lru_cache(maxsize=None)
def cpu_native_bf16() -> bool:
    """Whether this process's CPU kernels compute bf16 in hardware (decided once, cheaply).

    Needs all three: the CPU has bf16 dot products (``avx512_bf16`` or ``amx_bf16`` in
    /proc/cpuinfo), ATen dispatches its AVX-512 kernels (``torch.backends.cpu.get_cpu_capability()``;
    env ATEN_CPU_CAPABILITY=avx2 or default lowers it and bf16 element-wise ops are then emulated),
    and oneDNN, which runs the convolutions, is not capped below its bf16 ISA (ONEDNN_MAX_CPU_ISA).
    """
    if torch.backends.cpu.get_cpu_capability() not in ("AVX512",):
        return False
    cap = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "ALL").upper()
    if cap not in _ONEDNN_BF16_ISAS:
        return False
    return bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"}) and _onednn_bf16()


def _onednn_bf16() -> bool:
    """Whether torch's oneDNN build says it can run bf16 here (an internal op: False if absent)."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def default_precision(device: torch.device) -> str:
    """The precision used when a caller passes ``precision=None``: "bf16" or "fp32".

    CPU: "bf16" where its kernels compute bf16 in hardware (:func:`cpu_native_bf16`), "fp32"
    elsewhere. Measured by benchmarks/precision.py on an AVX-512-BF16 CPU, one thread, 20 default
    steps: bf16 1.5-1.7x faster per step at 256, 384 and 512 px (about 115 vs 70 GFLOP/s of
    convolutions), final loss within 0.2 % of fp32's. A process started with
    ATEN_CPU_CAPABILITY=avx2 or default gets fp32: that is how an AVX2-only or older CPU is
    simulated, and there bf16 has no hardware at all. CUDA: "bf16" on GPUs that support it
    (Ampere and newer) -- not measured by this project's benchmarks -- else "fp32". MPS: "fp32".
    Gram matrices and losses are float32 whatever this says; ``precision=`` overrides it.
    """
    device = torch.device(device)
    if device.type == "cpu":
        return "bf16" if cpu_native_bf16() else "fp32"
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "fp32"


def resolve_precision(precision: str | None, device: torch.device) -> torch.dtype:
    """Map a ``precision`` name to the dtype for VGG activations on ``device``.

    Raises :class:`DeviceError` for unknown names, for fp16 off CUDA, and for bf16 on a GPU
    without bf16 support. bf16 is allowed on every CPU (emulated where the CPU lacks it: slower,
    but the same autocast code path, so that path is tested on any machine).
    """
    name = default_precision(device) if precision is None else str(precision).lower()
    if name not in _DTYPES:
        raise DeviceError(f"precision={precision!r} is not one of {PRECISIONS}")
    if name == "fp16" and device.type != "cuda":
        raise DeviceError(f"precision='fp16' needs a CUDA GPU (device is {device}); use 'fp32' or 'bf16'")
    if name == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise DeviceError("precision='bf16' needs an Ampere-or-newer GPU; use 'fp16' or 'fp32'")
    return _DTYPES[name]
