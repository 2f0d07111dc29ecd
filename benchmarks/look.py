"""The look grid: style weight x start, per size, on several photo x style pairs, measured and shown.

    python benchmarks/look.py [--px 256 512] [--betas 5 10 20] [--inits content noise]
                              [--pairs chelsea:swirls astronaut:stained_glass grace_hopper:pointillism]
                              [--steps 100 50] [--layer-weights relu1_1=... ...] [--precondition P]
                              [--out DIR]

Each run is ``stylize`` with the defaults except the style weight (beta) and the start, coarse to
fine as the command line runs it: half the size, then the full size (``--steps`` per stage).
Two referee measures from :mod:`helpers.measures` (Gatys' losses on the Caffe VGG19), both
size-free: *style left* = the result's style distance / the photo's own (the style image resized
to the result; lower = more style), *photo lost* = the result's relu4_2 feature distance to the
photo / the style image's own (lower = more of the photo kept). Goals for the defaults: at 512 px
style left <= 0.1 with photo lost <= 0.45; at 256 px photo lost <= 0.5.
Writes one PNG per size (a row per pair: photo, style, then one tile per beta x start, the two
numbers under each) into ``--out``, to be looked at.
"""
from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

import helpers as nst
from helpers.__main__ import _layer_weight  # the command line's LAYER=W parser
from helpers.images import to_pil
from helpers.measures import photo_lost, style_left

TILE = 256  # each picture's long side on the sheet


def sheet(rows: list, path: Path, title: str) -> None:
    """rows: [(label, photo, style, [(caption, image), ...])] -> one PNG, a row per pair."""
    tiles = [[("photo " + r[0], r[1]), ("style", r[2]), *r[3]] for r in rows]
    heights = [max(round(im.shape[-2] * TILE / max(im.shape[-2:])) for _, im in row) for row in tiles]
    cols, cap = max(len(t) for t in tiles), 30
    out = Image.new("RGB", (cols * TILE, 20 + sum(heights) + cap * len(tiles)), "white")
    draw = ImageDraw.Draw(out)
    draw.text((4, 4), title, fill="black")
    y = 20
    for row, H in zip(tiles, heights):
        for j, (caption, im) in enumerate(row):
            p = to_pil(im)
            p.thumbnail((TILE, TILE), Image.LANCZOS)
            out.paste(p, (j * TILE, y))
            for k, line in enumerate(caption.split("\n")):
                draw.text((j * TILE + 4, y + H + 2 + 12 * k), line, fill="black")
        y += H + cap
    path.parent.mkdir(parents=True, exist_ok=True)
    out.save(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--px", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--betas", type=float, nargs="+", default=[5.0, 10.0, 20.0])
    ap.add_argument("--inits", nargs="+", default=["content", "noise"])
    # (not coffee:pointillism or chelsea:low_poly: those style images are made from those photos)
    ap.add_argument("--pairs", nargs="+", default=["chelsea:swirls", "astronaut:stained_glass",
                                                   "grace_hopper:pointillism"])
    ap.add_argument("--steps", type=int, nargs="+", default=[100, 50], help="per stage: half size, full size")
    ap.add_argument("--layer-weights", type=_layer_weight, nargs="+", metavar="LAYER=W",
                    help="style_layer_weights (default: the engine's)")
    ap.add_argument("--precondition", type=float, default=None,
                    help="the L-BFGS preconditioner's power (default: the engine's; 0: plain L-BFGS)")
    ap.add_argument("--out", type=Path, default=Path("look"), help="folder for the sheets")
    a = ap.parse_args()
    vgg = nst.load_vgg19(device="cpu")
    lw = dict(a.layer_weights) if a.layer_weights else None
    power = nst.options.Options(precondition=a.precondition).precondition_power
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); steps {a.steps} at half then "
          f"full size; layer weights {lw or 'default'}; precondition {power:g}")
    print(f"{'px':>4} {'pair':<26} {'beta':>6} {'start':<8} {'style left':>10} {'photo lost':>10} {'s':>6}")
    summary = {}
    for px in a.px:
        rows = []
        for pair in a.pairs:
            photo_name, style_name = pair.split(":")
            photo = nst.load_image(photo_name, size=px, device="cpu")
            style = nst.load_image(style_name, device="cpu")
            tiles = []
            for beta, init in itertools.product(a.betas, a.inits):
                t = time.perf_counter()
                r = nst.stylize(photo_name, style_name, size=[px // 2, px], steps=a.steps, init=init,
                                style_weight=beta, style_layer_weights=lw, precondition=a.precondition,
                                progress=False, device="cpu")
                secs = time.perf_counter() - t
                sl, pl = style_left(r.image, photo, style, vgg=vgg), photo_lost(r.image, photo, style, vgg=vgg)
                summary.setdefault((px, beta, init), []).append((sl, pl))
                tiles.append((f"beta {beta:g}, {init}\nstyle left {sl:.3f}, photo lost {pl:.3f}", r.image))
                print(f"{px:>4} {pair:<26} {beta:>6g} {init:<8} {sl:>10.3f} {pl:>10.3f} {secs:>6.0f}", flush=True)
            s_img = torch.nn.functional.interpolate(style, size=photo.shape[-2:], mode="bicubic",
                                                    antialias=True).clamp(0, 1)
            rows.append((photo_name, photo, s_img, tiles))
        path = a.out / f"look_{px}.png"
        sheet(rows, path, f"{px} px, coarse to fine {px // 2} -> {px}, steps {a.steps}, "
                          f"layer weights {lw or 'default'}, precondition {power:g}")
        print(f"wrote {path}")
    print("\nmean over pairs (worst pair in brackets)")
    print(f"{'px':>4} {'beta':>6} {'start':<8} {'style left':>16} {'photo lost':>16}")
    for (px, beta, init), v in summary.items():
        sl, pl = [x[0] for x in v], [x[1] for x in v]
        print(f"{px:>4} {beta:>6g} {init:<8} {sum(sl) / len(sl):>8.3f} ({max(sl):.3f}) "
              f"{sum(pl) / len(pl):>8.3f} ({max(pl):.3f})")


if __name__ == "__main__":
    main()
