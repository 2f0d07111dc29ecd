"""Tests for helpers/artworks.py: style generators, embedded assets, painting downloads offline."""
from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import artworks
from helpers.images import ImageError

ABSTRACT = {"mondrian", "swirls", "stained_glass", "op_art"}  # int size -> square canvas
PHOTO_BASED = {"low_poly", "pointillism"}                    # int size -> long side, photo aspect


def pixels(img: Image.Image) -> np.ndarray:
    return np.asarray(img).reshape(-1, 3)


# --------------------------------------------------------------------------- every generator

def test_every_style_is_classified_and_documented():
    assert set(artworks.STYLES) == ABSTRACT | PHOTO_BASED
    for fn in artworks.STYLES.values():
        assert fn.__doc__ and len(fn.__doc__.strip().splitlines()[0]) > 20


@pytest.mark.parametrize("name", sorted(artworks.STYLES))
def test_same_seed_same_bytes_other_seed_other_image(name):
    fn = artworks.STYLES[name]
    a, b, c = fn(96, seed=3), fn(96, seed=3), fn(96, seed=4)
    assert a.mode == "RGB"
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


@pytest.mark.parametrize("name", sorted(artworks.STYLES))
def test_size_int_is_long_side_and_pair_is_exact(name):
    fn = artworks.STYLES[name]
    img = fn(100)
    assert max(img.size) == 100
    if name in ABSTRACT:
        assert img.size == (100, 100)
    else:  # the default photo's aspect ratio is kept
        photo = Image.open(artworks.path(fn.__kwdefaults__["photo"]))
        assert abs(img.width / img.height - photo.width / photo.height) < 0.02
    for wh in [(120, 72), (64, 100)]:
        assert fn(wh).size == wh


@pytest.mark.parametrize("bad", [0, -5, 2.5, "big", (10,), (10, 0), True])
def test_bad_size_is_an_image_error_naming_it(bad):
    with pytest.raises(ImageError, match="size="):
        artworks.mondrian(bad)


# --------------------------------------------------------------------------- each property

def test_low_poly_is_flat_triangles_in_the_photo_colours():
    photo = artworks._photo("chelsea", 200)
    coarse = artworks.low_poly(200, photo=photo, points=150)
    fine = artworks.low_poly(200, photo=photo, points=1500)
    a = np.asarray(coarse)
    # flat colour: most pixels equal their right-hand neighbour (triangle edges are the exception)
    assert (a[:, 1:] == a[:, :-1]).all(-1).mean() > 0.8  # measured 0.85; the photo: 0.03
    # at most one colour per triangle (~2 triangles per vertex, plus the border points)
    assert len(np.unique(pixels(coarse), axis=0)) < 2 * (150 + 40)
    # each triangle is the mean of the photo under it: close to the photo, closer with more points
    err = [np.abs(np.asarray(im, float) - np.asarray(photo, float)).mean() for im in (coarse, fine)]
    assert err[1] < err[0] < 30


def test_mondrian_uses_only_its_palette():
    palette = {tuple(c) for c in artworks.MONDRIAN_PALETTE}
    for seed, size in [(0, 512), (1, (300, 180)), (7, 64)]:
        img = artworks.mondrian(size, seed=seed)
        used = {tuple(c) for c in np.unique(pixels(img), axis=0)}
        assert used <= palette, used - palette
        black = (pixels(img) == artworks.MONDRIAN_PALETTE[4]).all(1).mean()
        assert 0.01 < black < 0.5  # thick lines, but mostly cells


def _box(x: np.ndarray, r: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, by summed-area table (no scipy)."""
    c = np.cumsum(np.cumsum(np.pad(x, ((r + 1, r), (r + 1, r)), mode="edge"), 0), 1)
    k = 2 * r + 1
    return (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / k**2


def _stroke_orientation(img: Image.Image, r: int = 6) -> np.ndarray:
    """Dominant local line direction (radians, mod pi) from the smoothed structure tensor."""
    gy, gx = np.gradient(artworks._luma(np.asarray(img)))
    jxx, jyy, jxy = _box(gx * gx, r), _box(gy * gy, r), _box(gx * gy, r)
    return 0.5 * np.arctan2(2 * jxy, jxx - jyy) + np.pi / 2  # strokes run across the gradient


@pytest.mark.parametrize("seed", [0, 1])
def test_swirls_strokes_follow_their_flow_field(seed):
    img = artworks.swirls(256, seed=seed)
    ys, xs = np.mgrid[0:256, 0:256] + 0.5
    orient = _stroke_orientation(img)

    def agreement(field_seed):  # mean cos of twice the angle difference: 1 = parallel, 0 = random
        angle, _, _ = artworks.swirl_field(256, field_seed)
        return np.cos(2 * (orient - angle(xs, ys))).mean()

    own, other = agreement(seed), agreement(seed + 1)
    assert own > 0.8, own      # measured 0.93-0.96
    assert own > other + 0.5   # another seed's field shares only the wind (measured 0.07-0.21)


def test_swirls_are_night_coloured_with_yellow_stars():
    a = np.asarray(artworks.swirls(256), int)
    blue = (a[..., 2] > a[..., 0] + 30).mean()
    yellow = ((a[..., 0] > 180) & (a[..., 1] > 140) & (a[..., 2] < 130)).mean()
    assert blue > 0.6 and 0.005 < yellow < 0.3


def _high_frequency_energy(img: Image.Image) -> float:
    g = artworks._luma(np.asarray(img))
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float((lap**2).mean())


def test_pointillism_radius_sets_the_texture_scale():
    energy = [_high_frequency_energy(artworks.pointillism(256, radius=r)) for r in (2, 4, 8)]
    assert energy[0] > 1.5 * energy[1] > 2.25 * energy[2], energy
    img = artworks.pointillism(256, radius=4)
    canvas = (np.abs(pixels(img).astype(int) - (246, 240, 226)).max(1) <= 2).mean()
    assert 0.02 < canvas < 0.5  # the canvas shows between the dots, but the dots dominate


@pytest.mark.parametrize("cells", [12, 40, 90])
def test_stained_glass_has_one_colour_per_cell(cells):
    img = artworks.stained_glass((256, 200), seed=cells, cells=cells)
    colours = np.unique(pixels(img), axis=0)
    glass = [c for c in map(tuple, colours) if c != artworks.LEAD]
    assert len(glass) == cells
    a = np.asarray(img)
    assert (a[0] == artworks.LEAD).all() and (a[:, -1] == artworks.LEAD).all()  # leaded frame


@pytest.mark.parametrize("stripes", [16, 24])
def test_op_art_is_two_colours_with_the_asked_stripe_frequency(stripes):
    img = artworks.op_art((200, 256), seed=2, stripes=stripes)
    used = {tuple(c) for c in np.unique(pixels(img), axis=0)}
    assert used == {tuple(c) for c in artworks.OP_ART_COLOURS}
    columns = artworks._luma(np.asarray(img))  # (H, W)
    spectrum = np.abs(np.fft.rfft(columns - columns.mean(0), axis=0))  # per column
    assert (spectrum[1:].argmax(0) + 1 == stripes).all()
    assert not (columns == columns[:, :1]).all()  # and the columns are shifted: it waves


# --------------------------------------------------------------------------- embedded assets

def test_names_match_the_tables():
    assert artworks.names("content") == sorted(artworks.CONTENT)
    assert artworks.names("style") == sorted(artworks.STYLES)
    assert artworks.names() == sorted([*artworks.CONTENT, *artworks.STYLES])
    with pytest.raises(ImageError, match="content"):
        artworks.names("paintings")


def test_path_finds_every_name_with_or_without_suffix():
    for name in artworks.names():
        p = artworks.path(name)
        assert p.is_file() and p.stem == name
        assert artworks.path(p.name) == p
    with pytest.raises(ImageError, match="mondrian") as err:
        artworks.path("monet")
    assert "chelsea" in str(err.value) and "monet" in str(err.value)


def test_asset_files_are_small_and_well_formed():
    for name in artworks.names():
        p = artworks.path(name)
        assert p.stat().st_size <= 600_000, p
        img = Image.open(p)
        assert img.mode == "RGB", p
        if name in artworks.CONTENT:
            assert p.suffix == ".jpg" and max(img.size) <= 1024
        else:
            assert max(img.size) == 512


def test_embedded_styles_are_what_the_generators_draw():
    # Fails when a generator changed but `python scripts/make_assets.py` was not rerun.
    for name, fn in artworks.STYLES.items():
        drawn = fn(512, seed=artworks.ASSET_SEEDS[name])
        stored = Image.open(artworks.path(name)).convert("RGB")
        assert stored.size == drawn.size, name
        # compared at 1/4 scale, so JPEG noise on the dots and strokes does not count
        small = [np.asarray(im.reduce(4), float) for im in (drawn, stored)]
        assert np.abs(small[0] - small[1]).mean() < 3, f"{name}: run python scripts/make_assets.py"


def test_credits_name_every_file_and_painting():
    credits = (artworks.asset_dir() / "CREDITS.md").read_text()
    for name in artworks.names():
        p = artworks.path(name)
        assert f"{p.parent.name}/{p.name}" in credits
    for name, credit in artworks.CONTENT.items():
        assert credit.licence in credits and credit.author in credits
    for painting in artworks.PAINTINGS.values():
        assert painting.file in credits and painting.title in credits
    assert "MIT" in credits and "Public domain" in credits


def test_nst_assets_overrides_the_folder(tmp_path, monkeypatch):
    (tmp_path / "style").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "style" / "tiny.png")
    monkeypatch.setenv("NST_ASSETS", str(tmp_path))
    assert artworks.asset_dir() == tmp_path
    assert artworks.names() == ["tiny"] and artworks.names("content") == []
    assert artworks.path("tiny") == tmp_path / "style" / "tiny.png"


def test_asset_dir_without_env_is_the_repo_folder(monkeypatch):
    monkeypatch.delenv("NST_ASSETS", raising=False)
    here = Path(artworks.__file__).resolve().parent
    assert artworks.asset_dir() in (here / "assets", here.parent / "assets")
    assert (artworks.asset_dir() / "content").is_dir()


def test_generate_all_writes_each_style_once(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "swirls.png")  # a stale file in the old format
    written = artworks.generate_all(tmp_path, size=48)
    assert sorted(p.stem for p in written) == sorted(artworks.STYLES)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    assert all(max(Image.open(p).size) == 48 for p in written)


def test_resolve_embedded_and_unknown():
    assert artworks.resolve("mondrian") == artworks.path("mondrian")
    assert artworks.resolve("chelsea.jpg") == artworks.path("chelsea")
    assert artworks.resolve("no_such_image") is None
    assert artworks.resolve("some/photo.jpg") is None


# --------------------------------------------------------------------------- painting downloads

class _CountingHandler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        self.server.hits.append(self.path)
        super().do_GET()

    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over tmp_path/www holding tiny.jpg; yields (base URL, hits, bytes)."""
    www = tmp_path / "www"
    www.mkdir()
    artworks.op_art(32).save(www / "tiny.jpg", quality=90)
    handler = functools.partial(_CountingHandler, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.hits = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    yield url, httpd.hits, (www / "tiny.jpg").read_bytes()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def painting(server, tmp_path, monkeypatch):
    """PAINTINGS gains 'tiny' (served by `server`); mirror and cache point at the test's folders."""
    url, hits, data = server
    sha = hashlib.sha256(data).hexdigest()
    monkeypatch.setitem(artworks.PAINTINGS, "tiny",
                        artworks.Painting("tiny.jpg", "Test Artist", "Tiny Test", sha))
    monkeypatch.setenv("NST_ARTWORK_MIRROR", url)
    monkeypatch.setenv("NST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return hits, data, tmp_path / "cache"


def test_fetch_downloads_once_then_uses_the_cache(painting):
    hits, data, cache = painting
    p = artworks.fetch("tiny")
    assert p == cache / "tiny.jpg" and p.read_bytes() == data
    assert hits == ["/tiny.jpg"]
    assert artworks.fetch("tiny.jpg") == p and artworks.resolve("tiny") == p
    assert len(hits) == 1  # served from the cache, not the server


def test_fetch_honours_xdg_cache_home(painting, tmp_path, monkeypatch):
    if not sys.platform.startswith("linux"):
        pytest.skip("XDG_CACHE_HOME is the Linux convention (platformdirs)")
    monkeypatch.delenv("NST_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert artworks.cache_dir() == tmp_path / "xdg" / "nst-helpers"
    assert artworks.fetch("tiny") == tmp_path / "xdg" / "nst-helpers" / "tiny.jpg"


def test_fetch_replaces_a_corrupted_cached_file(painting):
    hits, data, cache = painting
    cache.mkdir(parents=True)
    (cache / "tiny.jpg").write_bytes(b"truncated")
    assert artworks.fetch("tiny").read_bytes() == data
    assert len(hits) == 1


def test_fetch_rejects_a_file_with_the_wrong_hash(painting, monkeypatch):
    hits, data, cache = painting
    monkeypatch.setitem(artworks.PAINTINGS, "tiny",
                        artworks.Painting("tiny.jpg", "Test Artist", "Tiny Test", "0" * 64))
    with pytest.raises(ImageError, match="'tiny'.*SHA-256"):
        artworks.fetch("tiny")
    assert len(hits) == 1
    assert not cache.exists() or list(cache.iterdir()) == []  # nothing unverified is kept


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_fetch_when_the_server_is_down_names_painting_mirror_and_styles(painting, monkeypatch):
    mirror = f"http://127.0.0.1:{_closed_port()}/paintings"
    monkeypatch.setenv("NST_ARTWORK_MIRROR", mirror)
    with pytest.raises(ImageError) as err:
        artworks.fetch("tiny")
    msg = str(err.value)
    assert "'tiny'" in msg and f"{mirror}/tiny.jpg" in msg
    assert "NST_ARTWORK_MIRROR" in msg and "mondrian" in msg and "swirls" in msg


def test_fetch_http_error_is_an_image_error(painting, monkeypatch, server):
    monkeypatch.setenv("NST_ARTWORK_MIRROR", server[0] + "missing/")
    with pytest.raises(ImageError, match="HTTPError.*NST_ARTWORK_MIRROR"):
        artworks.fetch("tiny")
    assert server[1] == ["/missing/tiny.jpg"]


def test_fetch_asks_the_default_mirror_with_the_pinned_hash(monkeypatch, tmp_path):
    import pooch

    calls = []
    monkeypatch.setattr(pooch, "retrieve", lambda url, **kw: calls.append((url, kw)) or "x.jpg")
    monkeypatch.delenv("NST_ARTWORK_MIRROR", raising=False)
    monkeypatch.setenv("NST_CACHE_DIR", str(tmp_path))
    artworks.fetch("starry_night.jpg")
    monkeypatch.setenv("NST_ARTWORK_MIRROR", "https://example.org/art")  # read at call time
    artworks.fetch("woman-with-hat-matisse")
    (url0, kw0), (url1, kw1) = calls
    assert url0 == artworks.ARTWORK_MIRROR + "starry_night.jpg"
    assert kw0 == {"known_hash": "sha256:" + artworks.PAINTINGS["starry_night"].sha256,
                   "fname": "starry_night.jpg", "path": tmp_path}
    assert url1 == "https://example.org/art/woman-with-hat-matisse.jpg"
    assert pooch.get_logger().level == 30  # WARNING: no download chatter


def test_fetch_unknown_painting_lists_the_known_ones():
    with pytest.raises(ImageError, match="starry_night.*the_scream"):
        artworks.fetch("mona_lisa")
