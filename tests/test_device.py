import os
import subprocess
import sys

import pytest
import torch

import helpers as nst
from helpers import device
from helpers.device import DeviceError, cpu_native_bf16, default_precision, resolve_precision


def test_pick_device_auto_is_cpu_here(monkeypatch):
    monkeypatch.delenv("NST_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert nst.pick_device() == torch.device("cpu")


def test_pick_device_prefers_cuda_when_present(monkeypatch):
    monkeypatch.delenv("NST_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert nst.pick_device().type == "cuda"


def test_env_overrides_and_explicit_wins(monkeypatch):
    monkeypatch.setenv("NST_DEVICE", "cpu")
    assert nst.pick_device() == torch.device("cpu")
    monkeypatch.setenv("NST_DEVICE", "tpu")
    with pytest.raises(DeviceError, match="NST_DEVICE='tpu'"):
        nst.pick_device()
    assert nst.pick_device("cpu") == torch.device("cpu")


def test_missing_device_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match=r"no cuda device on this machine; available: \[.*'cpu'\]"):
        nst.pick_device("cuda")
    assert isinstance(DeviceError("x"), ValueError)


def test_seed_everything_repeats():
    g1 = nst.seed_everything(3)
    a = torch.rand(4, generator=g1), torch.rand(4)
    g2 = nst.seed_everything(3)
    b = torch.rand(4, generator=g2), torch.rand(4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_precision_policy():
    cpu = torch.device("cpu")
    assert default_precision(cpu) == ("bf16" if cpu_native_bf16() else "fp32")
    assert resolve_precision(None, cpu) == {"bf16": torch.bfloat16, "fp32": torch.float32}[default_precision(cpu)]
    assert resolve_precision("fp32", cpu) == torch.float32  # an explicit precision always wins
    assert resolve_precision("bf16", cpu) == torch.bfloat16
    with pytest.raises(DeviceError, match="not one of"):
        resolve_precision("int8", cpu)
    with pytest.raises(DeviceError, match="fp16' needs a CUDA GPU"):
        resolve_precision("fp16", cpu)


@pytest.fixture
def fresh_bf16_check():
    device.cpu_native_bf16.cache_clear()
    yield
    device.cpu_native_bf16.cache_clear()


@pytest.mark.parametrize("capability, flags, isa, onednn, native", [
    ("AVX512", {"avx512f", "avx512_bf16"}, None, True, True),
    ("AVX512", {"avx512f", "amx_bf16"}, "AVX512_CORE_AMX", True, True),
    ("AVX512", {"avx512f"}, None, True, False),  # AVX-512 without bf16 dot products
    ("AVX2", {"avx512f", "avx512_bf16"}, None, True, False),  # ATEN_CPU_CAPABILITY=avx2
    ("DEFAULT", {"avx512f", "avx512_bf16"}, None, True, False),
    ("AVX512", {"avx512f", "avx512_bf16"}, "SSE41", True, False),  # oneDNN capped below bf16
    ("AVX512", {"avx512f", "avx512_bf16"}, "avx512_core", True, False),
    ("AVX512", {"avx512f", "avx512_bf16"}, None, False, False),
    ("NO AVX", set(), None, False, False),  # e.g. an ARM or an old x86
])
def test_native_bf16_needs_cpu_kernels_and_onednn(monkeypatch, fresh_bf16_check, capability, flags,
                                                  isa, onednn, native):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    monkeypatch.setattr(device, "_cpu_flags", lambda: set(flags))
    monkeypatch.setattr(device, "_onednn_bf16", lambda: onednn)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    if isa is None:
        monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    else:
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", isa)
    assert device.cpu_native_bf16() is native
    assert default_precision(torch.device("cpu")) == ("bf16" if native else "fp32")


@pytest.mark.parametrize("env", [{"ATEN_CPU_CAPABILITY": "avx2"},
                                 {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"}],
                         ids=["avx2", "default+SSE41"])
def test_emulated_bf16_kernel_sets_run_fp32(env):
    # where bf16 is emulated it is slower than fp32 (benchmarks/precision.py): whatever this CPU has,
    # a process started on the lower kernel sets must choose fp32
    code = ("import torch, helpers.device as d; "
            "print(torch.backends.cpu.get_cpu_capability(), d.default_precision(torch.device('cpu')))")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == [env["ATEN_CPU_CAPABILITY"].upper(), "fp32"], out


def test_cuda_precision_follows_bf16_support(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert default_precision(torch.device("cuda")) == "bf16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert default_precision(torch.device("cuda")) == "fp32"
    assert default_precision(torch.device("mps")) == "fp32"
