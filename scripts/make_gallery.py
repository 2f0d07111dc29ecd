"""Make the README gallery: ``python scripts/make_gallery.py`` (a few minutes on a laptop CPU).

Writes ``assets/gallery/gallery.jpg``: the embedded style images on the top row and the embedded
cat photo stylised with each of them below (``helpers.stylize`` with its defaults, at a small size).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).absolute().parent.parent))  # run from a clone, no install
import helpers as nst  # noqa: E402
from helpers import catalog  # noqa: E402
from helpers.images import to_pil  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--content", default="chelsea")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--out", type=Path, default=catalog.asset_dir() / "gallery" / "gallery.jpg")
    args = ap.parse_args()
    styles = catalog.names("style")
    tile, label = args.size, 18
    sheet = Image.new("RGB", (tile * len(styles), 2 * tile + label), "white")
    draw = ImageDraw.Draw(sheet)
    for i, name in enumerate(styles):
        t = time.perf_counter()
        res = nst.stylize(args.content, name, size=args.size, steps=args.steps, progress=False)
        style = to_pil(nst.load_image(name, device="cpu")).resize((tile, tile), Image.LANCZOS)
        out = to_pil(res.image)
        out = out.crop(((out.width - min(out.size)) // 2, 0, (out.width + min(out.size)) // 2, out.height))
        sheet.paste(style, (i * tile, label))
        sheet.paste(out.resize((tile, tile), Image.LANCZOS), (i * tile, label + tile))
        draw.text((i * tile + 4, 3), name, fill="black")
        print(f"{name}: {res.seconds:.1f} s engine, {time.perf_counter() - t:.1f} s total, loss {res.loss:.3g}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, quality=88)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
