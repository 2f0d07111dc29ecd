"""Tests for helpers/catalog.py: names, embedded files, credits, painting downloads (offline).

Downloads run against a local HTTP server on 127.0.0.1 with routes that misbehave on purpose.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import http.server
import socket
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image

import helpers as nst
from helpers import catalog, download, generators
from helpers.errors import ImageError, ImageNotFoundError

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- names and the old alias


def test_names_match_the_tables():
    assert catalog.names("content") == sorted(catalog.CONTENT)
    assert catalog.names() == sorted([*catalog.CONTENT, *catalog.names("style")])
    with pytest.raises(ImageError, match="kind='paintings'.*content"):
        catalog.names("paintings")


def test_readme_spelling_works():
    assert nst.catalog.names() == catalog.names()
    assert "swirls" in catalog.names("style") and "swirls" in generators.STYLES


def test_path_finds_every_name_with_or_without_suffix():
    for name in catalog.names():
        p = catalog.path(name)
        assert p.is_file() and p.stem == name
        assert catalog.path(p.name) == p


@pytest.mark.parametrize("typo, meant", [("swirsl", "swirls"), ("chelsae", "chelsea"),
                                         ("mondrain.png", "mondrian"), ("stary_night", "starry_night")])
def test_unknown_name_suggests_the_close_one_and_lists_all(typo, meant):
    with pytest.raises(ImageNotFoundError) as err:
        catalog.path(typo)
    msg = str(err.value)
    assert f"did you mean '{meant}'" in msg and repr(typo) in msg
    assert "chelsea" in msg and "mondrian" in msg and "starry_night" in msg
    assert isinstance(err.value, FileNotFoundError)  # old `except FileNotFoundError` still catches


def test_unknown_name_far_from_everything_has_no_suggestion():
    with pytest.raises(ImageError) as err:
        catalog.path("xq")
    assert "did you mean" not in str(err.value)


def test_asset_files_are_small_and_well_formed():
    for name in catalog.names():
        p = catalog.path(name)
        assert p.stat().st_size <= 600_000, p
        img = Image.open(p)
        assert img.mode == "RGB", p
        if name in catalog.CONTENT:
            assert p.suffix == ".jpg" and max(img.size) <= 1024
        else:
            assert max(img.size) == 512


def test_credits_name_every_file_and_painting():
    credits = (catalog.asset_dir() / "CREDITS.md").read_text()
    for name in catalog.names():
        p = catalog.path(name)
        assert f"{p.parent.name}/{p.name}" in credits
    for credit in catalog.CONTENT.values():
        assert credit.licence in credits and credit.author in credits
    for painting in catalog.PAINTINGS.values():
        assert painting.file in credits and painting.title in credits
    assert "MIT" in credits and "Public domain" in credits


def test_credits_file_is_what_make_assets_writes():
    spec = importlib.util.spec_from_file_location("make_assets", ROOT / "scripts" / "make_assets.py")
    make_assets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_assets)
    assets = catalog.asset_dir()
    files = [catalog.path(name) for name in catalog.names()]
    expected = make_assets.credits_markdown(files, assets)
    assert (assets / "CREDITS.md").read_text() == expected, "run python scripts/make_assets.py"


def test_nst_assets_overrides_the_folder(tmp_path, monkeypatch):
    (tmp_path / "style").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "style" / "tiny.png")
    monkeypatch.setenv("NST_ASSETS", str(tmp_path))
    assert catalog.asset_dir() == tmp_path
    assert catalog.names() == ["tiny"] and catalog.names("content") == []
    assert catalog.path("tiny") == tmp_path / "style" / "tiny.png"


def test_asset_dir_without_env_is_the_repo_folder(monkeypatch):
    monkeypatch.delenv("NST_ASSETS", raising=False)
    here = Path(catalog.__file__).resolve().parent
    assert catalog.asset_dir() in (here / "assets", here.parent / "assets")
    assert (catalog.asset_dir() / "content").is_dir()


def test_resolve_embedded_and_unknown():
    assert catalog.resolve("mondrian") == catalog.path("mondrian")
    assert catalog.resolve("chelsea.jpg") == catalog.path("chelsea")
    assert catalog.resolve("no_such_image") is None
    assert catalog.resolve("some/photo.jpg") is None


# --------------------------------------------------------------------------- a misbehaving server

class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        self.server.hits.append(self.path)
        route = self.path.split("/")[-2] if self.path.count("/") > 1 else ""
        if route == "loop":  # redirects to itself forever
            self.send_response(302)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif route == "page":  # a folder URL that answers with a web page (a captive portal)
            body = b"<html><body>Please log in to the school network</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif route in ("stream", "short"):  # no Content-Length / one that promises too much
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            if route == "short":
                self.send_header("Content-Length", "5000")
            self.end_headers()
            try:
                for _ in range(self.server.stream_chunks if route == "stream" else 1):
                    self.wfile.write(b"\xff" * 65536 if route == "stream" else b"\xff" * 100)
                    self.server.stream_sent += 1
            except OSError:  # the client hung up, as it should
                pass
        else:
            super().do_GET()


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over tmp_path/www holding tiny.jpg and big/tiny.jpg (3 MB)."""
    www = tmp_path / "www"
    (www / "big").mkdir(parents=True)
    generators.op_art(32).save(www / "tiny.jpg", quality=90)
    (www / "big" / "tiny.jpg").write_bytes(b"\xff" * 3_000_000)
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(www)))
    httpd.hits, httpd.stream_sent, httpd.stream_chunks = [], 0, 200  # 200 x 64 KiB = 13 MB
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.data = (www / "tiny.jpg").read_bytes()
    httpd.www = www
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def painting(server, tmp_path, monkeypatch):
    """PAINTINGS gains 'tiny' (served by `server`); mirror and cache point at the test's folders."""
    sha = hashlib.sha256(server.data).hexdigest()
    monkeypatch.setitem(catalog.PAINTINGS, "tiny",
                        catalog.Painting("tiny.jpg", "Test Artist", "Tiny Test", sha))
    monkeypatch.setenv("NST_ARTWORK_MIRROR", server.url)
    monkeypatch.setenv("NST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("NST_MAX_DOWNLOAD_MB", raising=False)
    return tmp_path / "cache"


def cache_files(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


# --------------------------------------------------------------------------- fetch

def test_fetch_downloads_once_then_uses_the_cache(painting, server):
    p = catalog.fetch("tiny")
    assert p == painting / "tiny.jpg" and p.read_bytes() == server.data
    assert server.hits == ["/tiny.jpg"]
    assert catalog.fetch("tiny.jpg") == p and catalog.resolve("tiny") == p
    assert len(server.hits) == 1  # served from the cache, not the server
    assert cache_files(painting) == ["tiny.jpg"]  # no temporary file left behind


def test_fetch_honours_xdg_cache_home(painting, tmp_path, monkeypatch):
    if not sys.platform.startswith("linux"):
        pytest.skip("XDG_CACHE_HOME is the Linux convention (platformdirs)")
    monkeypatch.delenv("NST_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert catalog.cache_dir() == tmp_path / "xdg" / "nst-helpers"
    assert catalog.fetch("tiny") == tmp_path / "xdg" / "nst-helpers" / "tiny.jpg"


def test_fetch_replaces_a_corrupted_cached_file(painting, server):
    painting.mkdir(parents=True)
    (painting / "tiny.jpg").write_bytes(b"truncated")
    assert catalog.fetch("tiny").read_bytes() == server.data
    assert len(server.hits) == 1


def test_fetch_rejects_a_file_with_the_wrong_hash(painting, server, monkeypatch):
    monkeypatch.setitem(catalog.PAINTINGS, "tiny",
                        catalog.Painting("tiny.jpg", "Test Artist", "Tiny Test", "0" * 64))
    with pytest.raises(ImageError, match="'tiny'.*SHA-256"):
        catalog.fetch("tiny")
    assert len(server.hits) == 1
    assert cache_files(painting) == []  # nothing unverified is kept


def test_fetch_stops_at_the_download_cap_before_hashing(painting, server, monkeypatch):
    monkeypatch.setenv("NST_MAX_DOWNLOAD_MB", "1")
    monkeypatch.setattr(catalog, "_sha256", lambda data: pytest.fail("hashed an over-cap download"))
    monkeypatch.setenv("NST_ARTWORK_MIRROR", server.url + "big/")  # 3 MB with Content-Length
    with pytest.raises(ImageError, match=r"3 MB \(Content-Length\), above the download limit of 1 MB"):
        catalog.fetch("tiny")
    monkeypatch.setenv("NST_ARTWORK_MIRROR", server.url + "stream/")  # 13 MB, no Content-Length
    with pytest.raises(ImageError, match=r"passed the download limit of 1 MB.*NST_MAX_DOWNLOAD_MB"):
        catalog.fetch("tiny")
    assert server.stream_sent < server.stream_chunks  # it hung up instead of reading on
    assert cache_files(painting) == []


@pytest.mark.parametrize("mirror, reason", [
    ("missing/", "HTTP 404"),                       # a folder the server does not have
    ("page/", "web page"),                          # a captive portal's login page
    ("htp://example.org/art/", "unknown url type"),  # a typo in the scheme
])
def test_bad_mirror_is_could_not_download_not_a_hash_mismatch(painting, server, monkeypatch,
                                                              mirror, reason):
    url = mirror if "://" in mirror else server.url + mirror
    monkeypatch.setenv("NST_ARTWORK_MIRROR", url)
    with pytest.raises(ImageError) as err:
        catalog.fetch("tiny")
    msg = str(err.value)
    assert f"from {url}tiny.jpg" in msg and reason in msg, msg
    assert "SHA-256" not in msg and "NST_ARTWORK_MIRROR" in msg and "\n" not in msg


def test_redirect_loop_is_one_clear_line(painting, server, monkeypatch):
    monkeypatch.setenv("NST_ARTWORK_MIRROR", server.url + "loop/")
    with pytest.raises(ImageError) as err:
        catalog.fetch("tiny")
    msg = str(err.value)
    assert "\n" not in msg and "redirects loop" in msg and f"{server.url}loop/tiny.jpg" in msg
    assert len(server.hits) <= download.MAX_REDIRECTS + 1


def test_connection_closed_early_is_reported_not_hashed(painting, server, monkeypatch):
    monkeypatch.setenv("NST_ARTWORK_MIRROR", server.url + "short/")
    with pytest.raises(ImageError, match=r"closed after 100 bytes, 4900 short"):
        catalog.fetch("tiny")


def test_fetch_when_the_server_is_down_names_painting_mirror_and_styles(painting, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens here once the socket closes
    mirror = f"http://127.0.0.1:{port}/paintings"
    monkeypatch.setenv("NST_ARTWORK_MIRROR", mirror)
    with pytest.raises(ImageError) as err:
        catalog.fetch("tiny")
    msg = str(err.value)
    assert "'tiny'" in msg and f"could not download from {mirror}/tiny.jpg" in msg
    assert "NST_ARTWORK_MIRROR" in msg and "mondrian" in msg and "swirls" in msg


@pytest.mark.parametrize("as_url", [False, True])
def test_fetch_from_a_local_folder_mirror(painting, server, monkeypatch, as_url):
    monkeypatch.setenv("NST_ARTWORK_MIRROR", server.www.as_uri() if as_url else str(server.www))
    assert catalog.fetch("tiny").read_bytes() == server.data
    assert server.hits == []


def test_fetch_from_a_missing_local_folder(painting, tmp_path, monkeypatch):
    monkeypatch.setenv("NST_ARTWORK_MIRROR", str(tmp_path / "usb"))
    with pytest.raises(ImageError, match=r"could not download from .*usb/tiny\.jpg.*local folder"):
        catalog.fetch("tiny")


def test_unwritable_cache_names_the_folder_and_the_variable(painting, tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("NST_CACHE_DIR", str(blocker / "cache"))
    with pytest.raises(ImageError, match=r"cannot write the painting cache .*NST_CACHE_DIR"):
        catalog.fetch("tiny")


def test_fetch_asks_the_default_mirror_unless_told_otherwise(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(catalog, "download", lambda url: calls.append(url) or b"x")
    monkeypatch.delenv("NST_ARTWORK_MIRROR", raising=False)
    monkeypatch.setenv("NST_CACHE_DIR", str(tmp_path))
    for name in ("starry_night.jpg", "woman-with-hat-matisse"):
        with pytest.raises(ImageError, match="SHA-256"):  # b"x" is not the painting
            catalog.fetch(name)
        monkeypatch.setenv("NST_ARTWORK_MIRROR", "https://example.org/art")  # read at call time
    assert calls == [catalog.ARTWORK_MIRROR + "starry_night.jpg",
                     "https://example.org/art/woman-with-hat-matisse.jpg"]


def test_fetch_unknown_painting_suggests_and_lists_the_known_ones():
    with pytest.raises(ImageNotFoundError, match="did you mean 'the_scream'.*starry_night"):
        catalog.fetch("the_screem")
