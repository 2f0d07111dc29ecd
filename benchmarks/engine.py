"""The engine measured through its public API: does L-BFGS stall, is the balance size-invariant,
what does a step cost.

    python benchmarks/engine.py [--part stall|sizes|cost|all] [--quick]

1. Stall matrix: L-BFGS vs Adam, loss after 10/30/100 steps relative to the first, on texture from
   noise (relu1_1 alone and the default layers; a smooth painting-like style and a random-binary
   one), content reconstruction (conv1_2 ... conv5_2) and transfer from content / noise / blurred,
   at several sizes and seeds, fp32 and bf16. "fall30" is loss(0) / loss(30); the goal is >= 10x
   wherever Adam gets there, L-BFGS at or below Adam after 100 steps, and on textures (the hard,
   quartic case) at or below Adam after 30 steps too.
2. Size invariance: the defaults at 96, 256 and 512 px. photo lost = the result's content distance
   / the style image's own content distance (1: the photo is gone); style left = the result's style
   distance / the photo's own style distance (0: the style fully arrived). Distances are the
   relative objective's terms, so they mean the same at every size. Goal: photo lost within 1.25x
   across sizes and <= 0.7, style left <= 0.05.
3. Cost of a step and of the whole default run, per size.
Ratios within one run are the figures to compare; seconds depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import time

import torch

import helpers as nst
from helpers.options import STYLE_LAYERS


def binary_texture(seed: int, side: int = 128) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, side), torch.linspace(0, 1, side), indexing="ij")
    img = torch.stack([0.5 + 0.5 * torch.sin(18 * xx), 0.5 + 0.5 * torch.sin(11 * yy + 7 * xx),
                       (torch.rand(side, side, generator=g) > 0.5).float()])
    return img[None]


def curve(task, optimizer, size, seed, precision, steps):
    kind, what = task
    kw = dict(optimizer=optimizer, steps=steps, seed=seed, precision=precision, progress=False,
              device="cpu")
    if kind == "texture":
        layers, style = what
        r = nst.synthesize_texture(style, layers=layers, size=size, **kw)
    elif kind == "recon":
        r = nst.reconstruct_content(nst.load_image("chelsea", size=size), layer=what, **kw)
    else:
        r = nst.stylize(nst.load_image("chelsea", size=size), "swirls", init=what, **kw)
    h = [e["total"] for e in r.history]
    best = [min(h[: i + 1]) for i in range(len(h))]
    return [h[0] / best[min(i, len(h) - 1)] for i in (10, 30, steps - 1)]


def stall(quick: bool, sizes=None, seeds=None, steps=None):
    sizes = sizes or ([64] if quick else [64, 128, 256])
    seeds = seeds or ([0] if quick else [0, 1, 2])
    steps = steps or (30 if quick else 100)
    smooth, binary, glass = "swirls", binary_texture(1), "stained_glass"
    tasks = [("texture", (("relu1_1",), smooth)), ("texture", (STYLE_LAYERS, smooth)),
             ("texture", (("relu1_1",), binary)), ("texture", (STYLE_LAYERS, binary)),
             ("texture", (STYLE_LAYERS, glass))]
    tasks += [("recon", layer) for layer in ("conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2")]
    tasks += [("transfer", init) for init in ("content", "noise", "blurred")]
    names = {id(smooth): "smooth", id(binary): "binary", id(glass): "glass"}
    print("1. stall matrix: loss(0) / best loss after 10, 30, last step (higher is better)")
    print(f"{'task':<28}{'px':>5}{'seed':>5}{'prec':>6} | {'L-BFGS 10/30/end':>22} | {'Adam 10/30/end':>22} | ok")
    bad = 0
    for task in tasks:
        label = task[0] + ":" + (task[1] if isinstance(task[1], str)
                                 else f"{'relu1_1' if len(task[1][0]) == 1 else 'default'}/{names[id(task[1][1])]}")
        for size in sizes if task[0] != "recon" or not quick else [64]:
            for seed in seeds if size == min(sizes) else seeds[:1]:
                for precision in ("fp32", "bf16") if size == min(sizes) else ("fp32",):
                    lb = curve(task, "lbfgs", size, seed, precision, steps)
                    ad = curve(task, "adam", size, seed, precision, steps)
                    ok = (lb[1] >= 10 or ad[1] < 10) and lb[2] >= ad[2]
                    if task[0] == "texture":
                        ok = ok and lb[1] >= ad[1]
                    bad += not ok
                    fmt = lambda v: "/".join(f"{x:7.3g}" for x in v)  # noqa: E731
                    print(f"{label:<28}{size:>5}{seed:>5}{precision:>6} | {fmt(lb):>22} | {fmt(ad):>22} | "
                          f"{'yes' if ok else 'NO'}", flush=True)
    print(f"cells failing the goal: {bad}")


def distances(img, photo, style):
    """(content distance to photo, style distance to style) as the relative objective scores them."""
    r = nst.stylize(photo, style, init=img, steps=1, progress=False, device="cpu",
                    content_weight=1.0, style_weight=1.0)
    h = r.history[0]
    return h["content"], h["style"]


def sizes(quick: bool, px=None, styles=("swirls", "pointillism"), steps=None):
    px = px or ([64, 96] if quick else [96, 256, 512])
    steps = steps or (20 if quick else 80)
    print(f"\n2. size invariance: defaults, {steps} steps (photo lost <= 0.7 and within 1.25x; style left <= 0.05)")
    print(f"{'style':<14}{'px':>5} {'photo lost':>11} {'style left':>11} {'seconds':>8}")
    for style in styles:
        for side in px:
            photo = nst.load_image("chelsea", size=side)
            s_img = torch.nn.functional.interpolate(nst.load_image(style), size=photo.shape[-2:],
                                                    mode="bicubic", antialias=True).clamp(0, 1)
            t = time.perf_counter()
            r = nst.stylize(photo, style, steps=steps, progress=False, device="cpu")
            secs = time.perf_counter() - t
            c_res, s_res = distances(r.image, photo, style)
            c_sty, _ = distances(s_img, photo, style)
            _, s_pho = distances(photo, photo, style)
            print(f"{style:<14}{side:>5} {c_res / c_sty:>11.3f} {s_res / s_pho:>11.3f} {secs:>8.1f}", flush=True)


def cost(quick: bool):
    print("\n3. cost: seconds per step (L-BFGS, defaults), and the CLI's default run")
    for side in ([64] if quick else [128, 256, 384]):
        photo = nst.load_image("chelsea", size=side)
        r = nst.stylize(photo, "swirls", steps=6, progress=False, device="cpu")
        per = (r.history[-1]["seconds"] - r.history[0]["seconds"]) / 5
        print(f"   {side:>4} px ({photo.shape[-1]}x{photo.shape[-2]}): {per:.3f} s/step")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=["stall", "sizes", "cost", "all"], default="all")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: check the script runs")
    ap.add_argument("--sizes", type=int, nargs="+", help="stall matrix sizes (default 64 128 256)")
    ap.add_argument("--seeds", type=int, nargs="+", help="stall matrix seeds at the smallest size")
    ap.add_argument("--steps", type=int, help="stall matrix / size invariance steps (default 100 / 80)")
    ap.add_argument("--px", type=int, nargs="+", help="size invariance sizes (default 96 256 512)")
    ap.add_argument("--styles", nargs="+", default=["swirls", "pointillism"], help="size invariance styles")
    a = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if a.part in ("stall", "all"):
        stall(a.quick, a.sizes, a.seeds, a.steps)
    if a.part in ("sizes", "all"):
        sizes(a.quick, a.px, a.styles, a.steps)
    if a.part in ("cost", "all"):
        cost(a.quick)


if __name__ == "__main__":
    main()
