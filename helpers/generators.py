"""Procedural style images: each isolates one stylistic property a lesson can point at.

Flat colour (:func:`mondrian`), geometry (:func:`low_poly`), stroke direction (:func:`swirls`),
texture scale (:func:`pointillism`), cells and outlines (:func:`stained_glass`), periodic
high-contrast texture (:func:`op_art`). Only ``scripts/make_assets.py`` needs this module: it
draws the embedded ``assets/style`` images, which the catalogue (:mod:`helpers.catalog`) serves.

Every generator is ``fn(size=512, seed=0, **opts) -> PIL.Image`` (RGB). ``size`` is the long side
(square for the abstract ones, the photo's aspect for photo-based ones) or an exact ``(w, h)``.
Randomness comes only from ``numpy.random.default_rng(seed)``, so an image is a pure function of
its arguments: same seed, same bytes.

Why this module runs past 400 lines: it is six small drawing programs, one per style, sharing a
few helpers; each reads on its own, and splitting them into files would only scatter the styles.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from .catalog import SUFFIXES, asset_dir, path
from .errors import ImageError

Size = int | tuple[int, int]


# --------------------------------------------------------------------------- shared helpers

def _canvas(size: Size) -> tuple[int, int]:
    """(w, h) for an abstract generator: an int is a square, a pair is taken as given."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool) and size > 0:
        return int(size), int(size)
    if (isinstance(size, (tuple, list)) and len(size) == 2
            and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0
                    for s in size)):
        return int(size[0]), int(size[1])
    raise ImageError(f"size={size!r} must be a positive int (long side) or a (width, height) pair")


def _need(ok: bool, name: str, value, what: str) -> None:
    """Reject a bad generator option at the door, naming it and what it must be."""
    if not ok:
        raise ImageError(f"{name}={value!r} must be {what}")


def _photo(photo: Image.Image | str, size: Size) -> Image.Image:
    """``photo`` (PIL image or embedded name) as RGB: long side ``size``, or cropped to (w, h)."""
    if isinstance(photo, str):
        with Image.open(path(photo)) as file:
            photo = file.convert("RGB")
    img = photo.convert("RGB")
    w, h = _canvas(size)
    if isinstance(size, (int, np.integer)):  # keep the photo's aspect ratio
        scale = w / max(img.size)
        w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
        return img.resize((w, h), Image.LANCZOS)
    return ImageOps.fit(img, (w, h), Image.LANCZOS)


def _luma(a: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of an (H, W, 3) array, as float."""
    return a[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])


# --------------------------------------------------------------------------- generators

def low_poly(size: Size = 512, seed: int = 0, *, photo: Image.Image | str = "chelsea",
             points: int = 900, edge_bias: float = 0.7) -> Image.Image:
    """Geometry and flat colour: a Delaunay mesh over a photo, each triangle its mean colour.

    ``points`` vertices, a fraction ``edge_bias`` of them drawn where the photo has strong edges
    (so the mesh follows the outlines), the rest uniform. Every triangle is one flat colour.
    """
    from matplotlib.tri import Triangulation  # matplotlib is a dependency; its Delaunay is qhull

    _need(points >= 0, "points", points, ">= 0")
    _need(0 <= edge_bias <= 1, "edge_bias", edge_bias, "between 0 and 1")
    rng = np.random.default_rng(seed)
    img = np.asarray(_photo(photo, size))  # (H, W, 3)
    h, w = img.shape[:2]
    gy, gx = np.gradient(_luma(img))
    weight = np.hypot(gx, gy).ravel() + 1e-6
    n_edge = int(points * edge_bias)
    idx = rng.choice(h * w, size=n_edge, p=weight / weight.sum())
    xy = np.concatenate([
        np.stack([idx % w, idx // w], axis=1) + rng.random((n_edge, 2)),
        rng.random((points - n_edge, 2)) * [w, h],
        _border_points(w, h, spacing=max(w, h) / 8),  # the mesh must cover the whole canvas
    ])
    mesh = Triangulation(xy[:, 0], xy[:, 1])
    ys, xs = np.mgrid[0:h, 0:w] + 0.5  # pixel centres
    tri = mesh.get_trifinder()(xs.ravel(), ys.ravel())  # (H*W,) triangle of each pixel
    assert tri.min() >= 0, "the border points make the mesh cover every pixel"
    n_tri = len(mesh.triangles)
    sums = np.stack([np.bincount(tri, img[..., c].ravel(), n_tri) for c in range(3)], 1)  # (T, 3)
    means = sums / np.maximum(np.bincount(tri, minlength=n_tri), 1)[:, None]
    return Image.fromarray(np.round(means[tri]).astype(np.uint8).reshape(h, w, 3))


def _border_points(w: int, h: int, spacing: float) -> np.ndarray:
    """Points along the canvas edge (corners included), about ``spacing`` apart."""
    nx, ny = max(1, round(w / spacing)), max(1, round(h / spacing))
    xs, ys = np.linspace(0, w, nx + 1), np.linspace(0, h, ny + 1)
    edges = [np.stack([xs, np.zeros_like(xs)], 1), np.stack([xs, np.full_like(xs, h)], 1),
             np.stack([np.zeros_like(ys[1:-1]), ys[1:-1]], 1),
             np.stack([np.full_like(ys[1:-1], w), ys[1:-1]], 1)]
    return np.concatenate(edges)


#: Mondrian's colours: white, red, blue, yellow, black (the lines are the black).
MONDRIAN_PALETTE = ((242, 240, 232), (200, 30, 30), (20, 60, 150), (245, 200, 30), (20, 20, 20))
_MONDRIAN_ODDS = (0.62, 0.13, 0.11, 0.10, 0.04)  # mostly white, as in his compositions


def mondrian(size: Size = 512, seed: int = 0, *, depth: int = 4,
             line_width: int | None = None) -> Image.Image:
    """Hard edges and a five-colour palette: recursive rectangle splits with thick black lines.

    Every pixel is one of :data:`MONDRIAN_PALETTE` (no anti-aliasing), so the style is all
    composition and flat primaries -- the opposite of a brush texture.
    """
    _need(depth >= 0, "depth", depth, ">= 0")
    _need(line_width is None or line_width >= 1, "line_width", line_width, "None or >= 1")
    rng = np.random.default_rng(seed)
    w, h = _canvas(size)
    lw = line_width or max(2, round(min(w, h) / 45))
    cells, lines = [], []
    _split((0, 0, w, h), depth, rng, lw, cells, lines)
    img = Image.new("RGB", (w, h), MONDRIAN_PALETTE[0])
    draw = ImageDraw.Draw(img)
    for x0, y0, x1, y1 in cells:
        colour = MONDRIAN_PALETTE[rng.choice(len(MONDRIAN_PALETTE), p=_MONDRIAN_ODDS)]
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=colour)
    for x0, y0, x1, y1 in lines:  # lines last, so they sit on top of the cells they separate
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=MONDRIAN_PALETTE[4])
    return img


def _split(rect, depth, rng, lw, cells, lines):
    """Cut ``rect`` in two along its longer side (mostly), recurse; collect leaves and cut lines."""
    x0, y0, x1, y1 = rect
    vertical = rng.random() < (x1 - x0) / (x1 - x0 + y1 - y0)  # long cells tend to be cut across
    span = x1 - x0 if vertical else y1 - y0
    if depth == 0 or span < 12 * lw or (depth < 3 and rng.random() < 0.25):
        cells.append(rect)
        return
    c = (x0 if vertical else y0) + int(rng.uniform(0.25, 0.75) * span)  # where the cut goes
    lo, hi = c - lw // 2, c - lw // 2 + lw  # the black line over the cut
    if vertical:
        parts, line = [(x0, y0, c, y1), (c, y0, x1, y1)], (lo, y0, hi, y1)
    else:
        parts, line = [(x0, y0, x1, c), (x0, c, x1, y1)], (x0, lo, x1, hi)
    lines.append(line)
    for part in parts:
        _split(part, depth - 1, rng, lw, cells, lines)


def swirl_field(size: Size = 512, seed: int = 0, *, vortices: int = 3, stars: int = 6):
    """The flow field :func:`swirls` paints along: ``angle(x, y)`` in radians, plus the stars.

    A wavy wind blowing right, ``vortices`` big swirls and ``stars`` small ones, each a
    Lamb-Oseen-like vortex (solid rotation inside its core radius r, 1/r decay outside).
    Returns ``(angle, swirls, stars)``: ``angle`` maps pixel coordinate arrays to the direction
    of flow; ``swirls`` and ``stars`` are lists of ``(cx, cy, r)``.
    """
    rng = np.random.default_rng(seed)
    w, h = _canvas(size)
    s = min(w, h)
    n = vortices + stars
    centres = rng.random((n, 2)) * [w, h * 0.75]  # it is a sky: nothing spins near the ground
    radii = np.concatenate([rng.uniform(0.12, 0.22, vortices), rng.uniform(0.03, 0.06, stars)]) * s
    # stars spin fast enough to beat the wind (closed rings); big swirls only bend it
    spin = rng.choice([-1.0, 1.0], n, p=[0.3, 0.7]) * np.concatenate(
        [rng.uniform(1.5, 2.5, vortices), rng.uniform(4.0, 6.0, stars)])
    wave_k, wave_phase = rng.uniform(2, 4) * 2 * np.pi / h, rng.uniform(0, 2 * np.pi)

    def angle(x, y):
        x, y = np.asarray(x, float), np.asarray(y, float)
        vx = np.ones_like(x)  # the wind
        vy = 0.35 * np.sin(wave_k * y + x * 2 * np.pi / w + wave_phase)
        for (cx, cy), r, k in zip(centres, radii, spin):
            dx, dy = x - cx, y - cy
            d2 = dx * dx + dy * dy
            g = k * r * (1 - np.exp(-d2 / r**2)) / (d2 + 1e-9)  # swirl speed / distance
            vx, vy = vx - g * dy, vy + g * dx
        return np.arctan2(vy, vx)

    circles = [(cx, cy, r) for (cx, cy), r in zip(centres, radii)]
    return angle, circles[:vortices], circles[vortices:]


#: Night sky after van Gogh: deep blues for the sky, yellows for stars and moon.
NIGHT_BLUES = ((14, 28, 70), (22, 50, 110), (38, 80, 150), (70, 115, 180), (120, 160, 205),
               (175, 200, 220))
NIGHT_YELLOWS = ((250, 215, 90), (240, 190, 60), (255, 240, 170), (220, 170, 60))


def swirls(size: Size = 512, seed: int = 0, *, vortices: int = 3, stars: int = 6,
           stroke_length: float = 28, stroke_width: float = 4, density: float = 2.5) -> Image.Image:
    """Stroke direction: short curved brush strokes that follow a swirling flow field.

    The strokes trace :func:`swirl_field` (so their orientation *is* the style -- a Gram matrix of
    early VGG layers captures it); colours come from a night palette: yellow halos round the
    stars, pale rings round the big swirls. ``density``: how often strokes cover each pixel.
    """
    _need(min(vortices, stars) >= 0, "vortices/stars", (vortices, stars), ">= 0")
    _need(min(stroke_length, stroke_width, density) > 0, "stroke_length/stroke_width/density",
          (stroke_length, stroke_width, density), "> 0")
    rng = np.random.default_rng(seed)
    w, h = _canvas(size)
    angle, big, small = swirl_field((w, h), seed, vortices=vortices, stars=stars)
    ss = 2  # draw at 2x and downsample: anti-aliased strokes look painted, not pixelated
    n = int(density * w * h / (stroke_length * stroke_width))
    steps = max(3, int(stroke_length / 4))
    trail = [rng.random((n, 2)) * [w, h]]
    for _ in range(steps):  # integrate all strokes at once along the field
        a = angle(trail[-1][:, 0], trail[-1][:, 1])
        trail.append(trail[-1] + (stroke_length / steps) * np.stack([np.cos(a), np.sin(a)], 1))
    trail = np.stack(trail, 1)  # (n, steps + 1, 2)
    colours = _night_colours(trail[:, steps // 2], big, small, h, rng)
    widths = np.maximum(1, np.round(ss * stroke_width * rng.uniform(0.7, 1.3, n))).astype(int)
    img = Image.new("RGB", (w * ss, h * ss), NIGHT_BLUES[0])
    draw = ImageDraw.Draw(img)
    for line, colour, lw in zip(trail * ss, colours, widths):
        draw.line(list(map(tuple, line)), fill=tuple(colour), width=int(lw), joint="curve")
    return img.resize((w, h), Image.LANCZOS)


def _night_colours(pos, big, small, h, rng):
    """A colour per stroke (at its middle ``pos``): blues, paler on swirl rings, yellow at stars."""
    blues, yellows = np.array(NIGHT_BLUES), np.array(NIGHT_YELLOWS)
    light = 2.0 + 1.5 * (1 - pos[:, 1] / h)  # lighter towards the top of the sky
    for cx, cy, r in big:  # a pale band along each swirl's rim, as in the Starry Night's spiral
        rim = np.hypot(pos[:, 0] - cx, pos[:, 1] - cy) / r
        light += 2.0 * np.exp(-((rim - 1.0) / 0.25) ** 2)
    pick = np.clip(rng.normal(light, 0.9), 0, len(blues) - 1).round().astype(int)
    colours = blues[pick].astype(float)
    for cx, cy, r in small:
        glow = np.hypot(pos[:, 0] - cx, pos[:, 1] - cy) / (1.6 * r)  # halo reaches past the core
        lit = rng.random(len(pos)) < np.clip(1.4 - glow, 0, 1)
        colours[lit] = yellows[rng.integers(0, len(yellows), lit.sum())]
    colours += rng.normal(0, 8, colours.shape)  # no two strokes quite the same paint
    return np.clip(colours, 0, 255).astype(int)


def pointillism(size: Size = 512, seed: int = 0, *, photo: Image.Image | str = "coffee",
                radius: float = 3, coverage: float = 1.6, jitter: float = 20,
                canvas: tuple[int, int, int] = (246, 240, 226)) -> Image.Image:
    """Texture scale: round dots of one fixed ``radius`` (pixels), coloured from a photo.

    Dots land at random with ``coverage`` times the canvas area in total, so some canvas shows
    through; each dot takes the photo's colour at its centre plus random ``jitter`` (Seurat mixed
    colours in the eye, not on the palette). Bigger ``radius`` -> coarser texture.
    """
    _need(radius > 0 and coverage > 0 and jitter >= 0, "radius/coverage/jitter",
          (radius, coverage, jitter), "> 0, > 0 and >= 0")
    rng = np.random.default_rng(seed)
    img = _photo(photo, size)
    w, h = img.size
    src = np.asarray(ImageEnhance.Color(img).enhance(1.5), dtype=float)  # dots read brighter
    n = int(coverage * w * h / (math.pi * radius**2))
    xy = rng.random((n, 2)) * [w, h]
    colours = src[xy[:, 1].astype(int), xy[:, 0].astype(int)] + rng.normal(0, jitter, (n, 3))
    colours = np.clip(colours, 0, 255).astype(int)
    ss = 2  # draw at 2x and downsample, so small dots come out round, not diamond-shaped
    out = Image.new("RGB", (w * ss, h * ss), canvas)
    draw = ImageDraw.Draw(out)
    r = ss * radius
    for (x, y), c in zip(xy * ss, colours):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(c))
    return out.resize((w, h), Image.LANCZOS)


#: Glass colours: ruby, garnet, amber, topaz, emerald, jade, turquoise, sapphire, cobalt, amethyst.
JEWELS = ((155, 17, 30), (120, 20, 60), (230, 140, 20), (245, 195, 60), (10, 120, 70),
          (60, 150, 90), (20, 140, 160), (20, 70, 170), (30, 40, 120), (110, 50, 150))
LEAD = (28, 26, 24)


def stained_glass(size: Size = 512, seed: int = 0, *, cells: int = 60,
                  lead: float | None = None) -> Image.Image:
    """Cells and outlines: Voronoi cells of flat jewel colour separated by dark lead lines.

    ``cells`` seeds, spread out by two rounds of Lloyd relaxation; each cell gets its own colour
    (distinct in every pixel value) and lines ``lead`` pixels wide run along the cell borders.
    """
    _need(cells >= 1, "cells", cells, ">= 1")
    _need(lead is None or lead > 0, "lead", lead, "None or > 0")
    rng = np.random.default_rng(seed)
    w, h = _canvas(size)
    lead = lead or max(2.0, min(w, h) / 110)
    sites = rng.random((cells, 2)) * [w, h]
    for _ in range(2):  # Lloyd: move each seed to its cell's centroid (on a coarse grid)
        sites = _lloyd_step(sites, w, h)
    label, border = _voronoi(sites, w, h)
    palette = _distinct_colours(cells, rng)
    out = palette[label]
    out[border < lead / 2] = LEAD
    frame = max(1, round(lead))  # the lead came around the whole window too
    out[:frame], out[-frame:], out[:, :frame], out[:, -frame:] = LEAD, LEAD, LEAD, LEAD
    return Image.fromarray(out.astype(np.uint8))


def _voronoi(sites: np.ndarray, w: int, h: int, chunk: int = 1 << 21):
    """Per pixel: nearest site (H, W) and distance to the bisector with the 2nd nearest (H, W)."""
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    p = np.stack([xs.ravel(), ys.ravel()], 1)  # (H*W, 2)
    label, border = np.empty(len(p), int), np.empty(len(p))
    rows = max(1, chunk // len(sites))  # chunked: (rows, K) distances stay a few MB
    for i in range(0, len(p), rows):
        q = p[i:i + rows]
        # |q - s|^2 expanded: one matrix product instead of a (rows, K, 2) temporary
        d2 = (q * q).sum(1)[:, None] - 2 * q @ sites.T + (sites * sites).sum(1)[None]  # (rows, K)
        if len(sites) == 1:  # one cell: no border anywhere
            two = np.zeros((len(d2), 2), int)
        else:
            two = np.argpartition(d2, 1, axis=1)[:, :2]  # the two nearest, unordered
        d_two = np.take_along_axis(d2, two, 1)
        order = np.argsort(d_two, 1)
        a, b = np.take_along_axis(two, order, 1).T
        da, db = np.take_along_axis(d_two, order, 1).T
        label[i:i + rows] = a
        gap = np.linalg.norm(sites[a] - sites[b], axis=1)
        # exact distance to the bisector of sites a and b: (db - da) / (2 |a - b|)
        border[i:i + rows] = np.where(gap > 0, (db - da) / (2 * gap + 1e-12), np.inf)
    return label.reshape(h, w), border.reshape(h, w)


def _lloyd_step(sites, w, h, step=4):
    """Move each site to the centroid of its Voronoi cell, measured on a grid ``step`` px apart."""
    gw, gh = max(1, w // step), max(1, h // step)
    label, _ = _voronoi(sites / [w / gw, h / gh], gw, gh)
    ys, xs = np.mgrid[0:gh, 0:gw] + 0.5
    count = np.bincount(label.ravel(), minlength=len(sites))
    cx = np.bincount(label.ravel(), xs.ravel(), len(sites)) / np.maximum(count, 1) * w / gw
    cy = np.bincount(label.ravel(), ys.ravel(), len(sites)) / np.maximum(count, 1) * h / gh
    return np.where(count[:, None] > 0, np.stack([cx, cy], 1), sites)


def _distinct_colours(n: int, rng) -> np.ndarray:
    """``n`` jewel colours, shaded at random, all different from each other and from the lead."""
    base = np.array(JEWELS, float)[rng.integers(0, len(JEWELS), n)]
    colours = np.clip(base * rng.uniform(0.75, 1.2, (n, 1)), 0, 255).astype(int)
    while True:  # nudge duplicates until every cell has its own colour
        _, first = np.unique(colours, axis=0, return_index=True)
        dup = np.setdiff1d(np.arange(n), first)
        dup = np.union1d(dup, np.flatnonzero((colours == LEAD).all(1)))
        if len(dup) == 0:
            return colours
        colours[dup] = np.clip(colours[dup] + rng.integers(-6, 7, (len(dup), 3)), 0, 255)


#: Op art's two colours.
OP_ART_COLOURS = ((12, 12, 12), (245, 245, 240))


def op_art(size: Size = 512, seed: int = 0, *, stripes: int = 24,
           amplitude: float = 0.06) -> Image.Image:
    """High-contrast periodic texture: black and white waves after Bridget Riley's *Current*.

    Every column is the same square wave -- exactly ``stripes`` black/white pairs from top to
    bottom -- shifted by a wave whose amplitude (``amplitude`` x height at most) and frequency
    grow from left to right, which is what makes the flat stripes seem to move. Two colours only.
    """
    _need(stripes >= 1, "stripes", stripes, ">= 1")
    _need(amplitude >= 0, "amplitude", amplitude, ">= 0")
    rng = np.random.default_rng(seed)
    w, h = _canvas(size)
    x = (np.arange(w) + 0.5) / w  # 0..1 across
    f0, f1 = rng.uniform(1.5, 3.0), rng.uniform(5.0, 9.0)  # waves per width, left and right
    phase = 2 * np.pi * (f0 * x + (f1 - f0) * x**2 / 2) + rng.uniform(0, 2 * np.pi)  # a chirp
    envelope = amplitude * h * (0.15 + 0.85 * x ** rng.uniform(0.7, 1.5))
    shift = envelope * np.sin(phase)  # (W,) vertical offset of each column's stripes
    y = np.arange(h)[:, None] + 0.5
    black = np.sin(2 * np.pi * stripes * (y + shift[None, :]) / h) > 0  # (H, W)
    dark, light = np.array(OP_ART_COLOURS, np.uint8)
    return Image.fromarray(np.where(black[..., None], dark, light))


#: Embedded style generators, name -> fn(size=512, seed=0, **opts) -> PIL.Image.
STYLES: dict[str, Callable[..., Image.Image]] = {
    "low_poly": low_poly, "mondrian": mondrian, "op_art": op_art, "pointillism": pointillism,
    "stained_glass": stained_glass, "swirls": swirls,
}
#: Seed of each embedded style image: 0, unless another seed simply looked better.
ASSET_SEEDS: dict[str, int] = {name: 0 for name in STYLES} | {"swirls": 1}
# Soft, many-coloured images compress better as JPEG; flat-colour ones stay exact as PNG.
_STYLE_SUFFIX = {"swirls": ".jpg", "pointillism": ".jpg"}


def generate_all(out_dir: str | Path | None = None, size: int = 512) -> list[Path]:
    """Draw every :data:`STYLES` image (seed from :data:`ASSET_SEEDS`) into ``out_dir``.

    ``out_dir`` defaults to the assets' ``style/`` folder; returns the files written.
    """
    out = Path(out_dir) if out_dir is not None else asset_dir() / "style"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fn in STYLES.items():
        suffix = _STYLE_SUFFIX.get(name, ".png")
        for stale in SUFFIXES:  # a style that changed format must not leave its old file behind
            (out / f"{name}{stale}").unlink(missing_ok=True)
        target = out / f"{name}{suffix}"
        options = {"quality": 90} if suffix == ".jpg" else {"optimize": True}
        fn(size, seed=ASSET_SEEDS[name]).save(target, **options)
        written.append(target)
    return written
