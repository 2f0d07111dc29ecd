import pytest
import torch

import helpers as nst
from helpers.device import DeviceError, default_precision, resolve_precision


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
    assert default_precision(cpu) == "fp32"
    assert resolve_precision(None, cpu) == torch.float32
    assert resolve_precision("bf16", cpu) == torch.bfloat16
    with pytest.raises(DeviceError, match="not one of"):
        resolve_precision("int8", cpu)
    with pytest.raises(DeviceError, match="fp16' needs a CUDA GPU"):
        resolve_precision("fp16", cpu)
