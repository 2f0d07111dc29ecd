"""Tests for helpers/download.py: the deadline, the slow-drip rule, atomic writes, sniffing.

Downloads run against a local HTTP server on 127.0.0.1 whose routes misbehave on purpose; the
cap, redirect and web-page refusals are exercised through their callers (test_catalog's fetch,
test_images' load_image of a URL).
"""
from __future__ import annotations

import http.server
import os
import re
import threading
import time

import pytest

from helpers import download as dl
from helpers.errors import ImageError


class _Drip(http.server.BaseHTTPRequestHandler):
    """Routes: /drip (1000 bytes promised, one byte every 0.1 s), /drip-open (the same with no
    Content-Length), /stall (10 of 1000 bytes, then nothing), /slow (600 bytes in six parts,
    0.6 s apart: slow, but in time)."""

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        route = self.path.strip("/")
        plans = {"drip": (1000, [b"x"] * 1000, 0.1), "drip-open": (None, [b"x"] * 1000, 0.1),
                 "stall": (1000, [b"x" * 10], 0.0), "slow": (600, [b"x" * 100] * 6, 0.6)}
        length, parts, pause = plans[route]
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        try:
            for part in parts:
                self.wfile.write(part)
                self.wfile.flush()
                self.server.sent[route] = self.server.sent.get(route, 0) + len(part)
                if self.server.stop.wait(pause):
                    return
            self.server.stop.wait(30 if route == "stall" else 0)  # a stalled server says nothing more
        except OSError:  # the client hung up, as it should
            pass


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("NST_MAX_DOWNLOAD_MB", raising=False)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    httpd.sent, httpd.stop = {}, threading.Event()
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    yield httpd
    httpd.stop.set()
    httpd.shutdown()
    httpd.server_close()


def timed(url: str):
    """(the ImageError download raised, seconds it took)."""
    t0 = time.monotonic()
    with pytest.raises(ImageError) as err:
        dl.download(url)
    return str(err.value), time.monotonic() - t0


@pytest.mark.parametrize("route, why", [
    ("drip", r"the other \d+ bytes \(Content-Length\) would need \d+ s, past the 30-s deadline"),
    ("drip-open", r"below the 1000 bytes/s \(MIN_DOWNLOAD_RATE\)"),
    ("stall", r"the other 990 bytes \(Content-Length\)"),
])
def test_a_body_that_cannot_finish_in_time_is_given_up_after_the_grace_period(server, route, why):
    msg, seconds = timed(server.url + route)
    # the rule judges after SLOW_GRACE_S (3 s), well before the 30-s deadline
    assert dl.SLOW_GRACE_S - 0.2 < seconds < dl.SLOW_GRACE_S + 2, seconds
    assert f"could not download from {server.url}{route}: the server is sending too slowly" in msg
    assert "bytes/s" in msg and "download the file in a browser and pass its path" in msg
    assert re.search(why, msg), msg
    assert "\n" not in msg


def test_a_slow_body_that_will_finish_in_time_is_kept(server):
    t0 = time.monotonic()
    assert dl.download(server.url + "slow") == b"x" * 600  # ~170 bytes/s: 3 s in all, in time
    assert time.monotonic() - t0 > dl.SLOW_GRACE_S


def test_the_rule_projects_the_rate_onto_the_time_left(server, monkeypatch):
    # 1000 bytes at 10 bytes/s need 100 s: with a 300-s deadline the drip is let run past the grace
    monkeypatch.setattr(dl, "DOWNLOAD_TIMEOUT_S", 300.0)
    monkeypatch.setattr(dl, "SLOW_GRACE_S", 0.5)
    drip = dl._Drip("u", 1000, time.monotonic() + 300)
    drip.start -= 10  # as if the body began 10 s ago
    drip.check(100)  # 10 bytes/s * ~290 s left > 900 bytes still expected: no error
    late = dl._Drip("u", 1000, time.monotonic() + 60)  # the same drip with 60 s left: 90 s needed
    late.start -= 10
    with pytest.raises(ImageError, match=r"100 bytes in 10\.0 s \(10 bytes/s\), at that rate the other "
                                         r"900 bytes \(Content-Length\) would need 90 s"):
        late.check(100)


def test_download_deadline_covers_the_whole_body(server, monkeypatch):
    """A server that sends one byte every 0.1 s is cut off by the total deadline, not per read."""
    monkeypatch.setattr(dl, "DOWNLOAD_TIMEOUT_S", 0.5)  # before the drip rule's grace period ends
    msg, seconds = timed(server.url + "drip")
    assert "within 0.5 s (DOWNLOAD_TIMEOUT_S, for the whole download)" in msg
    assert seconds < 1.5 and server.sent["drip"] < 50  # a per-read timeout would take all 1000 bytes


def test_write_atomically_writes_whole_files_only(tmp_path, monkeypatch):
    target = tmp_path / "new" / "folder" / "file.bin"
    dl.write_atomically(target, b"first")
    assert target.read_bytes() == b"first"

    def full(fd, mode):  # a disk that fills up mid-write
        os.close(fd)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dl.os, "fdopen", full)
    with pytest.raises(OSError, match="No space"):
        dl.write_atomically(target, b"second")
    assert target.read_bytes() == b"first" and os.listdir(target.parent) == ["file.bin"]


@pytest.mark.parametrize("head, word", [
    (b"\0\0\0\x18ftypheic\0\0\0\0", "HEIC"), (b"%PDF-1.7\n", "PDF"),
    (b'<?xml version="1.0"?><svg', "SVG"), (b"<!DOCTYPE html><html>", "HTML"),
    (b"name,age\n1,2\n", "text"), (b"\x00\x01\x02\xff", ""),
])
def test_sniff_names_what_a_non_image_is(head, word):
    hint = dl.sniff(head)
    assert (word in hint) if word else hint == ""


def test_cap_from_the_environment(monkeypatch):
    monkeypatch.delenv("NST_MAX_DOWNLOAD_MB", raising=False)
    assert dl.download_cap() == dl.MAX_DOWNLOAD_BYTES
    monkeypatch.setenv("NST_MAX_DOWNLOAD_MB", "1.5")
    assert dl.download_cap() == 1_500_000
    monkeypatch.setenv("NST_MAX_DOWNLOAD_MB", "-1")
    with pytest.raises(ImageError, match="NST_MAX_DOWNLOAD_MB='-1' is not a positive number"):
        dl.download_cap()
