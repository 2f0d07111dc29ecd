import pytest
import torch

import helpers as nst
from helpers.device import DeviceError, default_precision, resolve_precision
from helpers.lessons import check, lesson_settings, psnr


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


def test_lesson_settings_quick_and_full(monkeypatch):
    monkeypatch.setenv("NST_QUICK", "1")
    assert lesson_settings(512, 300, quick_size=64, quick_steps=5) == {"size": 64, "steps": 5, "quick": True}
    monkeypatch.setenv("NST_QUICK", "0")
    assert lesson_settings(512, 300, device="cpu") == {"size": 512, "steps": 300, "quick": False}


def test_psnr_and_check():
    a = torch.zeros(1, 3, 4, 4)
    assert psnr(a, a + 0.1) == pytest.approx(20.0)
    assert check("x", 0.5, 0.5) == "x: correct"
    assert "not answered yet" in check("x", ..., 1.0)
    with pytest.raises(AssertionError, match="not right"):
        check("x", [1, 2], [1, 3])


def test_setup_reports(capsys, monkeypatch):
    monkeypatch.setenv("NST_QUICK", "1")
    from helpers.lessons import setup

    assert setup("cpu") == torch.device("cpu")
    out = capsys.readouterr().out
    assert "torch " in out and "device: cpu" in out and "Quick mode" in out
