"""Lesson 05's small helper: a bounded look for a host before a download is tried."""
import socket
import time

import pytest

from helpers import lessons


def test_reachable_sees_a_listening_port_and_not_a_closed_one():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert lessons.reachable(f"http://127.0.0.1:{port}/file", timeout=2)
    # the same port once closed: refused at once, well inside the timeout
    t0 = time.perf_counter()
    assert not lessons.reachable(f"http://127.0.0.1:{port}", timeout=2)
    assert time.perf_counter() - t0 < 2.5


def test_reachable_never_waits_past_its_timeout(monkeypatch):
    # a resolver or a network that never answers: the connection attempt hangs far past the timeout
    def hang(*args, **kwargs):
        time.sleep(5)
        raise OSError("timed out")

    monkeypatch.setattr(socket, "create_connection", hang)
    t0 = time.perf_counter()
    assert not lessons.reachable("https://download.pytorch.org", timeout=0.5)
    assert time.perf_counter() - t0 < 1.0


def test_reachable_needs_a_host():
    with pytest.raises(ValueError, match="names no host"):
        lessons.reachable("https://")


def test_layout_kept_reads_the_arrangement_of_light_and_dark():
    import torch

    g = torch.Generator().manual_seed(0)
    # a smooth picture: a bright blob left of centre on a dark ground, with a little noise
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 96), torch.linspace(-1, 1, 128), indexing="ij")
    blob = torch.exp(-((xx + 0.4) ** 2 + yy ** 2) / 0.1)
    img = (0.2 + 0.6 * blob + 0.02 * torch.randn(3, 96, 128, generator=g)).clamp(0, 1)[None]
    assert lessons.layout_kept(img, img) > 0.999
    assert lessons.layout_kept(0.5 * img + 0.3, img) > 0.999        # brightness and contrast do not count
    assert lessons.layout_kept(1 - img, img) < -0.999               # light and dark swapped
    assert lessons.layout_kept(img.flip(-1), img) < 0.5             # the blob on the other side
    # the same pixels in random places: the histogram is kept, the layout is not (measured r = 0.21 with this seed; 64 cells of 192 pixels each)
    shuffled = img.flatten(2)[..., torch.randperm(96 * 128, generator=g)].view_as(img)
    assert abs(lessons.layout_kept(shuffled, img)) < 0.35
    # size-free: the same images at half the resolution give nearly the same number
    small = torch.nn.functional.interpolate(img.flip(-1), scale_factor=0.5, mode="area")
    ref_small = torch.nn.functional.interpolate(img, scale_factor=0.5, mode="area")
    assert abs(lessons.layout_kept(small, ref_small) - lessons.layout_kept(img.flip(-1), img)) < 0.05
    with pytest.raises(ValueError, match="n=1"):
        lessons.layout_kept(img, img, n=1)
