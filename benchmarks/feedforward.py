"""One pass of a shipped style net vs stylize's defaults, and x4 SR PSNR per loss; prints tables.

    python benchmarks/feedforward.py                    # CPU (or NST_DEVICE), swirls, chelsea (held out)
    python benchmarks/feedforward.py --style mondrian --stylize-size 256

Times are the best of ``--repeat`` runs (one for stylize), after one warm-up pass; on CUDA the
clock waits for the GPU. Distances: L_style against the style image (helpers.lessons.style_distance,
lower = more style) and the relative relu4_2 feature distance to the photo (lower = more content kept).
"""
from __future__ import annotations

import argparse
import inspect
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import helpers as nst  # noqa: E402
from helpers import feedforward as ff  # noqa: E402
from helpers.lessons import style_distance  # noqa: E402


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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--style", default="swirls")
    p.add_argument("--photo", default="chelsea")
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    p.add_argument("--stylize-size", type=int, default=512)
    p.add_argument("--steps", type=int, default=None, help="stylize steps (default: its own default)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--sr-photos", nargs="+", default=["chelsea", "grace_hopper"])
    p.add_argument("--sr-size", type=int, default=256)
    a = p.parse_args(argv)
    device = nst.pick_device()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"device {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} threads")

    ff.fast_stylize(nst.load_image(a.photo, size=64, device=device), a.style)  # load + warm up
    style = nst.load_image(a.style, size=256, device=device)
    print(f"\n| one pass of the {a.style} net | size | seconds |\n|---|---|---|")
    passes = {}
    for s in a.sizes:
        x = nst.load_image(a.photo, size=s, device=device)
        passes[s] = timed(lambda: nst.fast_stylize(x, a.style), device, a.repeat)
        print(f"| {a.photo} | {x.shape[-1]}x{x.shape[-2]} | {passes[s][1]:.3f} |")

    steps = a.steps or inspect.signature(nst.stylize).parameters["steps"].default
    x = nst.load_image(a.photo, size=a.stylize_size, device=device)
    res, slow = timed(lambda: nst.stylize(x, a.style, steps=steps, progress=False, device=device), device)
    fast_img, fast = (passes[a.stylize_size] if a.stylize_size in passes else
                      timed(lambda: nst.fast_stylize(x, a.style), device, a.repeat))
    print(f"\n| {a.photo} at {x.shape[-1]}x{x.shape[-2]}, {a.style} | seconds | style distance | content distance |")
    print("|---|---|---|---|")
    for label, img, secs in [("photo", x, 0.0), (f"stylize defaults ({steps} steps)", res.image, slow),
                             ("one pass", fast_img, fast)]:
        print(f"| {label} | {secs:.3f} | {style_distance(img, style):.4g} | {ff.feature_distance(img, x):.3f} |")
    print(f"\nspeed ratio stylize / one pass at {a.stylize_size} px: {slow / fast:.0f}x")

    print("\n| x4 SR | " + " | ".join(f"{n} PSNR (dB)" for n in a.sr_photos) + " | relu2_2 distance (mean) |")
    print("|---|" + "---|" * (len(a.sr_photos) + 1))
    rows = {"bicubic": ff.SRNet().to(device), "pixel loss": "sr_pixel", "feature loss": "sr_feature"}
    for label, net in rows.items():
        ps, fd = [], []
        for n in a.sr_photos:
            hr = nst.load_image(n, size=a.sr_size, device=device)
            hr = hr[..., : hr.shape[-2] // 4 * 4, : hr.shape[-1] // 4 * 4]
            y = ff.super_resolve(ff.downsample(hr), net)
            ps.append(nst.psnr(y, hr))
            fd.append(ff.feature_distance(y, hr, "relu2_2"))
        print(f"| {label} | " + " | ".join(f"{v:.2f}" for v in ps) + f" | {sum(fd) / len(fd):.3f} |")


if __name__ == "__main__":
    main()
