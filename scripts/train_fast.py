"""Train the shipped feed-forward nets: one TransformerNet per embedded style, two x4 SR nets.

    python scripts/train_fast.py                     # all six styles + SR, about 25 min on 2 CPU cores
    python scripts/train_fast.py --styles swirls --seconds 60 --no-sr --out /tmp/nets

Training photos come from scikit-image's sample data (in its wheel, nothing is downloaded; licences
quoted in PHOTOS and assets/CREDITS.md) plus the project's embedded photos; ``chelsea`` and
``grace_hopper`` are held out for measuring. scikit-image is needed by this script only
(``pip install scikit-image``), never by helpers. Each checkpoint records the steps, seconds and
machine it was trained on.
"""
from __future__ import annotations

import argparse
import inspect
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import helpers as nst  # noqa: E402
from helpers import feedforward as ff  # noqa: E402

#: skimage.data function -> licence as its docstring states it. Scenes only: the nets are used on
#: scenes, and crops of scikit-image's flat textures (brick, grass, gravel) or of the mostly black
#: Hubble field are noise to instance norm.
PHOTOS = {
    "astronaut": "Public domain ('No known copyright restrictions, released into the public domain.')",
    "coffee": "CC0 1.0 ('CC0 by the photographer (Rachel Michetti)')",
    "rocket": "Public domain ('captured by SpaceX and released in the public domain')",
    "camera": "CC0 1.0 ('CC0 by the photographer (Lav Varshney)')",
    "coins": "No known copyright restrictions (Brooklyn Museum Collection)",
    "clock": "Public domain ('Released into the public domain by the photographer (Stefan van der Walt)')",
}
HOLD_OUT = ("chelsea", "grace_hopper")


def training_photos(max_side: int = 160) -> list[torch.Tensor]:
    """The photos in PHOTOS as (1,3,H,W) tensors in [0,1], long side max_side (grey -> RGB).

    Small on purpose: a 96-px crop of a 160-px photo shows most of a scene, as the test photos do;
    a crop of the full-size photo is a nearly flat patch, whose contrast instance norm blows up.
    """
    import skimage.data

    out = []
    for name in PHOTOS:
        a = getattr(skimage.data, name)()
        if a.ndim == 2:
            a = np.stack([a] * 3, -1)
        img = nst.load_image(a[..., :3], device="cpu")
        img = nst.load_image(img, size=max_side, device="cpu")
        out.append(img)
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return f"{cpu}, {torch.get_num_threads()} threads (shared with other jobs)"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--styles", nargs="+", default=nst.artworks.names("style"))
    p.add_argument("--seconds", type=float, default=200, help="training time per style net")
    p.add_argument("--steps", type=int, default=4000, help="at most this many steps per style net")
    p.add_argument("--size", type=int, default=96, help="crop size in px")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate of the style nets (default: train_transformer's)")
    p.add_argument("--photo-side", type=int, default=160,
                   help="training photos' long side in px: a crop then shows a whole scene, as a test photo does")
    p.add_argument("--sr-seconds", type=float, default=60, help="training time per SR net")
    p.add_argument("--sr-photo-side", type=int, default=320,
                   help="SR training photos' long side: detail per pixel as in the 256-px test photos")
    p.add_argument("--no-sr", action="store_true")
    p.add_argument("--out", type=Path, default=ROOT / "assets" / "nets")
    p.add_argument("--preview", type=Path, default=None, help="folder for hold-out previews")
    p.add_argument("--threads", type=int, default=2, help="torch threads")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    device = nst.pick_device()
    photos = training_photos(a.photo_side)
    where = machine()
    print(f"{len(photos)} training photos; hold-out {HOLD_OUT}; device {device} ({where})", flush=True)
    common = {"photos": list(PHOTOS), "hold_out": list(HOLD_OUT), "machine": where,
              "torch": str(torch.__version__)}
    if not a.no_sr:
        sr_photos = training_photos(a.sr_photo_side)
        for loss in ff.SR_LOSSES:
            t0, c0 = time.perf_counter(), time.process_time()
            net = ff.train_sr(sr_photos, loss=loss, steps=a.steps, seconds=a.sr_seconds, size=a.size,
                              batch=2, device=device, progress=False)
            secs, cpu = time.perf_counter() - t0, time.process_time() - c0
            path = ff.save_net(net, a.out / f"sr_{loss}.pt", loss=loss, steps=net.history[-1]["step"],
                               seconds=round(secs, 1), cpu_seconds=round(cpu, 1), crop=a.size,
                               photo_side=a.sr_photo_side, **common)
            print(f"sr_{loss}: {net.history[-1]['step']} steps in {secs:.0f} s -> {path.name}", flush=True)

    for style in a.styles:
        t0, c0 = time.perf_counter(), time.process_time()
        lr = a.lr if a.lr is not None else inspect.signature(ff.train_transformer).parameters["lr"].default
        net = ff.train_transformer(style, photos, steps=a.steps, seconds=a.seconds, size=a.size, lr=lr,
                                   device=device, progress=False)
        cpu = time.process_time() - c0
        secs = time.perf_counter() - t0
        h = net.history[-1]
        path = ff.save_net(net, a.out / f"{style}.pt", style=style, steps=h["step"],
                           seconds=round(secs, 1), cpu_seconds=round(cpu, 1), crop=a.size,
                           photo_side=a.photo_side, lr=lr, **common)
        print(f"{style}: {h['step']} steps in {secs:.0f} s ({cpu:.0f} s CPU), content {h['content']:.3g} style "
              f"{h['style']:.3g} -> {path.name} ({path.stat().st_size / 1e3:.0f} kB)", flush=True)
        if a.preview:
            for name in HOLD_OUT:
                nst.save_image(ff.fast_stylize(name, net, size=256), a.preview / f"{style}_{name}.png")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    main()
