"""The shipped fast nets, measured: style carried per style vs stylize, one-pass speed, fit_style, x4 SR.

    python benchmarks/feedforward.py                          # every table (tens of minutes on 2 cores)
    python benchmarks/feedforward.py --only speed sr          # a subset: styles speed fit sr
    python benchmarks/feedforward.py --pictures /tmp/ff       # also save every result for a look
    python benchmarks/feedforward.py --only styles --stylize-cache runs/stylize_ref.json   # keep the
        # stylize references: a re-trained net is then measured against them in minutes

Referee fractions (helpers.measures): *style left* = Gatys' style distance to the style image
(resized to the result) ÷ the photo's own (lower = more style); *photo lost* = relu4_2 feature
distance to the photo ÷ the style image's (lower = more of the photo kept). Photos: the embedded
ones, never trained on. stylize runs its defaults; the last column is the first scored step at which
its style left is at or below the pass's (how many optimisation steps one pass is worth). Times:
best of ``--repeat`` warm runs.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import helpers as nst  # noqa: E402
from helpers import nets  # noqa: E402
from helpers.measures import feature_distance, photo_lost, psnr, sharpness, style_left  # noqa: E402


def timed(fn, device, repeat=1):
    best, out = float("inf"), None
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        out = fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return out, best


#: stylize steps at which the referee scores the run, to say how many steps one pass is worth
PROBES = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100)


def stylize_reference(a, style, px, name, x, S, device, vgg, cache):
    """stylize's defaults on this photo: its referee fractions and its style left along the run.

    Kept in ``--stylize-cache`` (JSON) when given: the reference does not depend on the nets, so a
    re-trained net is measured against it in minutes instead of re-running every optimisation.
    """
    key = f"{style}|{px}|{name}|{a.stylize_steps}"
    if key not in cache:
        curve = {}

        def probe(step, image, record):  # image: the picture after ``step`` updates
            if step in PROBES:
                curve[step] = style_left(image.to(device), x, S, vgg=vgg)

        r = nst.stylize(x, style, steps=a.stylize_steps, progress=False, device=device, callback=probe)
        img = r.image.to(device)
        left = style_left(img, x, S, vgg=vgg)
        curve[a.stylize_steps] = min(left, curve.get(a.stylize_steps, left))  # the result: all the steps
        cache[key] = {"left": left, "lost": photo_lost(img, x, S, vgg=vgg), "curve": sorted(curve.items())}
        if a.pictures:
            nst.save_image(img, a.pictures / f"stylize_{style}_{px}_{name}.jpg")
        if a.stylize_cache:
            a.stylize_cache.write_text(json.dumps(cache, indent=1))
    return cache[key]


def styles_table(a, device, vgg):
    cache = json.loads(a.stylize_cache.read_text()) if a.stylize_cache and a.stylize_cache.is_file() else {}
    print("\n| style | px | photo | one pass: style left | photo lost | stylize: style left | photo lost |"
          " pass / stylize | stylize steps to the pass's style |\n|---|---|---|---|---|---|---|---|---|")
    for style in nets.shipped_styles():
        S = nst.load_image(style, device=device)
        for px in a.sizes:
            for name in a.photos:
                x = nst.load_image(name, size=px, device=device)
                y = nst.fast_stylize(x, style)
                f = (style_left(y, x, S, vgg=vgg), photo_lost(y, x, S, vgg=vgg))
                g, match = (float("nan"),) * 2, "-"
                if a.stylize_steps and name in a.photos[:a.stylize_photos]:
                    ref = stylize_reference(a, style, px, name, x, S, device, vgg, cache)
                    g = (ref["left"], ref["lost"])
                    match = next((str(k) for k, v in ref["curve"] if v <= f[0]), f"> {a.stylize_steps}")
                print(f"| {style} | {px} | {name} | {f[0]:.3f} | {f[1]:.3f} | {g[0]:.3f} | {g[1]:.3f} | "
                      f"{f[0] / g[0]:.2f} | {match} |".replace("nan", "-"), flush=True)
                if a.pictures:
                    nst.save_image(torch.cat([x, y], -1), a.pictures / f"{style}_{px}_{name}.jpg")


def speed_table(a, device):
    x0 = nst.load_image("chelsea", size=64, device=device)
    nst.fast_stylize(x0, "swirls")  # load and warm up
    print("\n| one pass | px (long side) | seconds |\n|---|---|---|")
    for px in (256, 512, 1024):
        x = nst.load_image("chelsea", size=px, device=device)
        x = torch.nn.functional.interpolate(x, size=(px, px)) if a.square else x
        _, s = timed(lambda: nst.fast_stylize(x, "swirls"), device, a.repeat)
        print(f"| style net | {tuple(x.shape[-2:])} | {s:.3f} |", flush=True)
        _, s = timed(lambda: nst.fast_stylize(x, {"swirls": 0.5, "mondrian": 0.5}), device, a.repeat)
        print(f"| style net, a mix of two | {tuple(x.shape[-2:])} | {s:.3f} |", flush=True)


def fit_table(a, device, vgg):
    print("\n| fit_style | seconds | steps | style left (256 px, 3 photos) | photo lost |\n|---|---|---|---|---|")
    for style in a.fit:
        t = time.perf_counter()
        fitted = nst.fit_style(style, seconds=a.fit_seconds, steps=10_000, progress=False, device=device)
        secs = time.perf_counter() - t
        S = nst.load_image(style, device=device)
        fr = []
        for name in a.photos:
            x = nst.load_image(name, size=256, device=device)
            y = nst.fast_stylize(x, fitted)
            fr.append((style_left(y, x, S, vgg=vgg), photo_lost(y, x, S, vgg=vgg)))
            if a.pictures:
                nst.save_image(torch.cat([x, y], -1), a.pictures / f"fit_{Path(str(style)).stem}_{name}.jpg")
        print(f"| {style} | {secs:.0f} | {fitted.meta['steps']} | {sum(f[0] for f in fr) / len(fr):.3f} | "
              f"{sum(f[1] for f in fr) / len(fr):.3f} |", flush=True)


def sr_table(a, device, vgg):
    print("\n| x4 SR | photo | PSNR (Y, 4-px border off) | sharpness (real photo's) | relu3_1 / relu5_1 distance |"
          "\n|---|---|---|---|---|")
    for name in a.photos:
        hr = nst.load_image(name, size=a.sr_size, device=device)
        H, W = (s - s % 4 for s in hr.shape[-2:])
        hr = hr[..., :H, :W]
        lr = nets.downsample(hr)
        outs = {"bicubic": nst.super_resolve(lr, nets.SRNet().to(device)),
                **{n: nst.super_resolve(lr, n) for n in nets.SR_NETS}}
        for k, y in outs.items():
            d = [feature_distance(y, hr, layer, vgg=vgg) for layer in ("relu3_1", "relu5_1")]
            print(f"| {k} | {name} | {psnr_y(y, hr):.2f} | {sharpness(y):.3f} ({sharpness(hr):.3f}) | "
                  f"{d[0]:.3f} / {d[1]:.3f} |", flush=True)
            if a.pictures:
                nst.save_image(y, a.pictures / f"sr_{k}_{name}.png")


def psnr_y(a, b, border=4):
    """PSNR on luma with ``border`` px shaved, as super-resolution papers report it."""
    from helpers.color import to_yiq

    c = (slice(None), slice(0, 1), slice(border, -border), slice(border, -border))
    return psnr(to_yiq(a)[c], to_yiq(b)[c])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", nargs="+", default=["styles", "speed", "fit", "sr"])
    p.add_argument("--photos", nargs="+", default=["chelsea", "astronaut", "grace_hopper"])
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    p.add_argument("--stylize-steps", type=int, default=100, help="stylize steps for the comparison (0: skip)")
    p.add_argument("--stylize-photos", type=int, default=3, help="compare with stylize on the first N photos")
    p.add_argument("--stylize-cache", type=Path, default=None,
                   help="JSON file keeping the stylize references (net-independent) between runs")
    p.add_argument("--fit", nargs="+", default=["swirls"], help="style images to fit_style")
    p.add_argument("--fit-seconds", type=float, default=150)
    p.add_argument("--sr-size", type=int, default=256)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--square", action="store_true", help="time square images of the given sides")
    p.add_argument("--pictures", type=Path, default=None)
    a = p.parse_args(argv)
    if a.pictures:
        a.pictures.mkdir(parents=True, exist_ok=True)
    device = nst.pick_device()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"device {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"style net: {nets.load_net(nets.STYLE_NET, device).meta.get('steps')} steps")
    vgg = nst.load_vgg19(device=device)
    for part in a.only:
        {"styles": lambda: styles_table(a, device, vgg), "speed": lambda: speed_table(a, device),
         "fit": lambda: fit_table(a, device, vgg), "sr": lambda: sr_table(a, device, vgg)}[part]()


if __name__ == "__main__":
    main()
