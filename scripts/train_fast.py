"""Train the shipped feed-forward nets: the multi-style net for every embedded style, the x4 SR nets.

    apt-get install lomiri-wallpapers mate-backgrounds plasma-workspace-wallpapers   # the photos, once
    python scripts/train_fast.py styles --steps 30000 --resume &   # hours; stop any time, resume later
    python scripts/train_fast.py sr                                # x4 SR: pixel loss, then feature loss

``styles`` keeps its full state (net, Adam, step, history) in ``runs/styles_state.pt``: saved every
``--save-every`` steps, at the end, and on SIGTERM / Ctrl-C; ``--resume`` continues from it. Each
save also exports the fp16 net to ``assets/nets/styles.pt`` with its training record (data, steps,
hours, per-style losses) and draws the per-style loss curves in ``assets/nets/styles_training.png``.
One torch thread by default, so the run can go on in the background beside other work; bf16 where
the CPU computes it natively. Photos: the wallpaper packages' photographs listed, with their
licences, in ``scripts/training_photos.py``; the lessons' embedded photos are never trained on.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

#: Per embedded style: the style image's long side in px for its Grams and its style weight
#: (relative objective). Checked first by optimising one photo (chelsea, 256 px) for 100 steps with
#: exactly this loss: with the style image at the photo's own scale and weight 10 every style carries
#: (style left 0.014-0.28; at half scale swirls kept only 0.30), so no block style needed a smaller
#: image. op_art, the weakest there (0.28) and flat in training after 2,400 steps, trains at 30.
#: After 9,144 steps on 128-px crops the net painted mondrian's blocks over the photo (photo lost
#: 0.71-0.75, style left 0.24-0.30): from there on it trains on 256-px crops (batch 2), where a crop
#: holds a subject and its surroundings, and mondrian at weight 6. From step 12,528 stained glass,
#: still far from its style (style left 0.24-0.62), trains at 20, and the droplet penalty is on:
#: at weight 10 the round spots moved to the borders in 660 steps, so from step 13,191 at 50.
#: From step 16,090, where every style's loss had flattened at lr 1e-3, lr 3e-4 (``--lr 3e-4``):
#: in 2,900 steps low_poly's training loss fell 0.048 -> 0.030, stained_glass's 0.080 -> 0.056.
STYLES = {name: {"size": 384, "weight": 10.0} for name in
          ("swirls", "pointillism", "mondrian", "low_poly", "stained_glass", "op_art")}
STYLES["op_art"]["weight"] = 30.0
STYLES["mondrian"]["weight"] = 6.0
STYLES["stained_glass"]["weight"] = 20.0

#: Per style: the smallest long side the net paints at (helpers.nets.fast_stylize's work_size).
#: Measured on the 16,090-step net with the referee's style distance on coffee and rocket at 256 px
#: (photos used neither in training nor in benchmarks/feedforward.py), enlarging to 384 px and
#: back: op_art 0.398 -> 0.309 and 0.440 -> 0.348, stained_glass 0.290 -> 0.221 and 0.306 -> 0.203,
#: while swirls (0.27 -> 0.42), pointillism (0.24 -> 0.70) and mondrian (0.29 -> 0.37) lose their
#: fine texture in the reduction. At 512 px every style does best at its own size.
WORK_SIZES = {"op_art": 384, "stained_glass": 384}


def machine() -> str:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {torch.get_num_threads()} torch thread(s)"


def load_photos(long_side: int = 640):
    """The training photos, decoded once and kept at ``long_side`` px (the crops come from these)."""
    import helpers as nst
    import training_photos

    paths = training_photos.installed()
    if not paths:
        sys.exit("no training photos: apt-get install lomiri-wallpapers mate-backgrounds "
                 "plasma-workspace-wallpapers")
    return paths, [nst.load_image(p, size=long_side, device="cpu") for p in paths]


def plot_curves(history, path: Path, window: int = 100, phases=()) -> None:
    """Per-style style loss (moving average) against step, log scale; a dotted line where settings changed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    for name in sorted({h["style_name"] for h in history}):
        rows = [h for h in history if h["style_name"] == name]
        w = max(1, min(window, len(rows) // 5))
        ys = [sum(r["style"] for r in rows[i:i + w]) / w for i in range(0, len(rows) - w + 1)]
        ax.plot([r["step"] for r in rows[w - 1:]], ys, label=name, lw=1.2)
    for i, (before, ph) in enumerate(zip(phases, phases[1:])):
        ax.axvline(ph["from_step"], color="grey", ls=":", lw=1)
        ax.annotate(phase_change(before, ph), (ph["from_step"], 1), xycoords=("data", "axes fraction"),
                    xytext=(-3, -10 - 9 * i), textcoords="offset points", fontsize=7, color="grey", ha="right")
    ax.set(xlabel="training step (all styles)", ylabel="relative style loss", yscale="log",
           title="Multi-style net: style loss per style (moving average)")
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def phase_change(before: dict, after: dict) -> str:
    """What a new training phase changed, in a few words: '256-px crops, batch 2; mondrian weight 6'."""
    said = []
    if (before.get("crop"), before.get("batch")) != (after.get("crop"), after.get("batch")):
        said.append(f"{after['crop']}-px crops, batch {after['batch']}")
    for name, st in after.get("styles", {}).items():
        if before.get("styles", {}).get(name, {}).get("weight") != st["weight"]:
            said.append(f"{name} weight {st['weight']:g}")
    if before.get("peak_weight", 0) != after.get("peak_weight", 0):
        said.append(f"droplet penalty {after.get('peak_weight', 0):g}")
    if before.get("lr") != after.get("lr"):
        said.append(f"lr {after['lr']:g}")
    return "; ".join(said) or "resumed with new settings"


def per_style(history, last: int = 300) -> dict:
    out = {}
    for name in dict.fromkeys(h["style_name"] for h in history):
        rows = [h for h in history if h["style_name"] == name][-last:]
        out[name] = {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in ("content", "style", "total")}
    return out


def styles_main(a) -> None:
    import torch

    import helpers as nst
    import training_photos
    from helpers import nets, training

    state = ROOT / "runs" / "styles_state.pt"
    if state.exists() and not a.resume:
        sys.exit(f"{state} exists: pass --resume to continue it, or delete it to start again")
    paths, photos = load_photos()
    where = machine()
    print(f"{len(photos)} training photos; {where}; precision "
          f"{nst.device.default_precision(torch.device('cpu'))}", flush=True)
    styles = {n: {"image": n, **STYLES[n]} for n in a.styles}
    out = a.out / f"{nets.STYLE_NET}.pt"

    def export(net, history):
        if not history:
            return
        h, phases = history[-1], net.training_meta["phases"]  # train_styles sets it before any save
        nets.save_net(net, out, steps=h["step"], hours=round(h["seconds"] / 3600, 2),
                      batch=a.batch, crop=a.crop, lr=a.lr, machine=where, torch=str(torch.__version__),
                      photos=[Path(p).name for p in paths], photo_licences=sorted({r[4] for r in training_photos.PHOTOS}),
                      style_settings=STYLES, work_sizes=WORK_SIZES, phases=phases,
                      losses=per_style(history))
        plot_curves(history, a.out / "styles_training.png", phases=phases)
        print(f"step {h['step']}: {h['seconds'] / 3600:.2f} h, saved; "
              + ", ".join(f"{k} {v['style']:.3f}" for k, v in per_style(history).items()), flush=True)

    training.train_styles(styles, photos, steps=a.steps, checkpoint=state, save_every=a.save_every,
                          seconds=a.hours * 3600 if a.hours else None, batch=a.batch, size=a.crop,
                          lr=a.lr, tv_weight=a.tv, peak_weight=a.peak_weight, peak_tau=a.peak_tau,
                          on_save=export)


def sr_main(a) -> None:
    import torch

    from helpers import nets, training

    paths, photos = load_photos(long_side=768)
    where = machine()
    common = {"machine": where, "torch": str(torch.__version__), "photos": [Path(p).name for p in paths]}
    if not a.feature_only:
        t0 = time.perf_counter()
        pixel = training.train_sr(photos, loss="pixel", steps=a.sr_steps, size=a.crop, device="cpu")
        secs = time.perf_counter() - t0
        nets.save_net(pixel, a.out / "sr_pixel.pt", loss="pixel", steps=len(pixel.history),
                      seconds=round(secs, 1), crop=a.crop, **common)
        print(f"sr_pixel: {len(pixel.history)} steps, {secs:.0f} s, last mse {pixel.history[-1]['pixel']:.5f}",
              flush=True)
    t1 = time.perf_counter()
    feat = training.train_sr(photos, loss="feature", steps=a.sr_feature_steps, size=a.crop,
                             net=nets.load_net(a.out / "sr_pixel.pt", "cpu").train().requires_grad_(True),
                             pixel_weight=a.sr_pixel_weight, seed=1, device="cpu")
    secs2 = time.perf_counter() - t1
    nets.save_net(feat, a.out / "sr_feature.pt", loss="feature", layer=training.SR_LAYER,
                  pixel_weight=a.sr_pixel_weight, pretrained_on="sr_pixel", steps=len(feat.history),
                  seconds=round(secs2, 1), crop=a.crop, **common)
    print(f"sr_feature: {len(feat.history)} steps, {secs2:.0f} s", flush=True)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("what", choices=("styles", "sr"))
    p.add_argument("--styles", nargs="+", default=list(STYLES), choices=list(STYLES))
    p.add_argument("--steps", type=int, default=30000, help="total steps to reach (all styles)")
    p.add_argument("--hours", type=float, default=None, help="stop after this long (then save)")
    p.add_argument("--resume", action="store_true", help="continue runs/styles_state.pt")
    p.add_argument("--save-every", type=int, default=200)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--crop", type=int, default=256, help="training crop side in px")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--tv", type=float, default=0.0, help="TV weight (per pixel value)")
    p.add_argument("--peak-weight", type=float, default=50.0,
                   help="weight of the droplet penalty (helpers.training.PeakPenalty); 0: off")
    p.add_argument("--peak-tau", type=float, default=5.0, help="std devs a normalised feature may reach freely")
    p.add_argument("--sr-steps", type=int, default=2000, help="pixel-loss SR steps")
    p.add_argument("--sr-feature-steps", type=int, default=1000, help="feature-loss SR steps after those")
    p.add_argument("--feature-only", action="store_true", help="sr: start from the saved sr_pixel.pt")
    p.add_argument("--sr-pixel-weight", type=float, default=1.0,
                   help="pixel (MSE) weight beside the relative feature loss: keeps the colours")
    p.add_argument("--out", type=Path, default=ROOT / "assets" / "nets")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: leaves a core free)")
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(a.threads)
    (styles_main if a.what == "styles" else sr_main)(a)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
