"""Tests for helpers/images.py: every input kind, every bad input, saving and showing.

Fixtures are generated in tmp_path with PIL/numpy; URL cases run against a local http.server.
The "door" sections feed load_image and save_image what a classroom produces and check each
is refused with an ImageError naming the input and what to do, or loaded correctly.
"""
from __future__ import annotations

import functools
import http.server
import io
import os
import socket
import struct
import threading
import time
import zlib

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere: tests run headless

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageFile  # noqa: E402

from helpers import download, images  # noqa: E402
from helpers.images import (  # noqa: E402
    ImageError, ImageNotFoundError, check_image, load_image, save_image, show, show_grid, to_numpy, to_pil,
)

RED, GREEN, BLUE, WHITE = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (1.0, 1.0, 1.0)


def pixel(img: torch.Tensor, y: int, x: int) -> tuple[float, ...]:
    """RGB of one pixel of a (1, 3, H, W) tensor."""
    return tuple(float(v) for v in img[0, :, y, x])


def assert_color(img, y, x, rgb, tol=0.02):
    got = pixel(img, y, x)
    assert np.allclose(got, rgb, atol=tol), f"pixel ({y}, {x}) is {got}, expected {rgb}"


def assert_image(img, h, w):
    assert isinstance(img, torch.Tensor) and img.dtype == torch.float32
    assert tuple(img.shape) == (1, 3, h, w)
    assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims width x height (valid CRCs; the pixel data is not there)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
            + chunk(b"IEND", b""))


@pytest.fixture
def fake_assets(monkeypatch, tmp_path):
    """An embedded-assets folder (NST_ASSETS) holding one style, 'testart' (a 20x10 green PNG)."""
    (tmp_path / "assets" / "style").mkdir(parents=True)
    Image.new("RGB", (20, 10), (0, 255, 0)).save(tmp_path / "assets" / "style" / "testart.png")
    monkeypatch.setenv("NST_ASSETS", str(tmp_path / "assets"))
    return tmp_path / "assets"


# --- files: the bad-input catalogue ---------------------------------------------------------------

@pytest.mark.parametrize("as_path", [False, True])
def test_missing_path_names_it(tmp_path, fake_assets, as_path):
    missing = tmp_path / "nope" / "photo.jpg"
    with pytest.raises(ImageNotFoundError, match="photo.jpg") as info:
        load_image(missing if as_path else str(missing), device="cpu")
    assert isinstance(info.value, FileNotFoundError)  # both kinds of `except` catch it
    assert "testart" not in str(info.value)  # a path is not a picture name: no name list


def test_missing_file_suggests_the_file_next_to_it(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "holiday.jpg")
    with pytest.raises(ImageNotFoundError, match="did you mean 'holiday.jpg'"):
        load_image(tmp_path / "holliday.jpg", device="cpu")


def test_unknown_bare_name_suggests_the_close_one_and_lists_names(fake_assets):
    with pytest.raises(ImageNotFoundError, match="starry_nite") as info:
        load_image("starry_nite", device="cpu")
    msg = str(info.value)
    assert "did you mean 'starry_night'" in msg and "testart" in msg and "the_scream" in msg


def test_embedded_name_resolves_through_the_catalog(fake_assets):
    img = load_image("testart", device="cpu")
    assert_image(img, 10, 20)
    assert_color(img, 5, 5, GREEN)


def test_directory(tmp_path):
    with pytest.raises(ImageError, match="directory") as info:
        load_image(tmp_path, device="cpu")
    assert str(tmp_path) in str(info.value)


def test_zero_byte_file(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageError, match=r"empty\.png.*0 bytes"):
        load_image(empty, device="cpu")


def test_text_file_named_jpg(tmp_path):
    fake = tmp_path / "photo.jpg"
    fake.write_text("<!DOCTYPE html><html><body>Not an image</body></html>\n")
    with pytest.raises(ImageError, match=r"photo\.jpg.*not an image") as info:
        load_image(fake, device="cpu")
    assert "HTML" in str(info.value)


def test_truncated_jpeg_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(buf, "JPEG")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageError, match=r"cut\.jpg.*truncated"):
        load_image(cut, device="cpu")
    assert not ImageFile.LOAD_TRUNCATED_IMAGES  # we must not have switched on silent loading


@pytest.mark.parametrize("side", [30000, 8000])  # beyond Pillow's bomb limit; beyond MAX_PIXELS only
def test_huge_header_refused_before_decoding(tmp_path, side):
    bomb = tmp_path / f"bomb{side}.png"
    bomb.write_bytes(png_header_only(side, side))
    assert bomb.stat().st_size < 200
    with pytest.raises(ImageError, match=f"bomb{side}.png") as info:
        load_image(bomb, device="cpu")
    # the pixel data is not in the file: had it decoded, it would have failed as truncated
    assert "large" in str(info.value) or "MAX_PIXELS" in str(info.value)
    assert "truncated" not in str(info.value)


def test_max_pixels_message_uses_the_constant(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 100)
    small = tmp_path / "small.png"
    Image.new("RGB", (20, 20)).save(small)
    with pytest.raises(ImageError, match=r"small\.png is 20x20 = 0\.0004 MP, above MAX_PIXELS = 0\.0001 MP"):
        load_image(small, device="cpu")


def test_cmyk_jpeg_is_red(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("RGB", (32, 32), (255, 0, 0)).convert("CMYK").save(path, "JPEG", quality=95)
    assert Image.open(path).mode == "CMYK"
    img = load_image(path, device="cpu")
    assert_image(img, 32, 32)
    assert_color(img, 16, 16, RED, tol=0.05)


def test_sixteen_bit_png_keeps_its_range(tmp_path):
    ramp = np.linspace(0, 65535, 257).round().astype(np.uint16)  # includes 0, 32768 and 65535
    arr = np.tile(ramp, (4, 1))  # (4, 257)
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)
    assert Image.open(path).mode.startswith("I")
    img = load_image(path, device="cpu")
    assert_image(img, 4, 257)
    assert float(img.min()) == pytest.approx(0.0, abs=1e-6)
    assert float(img.max()) == pytest.approx(1.0, abs=1e-6)
    mid = int(np.flatnonzero(ramp == 32768)[0])
    assert pixel(img, 0, mid) == pytest.approx((32768 / 65535,) * 3, abs=1e-4)  # ~0.5, not clipped
    assert len(torch.unique(img[0, 0])) > 256  # finer than 8 bits


@pytest.mark.parametrize("values, mode, expected", [
    ([[128]], "L->I", 128 / 255),           # an 8-bit picture widened by convert("I"): 0..255
    ([[255, 0]], "L->I", 1.0),
    ([[32768, 65535]], "I", 32768 / 65535),  # 16-bit data in mode I (older Pillows' 16-bit PNGs)
    ([[2**30, 2**31 - 1]], "I", 2**30 / (2**31 - 1)),  # full 32-bit range
    ([[128]], "I;16", 128 / 65535),          # a 16-bit mode: its own range, 0..65535
    ([[0.5]], "F", 0.5),
    ([[128.0, 255.0]], "F", 128 / 255),      # convert("F") keeps 0..255
])
def test_high_depth_pil_modes_load_with_their_value_range(values, mode, expected):
    arr = np.array(values)
    if mode == "L->I":
        im = Image.fromarray(arr.astype(np.uint8)).convert("I")
    elif mode == "I":
        im = Image.fromarray(arr.astype(np.int32))
    elif mode == "I;16":
        im = Image.fromarray(arr.astype(np.uint16))
    else:
        im = Image.fromarray(arr.astype(np.float32))
    assert im.mode == mode.split("->")[-1]
    img = load_image(im, device="cpu")
    assert float(img[0, 0, 0, 0]) == pytest.approx(expected, abs=1e-6)  # the first value
    assert torch.equal(img[0, 0], img[0, 2])  # grey: three equal channels


def test_grey_128_in_mode_i_is_half_grey_not_black():
    # what a learner gets from Image.open(grey_png).convert("I"): before, it loaded as 128 / 65535
    img = load_image(Image.new("L", (4, 3), 128).convert("I"), device="cpu")
    assert_image(img, 3, 4)
    assert pixel(img, 1, 1) == pytest.approx((128 / 255,) * 3, abs=1e-6)


def test_mode_i_with_negative_values_is_refused():
    with pytest.raises(ImageError, match=r"PIL image is a 32-bit integer image with negative values .*-5"):
        load_image(Image.fromarray(np.array([[-5, 10]], np.int32)), device="cpu")


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_composited_over_white(tmp_path, mode):
    rgba = np.zeros((4, 3, 4), np.uint8)  # (H, W, RGBA): columns opaque, half, fully transparent
    rgba[:, 0] = (255, 0, 0, 255)
    rgba[:, 1] = (255, 0, 0, 128)
    rgba[:, 2] = (0, 0, 0, 0)
    im = Image.fromarray(rgba)
    if mode == "LA":
        im = im.convert("LA")  # red -> gray 76
    path = tmp_path / f"alpha_{mode}.png"
    im.save(path)
    img = load_image(path, device="cpu")
    assert_image(img, 4, 3)
    assert_color(img, 0, 2, WHITE)  # fully transparent -> white
    if mode == "RGBA":
        assert_color(img, 0, 0, RED)
        assert_color(img, 0, 1, (1.0, 127 / 255, 127 / 255))  # 50% red over white
    else:
        gray = 76 / 255
        assert_color(img, 0, 0, (gray,) * 3)


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_with_transparency(tmp_path, fmt):
    im = Image.new("P", (4, 2), 0)
    im.putpalette([0, 0, 255, 0, 255, 0] + [0] * (256 * 3 - 6))  # 0 blue, 1 green
    im.putpixel((3, 1), 1)
    path = tmp_path / f"pal.{fmt.lower()}"
    im.save(path, transparency=0)
    img = load_image(path, device="cpu")
    assert_image(img, 2, 4)
    assert_color(img, 0, 0, WHITE)  # the transparent (blue) index -> white
    assert_color(img, 1, 3, GREEN)


def test_animated_gif_gives_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 6), c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    assert Image.open(path).n_frames == 3
    img = load_image(path, device="cpu")
    assert_image(img, 6, 8)
    assert_color(img, 3, 4, RED)


@pytest.mark.parametrize("orientation, corner", [(6, "top-right"), (8, "bottom-left")])
def test_exif_rotated_jpeg_is_upright(tmp_path, orientation, corner):
    arr = np.full((40, 60, 3), 255, np.uint8)  # stored 60 wide, 40 tall
    arr[:8, :8] = (255, 0, 0)  # mark the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = orientation  # 6: display rotated 90 deg clockwise; 8: counter-clockwise
    path = tmp_path / f"exif{orientation}.jpg"
    Image.fromarray(arr).save(path, quality=95, exif=exif)
    img = load_image(path, device="cpu")
    assert_image(img, 60, 40)  # shape swapped
    y, x = (3, 36) if corner == "top-right" else (56, 3)
    assert_color(img, y, x, RED, tol=0.1)
    assert_color(img, 3, 3 if corner == "top-right" else 36, WHITE, tol=0.1)
    # The same with a size: draft/resize happen before/after the turn without mixing up sides.
    small = load_image(path, size=30, device="cpu")
    assert tuple(small.shape) == (1, 3, 30, 20)


def test_webp(tmp_path):
    arr = np.zeros((10, 12, 3), np.uint8)
    arr[:, 6:] = (0, 0, 255)
    path = tmp_path / "pic.webp"
    Image.fromarray(arr).save(path, lossless=True)
    img = load_image(path, device="cpu")
    assert_image(img, 10, 12)
    assert torch.equal(img, torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 255)


# --- arrays and tensors ----------------------------------------------------------------------------

def test_arrays_accepted():
    rng = np.random.default_rng(1)
    u8 = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    expected = torch.from_numpy(u8).permute(2, 0, 1)[None].float() / 255
    assert torch.allclose(load_image(u8, device="cpu"), expected)
    f = u8.astype(np.float64) / 255
    assert torch.allclose(load_image(f, device="cpu"), expected)
    gray = load_image(u8[:, :, 0], device="cpu")  # (H, W)
    assert_image(gray, 5, 7)
    assert torch.equal(gray[:, 0], gray[:, 1]) and torch.equal(gray[:, 1], gray[:, 2])
    assert torch.allclose(gray[0, 0], expected[0, 0])
    assert_image(load_image(u8[:, :, :1], device="cpu"), 5, 7)  # (H, W, 1)
    u16 = np.full((2, 2, 3), 65535, np.uint16)
    assert torch.allclose(load_image(u16, device="cpu"), torch.ones(1, 3, 2, 2))
    rgba = np.zeros((2, 2, 4), np.float32)  # fully transparent -> white, as for files
    assert torch.allclose(load_image(rgba, device="cpu"), torch.ones(1, 3, 2, 2))
    mask = np.array([[True, False], [False, True]])  # a bool mask: True is white
    assert load_image(mask, device="cpu")[0, :, :, 0].tolist() == [[1.0, 0.0]] * 3


@pytest.mark.parametrize("arr, match", [
    (np.full((4, 4, 3), 2.0), r"array.*\[2, 2\].*outside \[0, 1\]"),
    (np.full((4, 4, 3), 200.0), "divide by 255"),
    (np.full((4, 4, 3), -0.5), r"\(x \+ 1\) / 2"),
    (np.full((4, 4, 3), np.nan), "NaN"),
    (np.zeros((4, 4, 2)), r"shape \(4, 4, 2\)"),
    (np.zeros((4, 4, 5)), r"shape \(4, 4, 5\)"),
    (np.zeros((1, 4, 4, 3)), r"shape \(1, 4, 4, 3\)"),
    (np.zeros((3, 8, 9)), "channels-first"),
    (np.zeros((4, 4, 3), np.int64), "dtype int64"),
    (np.zeros((0, 4, 4), np.float32), r"shape \(0, 4, 4\)"),
])
def test_bad_arrays(arr, match):
    with pytest.raises(ImageError, match=match):
        load_image(arr, device="cpu")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_tensor_nan_inf(bad):
    t = torch.rand(3, 4, 4)
    t[1, 2, 2] = bad
    with pytest.raises(ImageError, match=r"tensor contains .*(NaN|infinite)"):
        load_image(t, device="cpu")


@pytest.mark.parametrize("shape", [(3, 6, 5), (1, 3, 6, 5), (6, 5), (1, 6, 5), (1, 1, 6, 5)])
def test_tensor_shapes_accepted(shape):
    t = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    img = load_image(t, device="cpu")
    assert_image(img, 6, 5)
    if len(shape) == 4 and shape[1] == 3 or len(shape) == 3 and shape[0] == 3:
        assert torch.equal(img, t.reshape(1, 3, 6, 5))
    else:
        assert torch.equal(img[0, 0], img[0, 2]) and torch.equal(img[0, 0], t.reshape(6, 5))


def test_uint8_tensor_divided_by_255():
    t = torch.tensor([0, 51, 255], dtype=torch.uint8).reshape(1, 1, 3).expand(3, 1, 3)
    img = load_image(t, device="cpu")
    assert torch.allclose(img[0, :, 0], torch.tensor([0.0, 0.2, 1.0]).expand(3, 3))


@pytest.mark.parametrize("t, match", [
    (torch.zeros(3, 4, 4, dtype=torch.int64), "dtype torch.int64"),
    (torch.zeros(2, 3, 4, 4), "batch of 2"),
    (torch.zeros(4, 4, 3), "channels-last"),
    (torch.full((3, 4, 4), 1.5), r"outside \[0, 1\]"),
    (torch.zeros(3, 0, 4), "shape"),
])
def test_bad_tensors(t, match):
    with pytest.raises(ImageError, match=match):
        load_image(t, device="cpu")


def test_tensor_input_is_detached_and_not_aliased():
    t = torch.rand(1, 3, 4, 4, requires_grad=True)
    before = t.detach().clone()
    img = load_image(t, device="cpu")
    assert not img.requires_grad
    img.zero_()
    assert torch.equal(t.detach(), before)  # the caller's tensor is untouched


def test_pil_input_not_modified_and_resized():
    im = Image.new("RGBA", (300, 200), (0, 0, 255, 255))
    img = load_image(im, size=150, device="cpu")
    assert_image(img, 100, 150)
    assert_color(img, 50, 75, BLUE)
    assert im.mode == "RGBA" and im.size == (300, 200)


# --- check_image ---------------------------------------------------------------------------------

def test_check_image_accepts_and_clamps_tiny_overshoot():
    t = torch.rand(3, 5, 6)
    t[0, 0, 0] = 1 + 1e-5
    t[0, 0, 1] = -1e-5
    out = check_image(t)
    assert out.shape == (1, 3, 5, 6) and out.dtype == torch.float32
    assert float(out.max()) <= 1.0 and float(out.min()) >= 0.0


@pytest.mark.parametrize("bad, match", [
    ([[0.5]], "must be a torch.Tensor, got list"),
    (torch.zeros(1, 3, 4, 4, dtype=torch.uint8), "dtype torch.uint8"),
    (torch.zeros(1, 1, 4, 4), r"shape \(1, 1, 4, 4\)"),
    (torch.full((1, 3, 4, 4), 1.01), r"content has values in \[1\.01, 1\.01\]"),
    (torch.full((1, 3, 4, 4), float("nan")), "48 NaN"),
])
def test_check_image_refuses_naming_the_argument(bad, match):
    with pytest.raises(ImageError, match=match) as info:
        check_image(bad, name="content")
    assert "content" in str(info.value)


# --- URLs ----------------------------------------------------------------------------------------

class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves files from a folder, plus routes that misbehave on purpose."""

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        self.server.user_agents.append(self.headers.get("User-Agent"))
        if self.path == "/page":
            body = b"<html><body>a gallery page</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/stream.png":  # no Content-Length: the client must count
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            sent, chunk = 0, b"\0" * 65536
            try:
                while sent < self.server.stream_total:
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except OSError:  # the client hung up
                pass
            self.server.stream_sent = sent
            self.server.stream_done.set()
        elif self.path == "/drip.png":  # one byte every 0.5 s, 20 promised: 10 s in all
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", "20")
            self.end_headers()
            try:
                for _ in range(20):
                    self.wfile.write(b"\x89")
                    self.wfile.flush()
                    self.server.drip_sent += 1
                    time.sleep(0.5)
            except OSError:  # the client hung up
                pass
        elif self.path == "/slow.png":
            time.sleep(1.0)
            try:
                super().do_GET()
            except OSError:
                pass
        else:
            super().do_GET()


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # clients hang up on purpose here
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A local HTTP server on 127.0.0.1 (port chosen by the OS) serving a tmp folder."""
    root = tmp_path_factory.mktemp("www")
    Image.new("RGB", (16, 8), (0, 0, 255)).save(root / "blue.png")
    (root / "fake.png").write_bytes(b"<html>sorry, this is not a picture</html>")
    (root / "big.bin").write_bytes(b"\0" * 300_000)
    srv = _Server(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    srv.user_agents, srv.stream_total, srv.stream_sent = [], 64 * 2**20, None
    srv.stream_done, srv.drip_sent = threading.Event(), 0
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


@pytest.fixture
def no_cap_env(monkeypatch):
    monkeypatch.delenv("NST_MAX_DOWNLOAD_MB", raising=False)


def test_url_loads_with_user_agent(server, no_cap_env):
    img = load_image(server.base + "/blue.png", device="cpu")
    assert_image(img, 8, 16)
    assert_color(img, 4, 8, BLUE)
    assert server.user_agents[-1] == download.USER_AGENT
    assert_image(load_image(server.base + "/blue.png", size=8, device="cpu"), 4, 8)


def test_url_404_names_url_and_status(server, no_cap_env):
    url = server.base + "/missing.jpg"
    with pytest.raises(ImageError, match="404") as info:
        load_image(url, device="cpu")
    assert url in str(info.value)


@pytest.mark.parametrize("route", ["/page", "/fake.png"])  # text/html header; image header, HTML body
def test_url_serving_html(server, no_cap_env, route):
    url = server.base + route
    with pytest.raises(ImageError) as info:
        load_image(url, device="cpu")
    message = str(info.value)
    assert url in message and ("web page" in message or "not an image" in message)


def test_url_over_cap_by_content_length(server, no_cap_env, monkeypatch):
    monkeypatch.setattr(download, "MAX_DOWNLOAD_BYTES", 100_000)
    url = server.base + "/big.bin"
    with pytest.raises(ImageError, match=r"Content-Length.*0\.1 MB") as info:
        load_image(url, device="cpu")
    assert url in str(info.value)


def test_url_over_cap_stops_reading_early(server, no_cap_env, monkeypatch):
    monkeypatch.setattr(download, "MAX_DOWNLOAD_BYTES", 100_000)
    url = server.base + "/stream.png"
    with pytest.raises(ImageError, match="stopped reading") as info:
        load_image(url, device="cpu")
    assert url in str(info.value)
    assert server.stream_done.wait(5)
    assert server.stream_sent < server.stream_total  # the server saw the client hang up


def test_cap_from_environment(server, monkeypatch):
    monkeypatch.setenv("NST_MAX_DOWNLOAD_MB", "0.00001")  # 10 bytes
    with pytest.raises(ImageError, match="NST_MAX_DOWNLOAD_MB"):
        load_image(server.base + "/blue.png", device="cpu")
    monkeypatch.setenv("NST_MAX_DOWNLOAD_MB", "lots")
    with pytest.raises(ImageError, match="NST_MAX_DOWNLOAD_MB='lots'"):
        load_image(server.base + "/blue.png", device="cpu")


def test_url_timeout_and_refused_connection(server, no_cap_env, monkeypatch):
    monkeypatch.setattr(download, "DOWNLOAD_TIMEOUT_S", 0.2)
    url = server.base + "/slow.png"
    with pytest.raises(ImageError, match="check your connection") as info:
        load_image(url, device="cpu")
    assert url in str(info.value)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.png"
    with pytest.raises(ImageError, match="download the file and pass its path") as info:
        load_image(url, device="cpu")
    assert url in str(info.value)


def test_url_drip_feed_hits_the_overall_deadline(server, no_cap_env, monkeypatch):
    monkeypatch.setattr(download, "DOWNLOAD_TIMEOUT_S", 1.5)  # each byte comes well within it
    url = server.base + "/drip.png"
    with pytest.raises(ImageError, match=r"within 1\.5 s \(DOWNLOAD_TIMEOUT_S, for the whole") as info:
        load_image(url, device="cpu")
    sent = server.drip_sent
    assert url in str(info.value)
    assert sent < 10  # ~3 bytes in 1.5 s; a per-read timeout would have waited for all 20


def test_file_url_loads_the_file(tmp_path):
    Image.new("RGB", (6, 4), (0, 0, 255)).save(tmp_path / "blue sky.png")
    img = load_image((tmp_path / "blue sky.png").as_uri(), device="cpu")  # %20 in the URL
    assert_image(img, 4, 6)
    assert_color(img, 2, 3, BLUE)


# --- the door: what a classroom produces -------------------------------------------------------

@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_float_pil_image_with_nan_or_inf_names_it(tmp_path, bad):
    arr = np.full((4, 5), 0.5, np.float32)
    arr[1, 2] = bad
    with pytest.raises(ImageError, match=r"PIL image contains .*(NaN|infinite)"):
        load_image(Image.fromarray(arr, mode="F"), device="cpu")
    tiff = tmp_path / "depth.tiff"  # a 32-bit float TIFF, as scientific cameras write
    Image.fromarray(arr, mode="F").save(tiff)
    with pytest.raises(ImageError, match=r"depth\.tiff contains .*(NaN|infinite)"):
        load_image(tiff, device="cpu")


def test_float_images_in_unit_range_or_0_to_255_load_and_others_are_refused():
    ramp = np.linspace(0, 1, 6, dtype=np.float32)[None].repeat(2, 0)  # (2, 6)
    unit = load_image(Image.fromarray(ramp, mode="F"), device="cpu")
    assert torch.allclose(unit[0, 0], torch.from_numpy(ramp))
    eight_bit = load_image(Image.fromarray((ramp * 255).round().astype(np.uint8)).convert("F"), device="cpu")
    assert torch.allclose(eight_bit, unit, atol=1 / 255)  # Pillow's convert("F") keeps 0..255
    with pytest.raises(ImageError, match=r"values in \[-3, 1000\]"):
        load_image(Image.fromarray(np.array([[-3.0, 1000.0]], np.float32), mode="F"), device="cpu")


@pytest.mark.parametrize("size", [None, 64])
@pytest.mark.parametrize("wh", [(0, 0), (0, 5), (5, 0)])
def test_pil_image_without_pixels_is_refused(wh, size):
    with pytest.raises(ImageError, match=f"PIL image is {wh[0]}x{wh[1]} pixels"):
        load_image(Image.new("RGB", wh), size=size, device="cpu")


@pytest.mark.parametrize("name, match", [
    ("x" * 300 + ".jpg", r"\(300\+4 characters|File name too long"),
    ("bad\0name.png", "null"),
    ("~no_such_user_here/photo.png", "file name"),
])
def test_names_the_os_refuses_are_image_errors(name, match):
    with pytest.raises(ImageError) as info:
        load_image(name, device="cpu")
    assert not isinstance(info.value, FileNotFoundError) or "no such file" in str(info.value)
    assert len(str(info.value)) < 400  # the 300 characters are shortened in the message


def test_long_name_message_is_shortened():
    with pytest.raises(ImageError, match=r"304 characters.*File name too long"):
        load_image("x" * 300 + ".jpg", device="cpu")


def test_unreadable_file_is_an_image_error(tmp_path, monkeypatch):
    locked = tmp_path / "locked.png"
    Image.new("RGB", (4, 4)).save(locked)
    real_open = type(locked).open

    def refuse(self, *args, **kwargs):  # what chmod 000 does for a non-root user
        if self.name == "locked.png":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(type(locked), "open", refuse)
    with pytest.raises(ImageError, match=r"cannot read .*locked\.png: Permission denied; check the file's permissions"):
        load_image(locked, device="cpu")


def test_empty_string_is_refused():
    with pytest.raises(ImageError, match="empty name"):
        load_image("  ", device="cpu")


@pytest.mark.parametrize("head, hint", [
    (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + bytes(64), "HEIC"),  # an iPhone photo
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(64), "PDF"),
    (b"name,score\nann,3\nbob,4\n", "text file"),
])
def test_unknown_formats_say_what_they_are(tmp_path, head, hint):
    path = tmp_path / "photo.jpg"
    path.write_bytes(head)
    with pytest.raises(ImageError, match=r"photo\.jpg is not an image Pillow can read") as info:
        load_image(path, device="cpu")
    assert hint in str(info.value)


# --- arguments -----------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [0, -5, 2.5, 256.0, "256", True])
def test_bad_size_names_size(size):
    with pytest.raises(ImageError, match="size="):
        load_image(torch.rand(3, 8, 8), size=size, device="cpu")


def test_size_beyond_max_pixels(monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 10_000)
    with pytest.raises(ImageError, match="size=200") as info:
        load_image(torch.rand(3, 8, 8), size=200, device="cpu")
    assert "the largest size that fits this 8x8 picture is 100. Pass size=100 or less" in str(info.value)
    assert "nst.images.MAX_PIXELS" in str(info.value)  # how to raise the cap
    # the size it names does fit, for any aspect, and one more pixel does not
    for h, w in ((8, 8), (3, 4), (1, 7), (5, 13)):
        with pytest.raises(ImageError) as info:
            load_image(torch.rand(3, h, w), size=10**6, device="cpu")
        fits = int(str(info.value).split("Pass size=")[1].split()[0])
        out = load_image(torch.rand(3, h, w), size=fits, device="cpu")
        assert max(out.shape[-2:]) == fits and out.shape[-1] * out.shape[-2] <= 10_000
        with pytest.raises(ImageError, match=f"size={fits + 1} would make"):
            load_image(torch.rand(3, h, w), size=fits + 1, device="cpu")


@pytest.mark.parametrize("src", [42, None, b"bytes", [1, 2, 3]])
def test_unknown_source_type_names_type_and_accepted(src):
    with pytest.raises(ImageError, match=type(src).__name__) as info:
        load_image(src, device="cpu")
    assert "URL" in str(info.value) and "numpy array" in str(info.value)


@pytest.mark.parametrize("src_shape, size, out_hw", [
    ((3, 200, 300), 150, (100, 150)),  # downscale, landscape
    ((3, 300, 200), 150, (150, 100)),  # portrait
    ((3, 200, 300), 600, (400, 600)),  # upscale
])
def test_resize_keeps_aspect_and_range(src_shape, size, out_hw):
    checker = (torch.arange(src_shape[1])[:, None] // 4 + torch.arange(src_shape[2]) // 4) % 2
    t = checker.float().expand(src_shape)  # sharp edges: bicubic would overshoot without the clamp
    assert_image(load_image(t, size=size, device="cpu"), *out_hw)
    assert_image(load_image(to_pil(t), size=size, device="cpu"), *out_hw)
    assert_image(load_image(t.numpy().transpose(1, 2, 0), size=size, device="cpu"), *out_hw)


@pytest.fixture(scope="module")
def big_jpeg(tmp_path_factory):
    """A 2400x1600 photo-sized JPEG (noise over a gradient), made once per module."""
    noise = Image.effect_noise((2400, 1600), 40)
    gradient = Image.linear_gradient("L").resize((2400, 1600))
    im = Image.merge("RGB", (noise, gradient, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    path = tmp_path_factory.mktemp("big") / "photo.jpg"
    im.save(path, quality=85)
    return path


def test_large_jpeg_is_decoded_at_reduced_scale(big_jpeg, monkeypatch):
    decoded = []
    from_pil = images._from_pil
    monkeypatch.setattr(images, "_from_pil", lambda im, *a: decoded.append(im.size) or from_pil(im, *a))
    img = load_image(big_jpeg, size=256, device="cpu")
    assert decoded == [(300, 200)]  # libjpeg's 1/8 scale, the smallest at least 256 x 171
    assert_image(img, 171, 256)


# --- devices, saving, showing --------------------------------------------------------------------

def test_device_placement(monkeypatch):
    assert load_image(torch.rand(3, 4, 4), device="cpu").device.type == "cpu"
    assert load_image(torch.rand(3, 4, 4), device=torch.device("cpu")).device.type == "cpu"
    monkeypatch.setenv("NST_DEVICE", "cpu")
    assert load_image(np.zeros((4, 4, 3), np.uint8)).device.type == "cpu"  # None -> pick_device()


def test_save_png_round_trip_exact(tmp_path):
    t = torch.rand(1, 3, 9, 13, generator=torch.Generator().manual_seed(3))
    path = save_image(t, tmp_path / "new" / "dir" / "out.png")
    assert path == tmp_path / "new" / "dir" / "out.png" and path.is_file()
    back = load_image(path, device="cpu")
    assert (back - t).abs().max() <= 0.5 / 255 + 1e-6


@pytest.mark.parametrize("suffix", images.SUFFIXES)
def test_save_every_suffix(tmp_path, suffix):
    t = torch.full((3, 8, 8), 0.5)  # (3, H, W) accepted too
    path = save_image(t, tmp_path / f"out{suffix}")
    assert Image.open(path).size == (8, 8)
    assert torch.allclose(load_image(path, device="cpu"), torch.full((1, 3, 8, 8), 0.5), atol=0.02)


def test_save_clamps_rounding_overshoot_only(tmp_path):
    t = torch.full((1, 3, 2, 2), 1 + 1e-4)  # within RANGE_TOLERANCE: rounding, clamped
    t[..., 0, 0] = -1e-4
    arr = np.asarray(Image.open(save_image(t, tmp_path / "clamped.png")))
    assert arr[0, 0].tolist() == [0, 0, 0] and arr[1, 1].tolist() == [255, 255, 255]


@pytest.mark.parametrize("value, match", [
    (200.0, "divide by 255"), (1.5, r"values in \[1\.5, 1\.5\], outside \[0, 1\]"), (float("nan"), "NaN"),
])
def test_save_refuses_values_outside_the_unit_range(tmp_path, value, match):
    t = torch.full((1, 3, 2, 2), value)
    with pytest.raises(ImageError, match=match) as info:
        save_image(t, tmp_path / "out.png")
    assert "out.png" in str(info.value)
    assert list(tmp_path.iterdir()) == []  # not an all-white file, not a partial one


def test_save_into_a_folder_path_is_refused(tmp_path):
    (tmp_path / "x.png").mkdir()  # a folder named like an image
    with pytest.raises(ImageError, match=r"x\.png'.*is a folder; pass a file name inside it"):
        save_image(torch.zeros(3, 2, 2), tmp_path / "x.png")


@pytest.mark.parametrize("parent", ["notes.txt", "notes.txt/deeper"])
def test_save_below_a_file_is_refused(tmp_path, parent):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    with pytest.raises(ImageError, match="part of the folder path is an existing file"):
        save_image(torch.zeros(3, 2, 2), tmp_path / parent / "out.png")
    assert (tmp_path / "notes.txt").read_text() == "a file, not a folder"


@pytest.mark.parametrize("target, match", [
    ("x.png", "is a folder"), ("notes.txt/out.png", "existing file"), ("out.gif", "suffix '.gif'"),
])
def test_check_save_path_refuses_before_any_work(tmp_path, target, match):
    (tmp_path / "x.png").mkdir()
    (tmp_path / "notes.txt").write_text("a file")
    with pytest.raises(ImageError, match=match):
        images.check_save_path(tmp_path / target)


def test_check_save_path_accepts_new_folders_and_creates_nothing(tmp_path, monkeypatch):
    assert images.check_save_path(tmp_path / "a" / "b" / "out.jpg") == tmp_path / "a" / "b" / "out.jpg"
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(images.os, "access", lambda *a: False)  # a read-only folder, as non-root
    with pytest.raises(ImageError, match="permission denied"):
        images.check_save_path(tmp_path / "out.png")


def test_save_without_permission_names_path_and_remedy(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):  # what a read-only folder does for a non-root user
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(download.os, "open", refuse)
    with pytest.raises(ImageError, match=r"cannot save .*out\.png'.*permission denied; save into a folder"):
        save_image(torch.zeros(3, 2, 2), tmp_path / "out.png")


def test_failed_save_leaves_no_partial_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    old = save_image(torch.zeros(3, 4, 4), tmp_path / "out.png")
    before = old.read_bytes()

    real_fdopen = download.os.fdopen

    class HalfDisk:  # a file that takes a few bytes, then finds the disk full
        def __init__(self, fd, mode):
            self.f = real_fdopen(fd, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[:10])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(download.os, "fdopen", HalfDisk)
    with pytest.raises(ImageError, match=r"cannot save .*out\.png'.*No space left on device"):
        save_image(torch.ones(3, 4, 4), tmp_path / "out.png")
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"] and old.read_bytes() == before
    monkeypatch.undo()
    assert save_image(torch.ones(3, 4, 4), tmp_path / "new.png").stat().st_mode & 0o777 == 0o666 & ~umask()


def umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def test_save_takes_what_load_image_takes(tmp_path):
    path = save_image(Image.new("RGB", (5, 3), (0, 0, 255)), tmp_path / "pil.png")
    assert_color(load_image(path, device="cpu"), 1, 2, BLUE)
    with pytest.raises(ImageError, match="cannot save .*list"):
        save_image([1, 2], tmp_path / "list.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pil.png"]


@pytest.mark.parametrize("name", ["out.txt", "out"])
def test_save_unknown_suffix(tmp_path, name):
    with pytest.raises(ImageError) as info:
        save_image(torch.zeros(3, 2, 2), tmp_path / name)
    message = str(info.value)
    assert name in message and ".png" in message and ".jpg" in message
    assert not (tmp_path / name).exists()


def test_to_pil_and_to_numpy():
    t = torch.rand(1, 3, 5, 7)
    pil = to_pil(t)
    assert pil.mode == "RGB" and pil.size == (7, 5)
    arr = to_numpy(t)
    assert arr.shape == (5, 7, 3) and arr.dtype == np.float32
    assert np.allclose(arr, t[0].permute(1, 2, 0).numpy())
    assert to_numpy(pil).shape == (5, 7, 3)


def test_show_returns_axes():
    t = torch.rand(3, 6, 6)
    ax = show(t, title="noise")
    assert ax.get_title() == "noise" and not ax.axison
    fig, given = plt.subplots()
    assert show(Image.new("RGB", (4, 4)), ax=given) is given
    plt.close("all")


def test_show_grid_layout_and_titles():
    imgs = [torch.rand(3, 6, 6) for _ in range(5)] + [Image.new("RGB", (6, 6), "red")]
    fig = show_grid(imgs, titles=[f"t{i}" for i in range(6)])
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 8  # min(6, 4) columns x 2 rows
    assert [ax.get_title() for ax in fig.axes[:6]] == [f"t{i}" for i in range(6)]
    assert not any(ax.axison for ax in fig.axes)
    assert len(show_grid(imgs[:2], ncols=1).axes) == 2
    plt.close("all")


@pytest.mark.parametrize("kwargs, match", [
    (dict(imgs=[]), "no images"),
    (dict(imgs=[torch.rand(3, 2, 2)], titles=["a", "b"]), "titles has 2"),
    (dict(imgs=[torch.rand(3, 2, 2)], ncols=0), "ncols=0"),
])
def test_show_grid_bad_arguments(kwargs, match):
    with pytest.raises(ImageError, match=match):
        show_grid(**kwargs)
    plt.close("all")
