"""Make the README gallery: ``python scripts/make_gallery.py`` (a few minutes on a laptop CPU).

Writes ``assets/gallery/gallery.jpg``: the embedded style images on the top row and the embedded
cat photo stylised with each of them below: ``helpers.stylize`` with its defaults (objective,
weights, layers, optimiser), coarse to fine 128 -> 256 px as the command line does.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

sys.path.insert(0, str(Path(__file__).absolute().parent.parent))  # run from a clone, no install
import helpers as nst  # noqa: E402
from helpers import catalog  # noqa: E402
from helpers.images import to_pil  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--content", default="chelsea")
    ap.add_argument("--size", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--steps", type=int, nargs="+", default=[100, 60])
    ap.add_argument("--out", type=Path, default=catalog.asset_dir() / "gallery" / "gallery.jpg")
    args = ap.parse_args()
    styles = catalog.names("style")
    H, W = nst.load_image(args.content, size=max(args.size), device="cpu").shape[-2:]
    label = 18
    sheet = Image.new("RGB", (W * len(styles), 2 * H + label), "white")
    draw = ImageDraw.Draw(sheet)
    for i, name in enumerate(styles):
        t = time.perf_counter()
        res = nst.stylize(args.content, name, size=args.size, steps=args.steps, progress=False)
        style = ImageOps.fit(to_pil(nst.load_image(name, device="cpu")), (W, H), Image.LANCZOS)
        sheet.paste(style, (i * W, label))
        sheet.paste(to_pil(res.image), (i * W, label + H))
        draw.text((i * W + 4, 3), name, fill="black")
        print(f"{name}: {res.seconds:.1f} s engine, {time.perf_counter() - t:.1f} s total, loss {res.loss:.3g}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, quality=88)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
