"""The default command-line run: wall time and look for candidate step schedules, side by side.

    python benchmarks/cli.py [--steps 100,50 60,30 ...] [--threads 2] [--out DIR]

Each candidate is a real ``python -m helpers --steps A B`` process (the default photo, style and
sizes, 192 then 384 px), timed from process start to exit, so start-up and image writing count as
a user sees them. Under each result: the wall time, the final loss and the two referee measures of
benchmarks/look.py (*style left*, *photo lost*). Writes ``cli.png`` (a tile per schedule) into
``--out``, to be looked at before a default changes.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import helpers as nst
from helpers.__main__ import CLI_SIZE, CLI_STEPS, DEFAULT_CONTENT, DEFAULT_STYLE
from helpers.measures import photo_lost, style_left

sys.path.insert(0, str(Path(__file__).resolve().parent))
from look import sheet  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", nargs="+", default=[",".join(map(str, CLI_STEPS))],
                    help="schedules, each 'coarse,fine' steps")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--out", type=Path, default=Path("runs/cli"))
    a = ap.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": str(a.threads)}
    photo = nst.load_image(DEFAULT_CONTENT, device="cpu")
    style = nst.load_image(DEFAULT_STYLE, device="cpu")
    print(f"{a.threads} thread(s); sizes {CLI_SIZE}; {DEFAULT_CONTENT} x {DEFAULT_STYLE}")
    tiles = []
    for sched in a.steps:
        steps = sched.split(",")
        out = a.out / f"steps_{'_'.join(steps)}.png"
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "helpers", "--steps", *steps, "--output", str(out),
                            "--quiet"], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if r.returncode:
            sys.exit(r.stderr)
        img = nst.load_image(out, device="cpu")
        ref = nst.load_image(DEFAULT_CONTENT, size=max(img.shape[-2:]), device="cpu")  # the photo at its size
        p, s = photo_lost(img, ref, style), style_left(img, ref, style)
        line = r.stdout.strip().splitlines()[-1]
        loss = line.split("loss ")[1].split(")")[0] if "loss " in line else "?"
        print(f"steps {sched:>8}: {wall:5.1f} s wall, loss {loss}, style left {s:.3f}, photo lost {p:.3f}",
              flush=True)
        tiles.append((f"{sched} steps: {wall:.0f} s\nstyle left {s:.3f}, photo lost {p:.3f}", img))
    sheet([(DEFAULT_CONTENT, photo, style, tiles)], a.out / "cli.png",
          f"python -m helpers, {a.threads} thread(s): steps at {CLI_SIZE[0]} then {CLI_SIZE[1]} px")


if __name__ == "__main__":
    main()
