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
