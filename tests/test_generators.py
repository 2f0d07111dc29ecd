"""Tests for helpers/generators.py: each procedural style image shows the property it is drawn for."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from helpers import catalog, generators
from helpers.errors import ImageError

ABSTRACT = {"mondrian", "swirls", "stained_glass", "op_art"}  # int size -> square canvas
PHOTO_BASED = {"low_poly", "pointillism"}                    # int size -> long side, photo aspect


def pixels(img: Image.Image) -> np.ndarray:
    return np.asarray(img).reshape(-1, 3)


# --------------------------------------------------------------------------- every generator

def test_every_style_is_classified_and_documented():
    assert set(generators.STYLES) == ABSTRACT | PHOTO_BASED
    for fn in generators.STYLES.values():
        assert fn.__doc__ and len(fn.__doc__.strip().splitlines()[0]) > 20


@pytest.mark.parametrize("name", sorted(generators.STYLES))
def test_same_seed_same_bytes_other_seed_other_image(name):
    fn = generators.STYLES[name]
    a, b, c = fn(96, seed=3), fn(96, seed=3), fn(96, seed=4)
    assert a.mode == "RGB"
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


@pytest.mark.parametrize("name", sorted(generators.STYLES))
def test_size_int_is_long_side_and_pair_is_exact(name):
    fn = generators.STYLES[name]
    img = fn(100)
    assert max(img.size) == 100
    if name in ABSTRACT:
        assert img.size == (100, 100)
    else:  # the default photo's aspect ratio is kept
        photo = Image.open(catalog.path(fn.__kwdefaults__["photo"]))
        assert abs(img.width / img.height - photo.width / photo.height) < 0.02
    for wh in [(120, 72), (64, 100)]:
        assert fn(wh).size == wh


@pytest.mark.parametrize("bad", [0, -5, 2.5, "big", (10,), (10, 0), True])
def test_bad_size_is_an_image_error_naming_it(bad):
    with pytest.raises(ImageError, match="size="):
        generators.mondrian(bad)


@pytest.mark.parametrize("fn, option, match", [
    ("mondrian", dict(depth=-1), "depth=-1"),
    ("mondrian", dict(line_width=0), "line_width=0"),
    ("low_poly", dict(edge_bias=1.5), "edge_bias=1.5"),
    ("swirls", dict(density=0), "density"),
    ("pointillism", dict(radius=0), "radius"),
    ("stained_glass", dict(cells=0), "cells=0"),
    ("op_art", dict(stripes=0), "stripes=0"),
])
def test_bad_option_is_an_image_error_naming_it(fn, option, match):
    with pytest.raises(ImageError, match=match):
        generators.STYLES[fn](32, **option)


# --------------------------------------------------------------------------- each property

def test_low_poly_is_flat_triangles_in_the_photo_colours():
    photo = generators._photo("chelsea", 200)
    coarse = generators.low_poly(200, photo=photo, points=150)
    fine = generators.low_poly(200, photo=photo, points=1500)
    a = np.asarray(coarse)
    # flat colour: most pixels equal their right-hand neighbour (triangle edges are the exception)
    assert (a[:, 1:] == a[:, :-1]).all(-1).mean() > 0.8  # measured 0.85; the photo: 0.03
    # at most one colour per triangle (~2 triangles per vertex, plus the border points)
    assert len(np.unique(pixels(coarse), axis=0)) < 2 * (150 + 40)
    # each triangle is the mean of the photo under it: close to the photo, closer with more points
    err = [np.abs(np.asarray(im, float) - np.asarray(photo, float)).mean() for im in (coarse, fine)]
    assert err[1] < err[0] < 30


def test_mondrian_uses_only_its_palette():
    palette = {tuple(c) for c in generators.MONDRIAN_PALETTE}
    for seed, size in [(0, 512), (1, (300, 180)), (7, 64)]:
        img = generators.mondrian(size, seed=seed)
        used = {tuple(c) for c in np.unique(pixels(img), axis=0)}
        assert used <= palette, used - palette
        black = (pixels(img) == generators.MONDRIAN_PALETTE[4]).all(1).mean()
        assert 0.01 < black < 0.5  # thick lines, but mostly cells


def _box(x: np.ndarray, r: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, by summed-area table (no scipy)."""
    c = np.cumsum(np.cumsum(np.pad(x, ((r + 1, r), (r + 1, r)), mode="edge"), 0), 1)
    k = 2 * r + 1
    return (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / k**2


def _stroke_orientation(img: Image.Image, r: int = 6) -> np.ndarray:
    """Dominant local line direction (radians, mod pi) from the smoothed structure tensor."""
    gy, gx = np.gradient(generators._luma(np.asarray(img)))
    jxx, jyy, jxy = _box(gx * gx, r), _box(gy * gy, r), _box(gx * gy, r)
    return 0.5 * np.arctan2(2 * jxy, jxx - jyy) + np.pi / 2  # strokes run across the gradient


@pytest.mark.parametrize("seed", [0, 1])
def test_swirls_strokes_follow_their_flow_field(seed):
    img = generators.swirls(256, seed=seed)
    ys, xs = np.mgrid[0:256, 0:256] + 0.5
    orient = _stroke_orientation(img)

    def agreement(field_seed):  # mean cos of twice the angle difference: 1 = parallel, 0 = random
        angle, _, _ = generators.swirl_field(256, field_seed)
        return np.cos(2 * (orient - angle(xs, ys))).mean()

    own, other = agreement(seed), agreement(seed + 1)
    assert own > 0.8, own      # measured 0.93-0.96
    assert own > other + 0.5   # another seed's field shares only the wind (measured 0.07-0.21)


def test_swirls_are_night_coloured_with_yellow_stars():
    a = np.asarray(generators.swirls(256), int)
    blue = (a[..., 2] > a[..., 0] + 30).mean()
    yellow = ((a[..., 0] > 180) & (a[..., 1] > 140) & (a[..., 2] < 130)).mean()
    assert blue > 0.6 and 0.005 < yellow < 0.3


def _high_frequency_energy(img: Image.Image) -> float:
    g = generators._luma(np.asarray(img))
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float((lap**2).mean())


def test_pointillism_radius_sets_the_texture_scale():
    energy = [_high_frequency_energy(generators.pointillism(256, radius=r)) for r in (2, 4, 8)]
    assert energy[0] > 1.5 * energy[1] > 2.25 * energy[2], energy
    img = generators.pointillism(256, radius=4)
    canvas = (np.abs(pixels(img).astype(int) - (246, 240, 226)).max(1) <= 2).mean()
    assert 0.02 < canvas < 0.5  # the canvas shows between the dots, but the dots dominate


@pytest.mark.parametrize("cells", [12, 40, 90])
def test_stained_glass_has_one_colour_per_cell(cells):
    img = generators.stained_glass((256, 200), seed=cells, cells=cells)
    colours = np.unique(pixels(img), axis=0)
    glass = [c for c in map(tuple, colours) if c != generators.LEAD]
    assert len(glass) == cells
    a = np.asarray(img)
    assert (a[0] == generators.LEAD).all() and (a[:, -1] == generators.LEAD).all()  # leaded frame


@pytest.mark.parametrize("stripes", [16, 24])
def test_op_art_is_two_colours_with_the_asked_stripe_frequency(stripes):
    img = generators.op_art((200, 256), seed=2, stripes=stripes)
    used = {tuple(c) for c in np.unique(pixels(img), axis=0)}
    assert used == {tuple(c) for c in generators.OP_ART_COLOURS}
    columns = generators._luma(np.asarray(img))  # (H, W)
    spectrum = np.abs(np.fft.rfft(columns - columns.mean(0), axis=0))  # per column
    assert (spectrum[1:].argmax(0) + 1 == stripes).all()
    assert not (columns == columns[:, :1]).all()  # and the columns are shifted: it waves


# --------------------------------------------------------------------------- the embedded files

def test_every_embedded_style_has_a_generator():
    assert catalog.names("style") == sorted(generators.STYLES)
    assert set(generators.ASSET_SEEDS) == set(generators.STYLES)


def test_embedded_styles_are_what_the_generators_draw():
    # Fails when a generator changed but `python scripts/make_assets.py` was not rerun.
    for name, fn in generators.STYLES.items():
        drawn = fn(512, seed=generators.ASSET_SEEDS[name])
        stored = Image.open(catalog.path(name)).convert("RGB")
        assert stored.size == drawn.size, name
        # compared at 1/4 scale, so JPEG noise on the dots and strokes does not count
        small = [np.asarray(im.reduce(4), float) for im in (drawn, stored)]
        assert np.abs(small[0] - small[1]).mean() < 3, f"{name}: run python scripts/make_assets.py"


def test_generate_all_writes_each_style_once(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "swirls.png")  # a stale file in the old format
    written = generators.generate_all(tmp_path, size=48)
    assert sorted(p.stem for p in written) == sorted(generators.STYLES)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    assert all(max(Image.open(p).size) == 48 for p in written)
