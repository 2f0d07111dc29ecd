"""Engine speed and memory, measured side by side in one run (ratios, not absolute seconds).

    python benchmarks/engine.py [--sizes 256 512] [--quick]

1. One full iteration (VGG19 forward to relu5_1, losses, backward to the image, L-BFGS step) at each
   size, next to its FLOP count and a torch.mm GFLOP/s measured in the same run: the ratio
   iteration time / (FLOPs / matmul rate) says how close to the machine's limit we are (goal <= 1.15).
2. Memory layout: the same iteration with channels_last tensors.
3. L-BFGS choices: no line search vs torch's strong Wolfe search, history 20 vs 100 - final loss
   after the same number of forward+backward passes.
4. Peak memory (RSS on CPU, torch.cuda.max_memory_allocated on GPU) for a short run per size,
   each in a fresh process.
5. Cold start: process start -> first iteration done, for `python -m helpers`-like use.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import torch

import helpers as nst
from helpers import optimize as O
from helpers.vgg import BLOCKS, CHANNELS, LAYER_NAMES


def matmul_gflops(device, n=2048, reps=10) -> float:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b  # warm up
    sync(device)
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def iteration_flops(H: int, W: int, deepest: str = "relu5_1", style_layers=O.STYLE_LAYERS) -> float:
    """FLOPs of one forward+backward-to-the-image pass of VGG19 up to ``deepest`` plus Gram matrices.

    Forward conv: 2*Cin*Cout*9*H*W. Backward: only the gradient w.r.t. the input (weights are
    frozen), the same count again. Gram of an (N, M) map: 2*N^2*M forward, about twice that back.
    """
    last = LAYER_NAMES.index(deepest)
    total, c_in, h, w = 0.0, 3, H, W
    for b, (n, c) in enumerate(zip(BLOCKS, CHANNELS), start=1):
        for i in range(1, n + 1):
            if LAYER_NAMES.index(f"conv{b}_{i}") > last:
                return total
            total += 2 * (2 * c_in * c * 9 * h * w)
            if f"relu{b}_{i}" in style_layers:
                total += 3 * 2 * c * c * h * w
            c_in = c
        h, w = h // 2, w // 2
    return total


def problem(size, device):
    content = nst.load_image("chelsea", size=size, device=device)
    content = torch.nn.functional.interpolate(content, size=(size, size), mode="bilinear")  # square
    style = nst.load_image("swirls", size=size, device=device)
    vgg = nst.load_vgg19(device=device)
    ct = O._features(vgg, content, O.CONTENT_LAYERS)
    st = {n: nst.gram_matrix(F, normalize=True) for n, F in O._features(vgg, style, O.STYLE_LAYERS).items()}
    layers = tuple(dict.fromkeys(O.CONTENT_LAYERS + O.STYLE_LAYERS))
    return content, O._Problem(vgg, ct, [st], [None], 1.0, 1e3, 0.0, None, layers, torch.float32)


def time_iterations(P, x0, device, n=5, channels_last=False):
    x = x0.clone().requires_grad_(True)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    P.vgg.to(memory_format=fmt)
    opt = torch.optim.LBFGS([x], lr=1, max_iter=1, history_size=O.LBFGS_HISTORY)

    def closure():
        opt.zero_grad()
        loss = P.losses(x.contiguous(memory_format=fmt))["total"]
        loss.backward()
        return loss

    opt.step(closure)  # warm up (and oneDNN kernel selection)
    sync(device)
    t = time.perf_counter()
    for _ in range(n):
        opt.step(closure)
    sync(device)
    if channels_last:
        P.vgg.to(memory_format=torch.contiguous_format)
    return (time.perf_counter() - t) / n


def lbfgs_variants(size, device, steps):
    content, P = problem(size, device)
    out = {}
    for name, ls, hist in (("no line search, history 20", None, 20), ("no line search, history 100", None, 100),
                           ("strong Wolfe, history 20", "strong_wolfe", 20)):
        x = content.clone().requires_grad_(True)
        opt = torch.optim.LBFGS([x], lr=1, max_iter=1, history_size=hist, line_search_fn=ls,
                                tolerance_grad=0, tolerance_change=0)
        evals, scale = [0], []

        def closure():
            opt.zero_grad()
            loss = P.losses(x)["total"]
            if not scale:
                scale.append(1 / float(loss.detach()))  # as the engine does
            (loss * scale[0]).backward()
            evals[0] += 1
            return loss.detach() * scale[0]

        t = time.perf_counter()
        while evals[0] < steps:
            opt.step(closure)
            with torch.no_grad():
                x.clamp_(0, 1)
        with torch.no_grad():
            out[name] = (float(P.losses(x)["total"]), evals[0], time.perf_counter() - t)
    return out


PEAK = """
import json, resource, sys, torch, helpers as nst
size, device = int(sys.argv[1]), sys.argv[2]
dev = nst.pick_device(device)
if dev.type == "cuda": torch.cuda.reset_peak_memory_stats()
r = nst.stylize("chelsea", "swirls", size=size, steps=int(sys.argv[3]), progress=False, device=dev)
peak = torch.cuda.max_memory_allocated() if dev.type == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"size": size, "peak_mb": peak / 2**20, "hw": list(r.image.shape[-2:])}))
"""

COLD = """
import time, sys
t0 = float(sys.argv[1])
import helpers as nst
def stop(step, image, losses):
    print(time.time() - t0); return False
nst.stylize("chelsea", "swirls", size=256, steps=1, progress=False, callback=stop)
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--memory-sizes", type=int, nargs="+", default=[256, 512, 1024])
    ap.add_argument("--device", default=None)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check the script runs")
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.memory_sizes = [64], [64]
    device = nst.pick_device(args.device)
    print(f"device: {device}, torch {torch.__version__}, threads {torch.get_num_threads()}")

    gflops = matmul_gflops(device)
    print(f"\n1-2. iteration cost vs the machine (torch.mm 2048^2 fp32: {gflops:.1f} GFLOP/s)")
    print(f"{'size':>6} {'GFLOP/iter':>11} {'ideal s':>8} {'measured s':>11} {'ratio':>6} {'channels_last s':>16}")
    for size in args.sizes:
        content, P = problem(size, device)
        flops = iteration_flops(size, size)
        ideal = flops / (gflops * 1e9)
        t = time_iterations(P, content, device, n=3 if size >= 512 else 5)
        t_cl = time_iterations(P, content, device, n=3 if size >= 512 else 5, channels_last=True)
        print(f"{size:>6} {flops / 1e9:>11.1f} {ideal:>8.3f} {t:>11.3f} {t / ideal:>6.2f} {t_cl:>16.3f}")

    steps = 30 if args.quick else 100
    lb_size = 64 if args.quick else 128
    print(f"\n3. L-BFGS variants at {lb_size}^2, {steps} forward+backward passes from the content image")
    for name, (loss, evals, secs) in lbfgs_variants(lb_size, device, steps).items():
        print(f"   {name:<28} final loss {loss:.4g}  ({evals} passes, {secs:.1f} s)")

    print("\n4. peak memory, 5 steps, fresh process per size")
    for size in args.memory_sizes:
        r = subprocess.run([sys.executable, "-c", PEAK, str(size), str(device), "5"], capture_output=True,
                           text=True, check=True)
        d = json.loads(r.stdout.strip().splitlines()[-1])
        print(f"   {size:>5}px ({d['hw'][0]}x{d['hw'][1]}): {d['peak_mb']:.0f} MB "
              f"{'(GPU allocated)' if device.type == 'cuda' else '(RSS)'}")

    runs = [float(subprocess.run([sys.executable, "-c", COLD, repr(time.time())], capture_output=True,
                                 text=True, check=True).stdout.strip().splitlines()[-1]) for _ in range(3)]
    print(f"\n5. cold start, process start -> first iteration at 256 px: "
          f"{min(runs):.2f} s (best of 3; all: {', '.join(f'{r:.2f}' for r in runs)})")


if __name__ == "__main__":
    main()
