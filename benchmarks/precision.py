"""fp32 vs bf16 for the VGG pass on this device: seconds per step, achieved GFLOP/s, loss reached.

    python benchmarks/precision.py [--px 256 384 512] [--steps 20] [--device cpu]
    ATEN_CPU_CAPABILITY=avx2 python benchmarks/precision.py      # the other kernel set

One ``stylize`` step with the defaults (content relu4_2, style relu1_1 ... relu5_1, L-BFGS) is a
VGG19 forward to relu5_1 and a backward to the pixels. The convolutions' FLOPs are counted from
the layers' shapes (2 * k^2 * C_in * C_out * H_out * W_out per conv; the backward to the input
costs the same again, the weights being frozen); GFLOP/s = that count / seconds per step, so it is
a lower bound on what the conv kernels achieve (pooling, ReLU, Gram matrices and the optimiser are
in the seconds, not in the count). Seconds per step are the median step of a run, fp32 and bf16
runs alternate and the fastest of ``--rounds`` is kept, so a busy machine skews them less. Both
precisions start from the same photo, take the same steps
and have their final image scored by one fp32 loss, so "loss" compares like with like.
Prints what ``default_precision`` picks here and why.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

import helpers as nst
from helpers.device import cpu_native_bf16, default_precision
from helpers.vgg import LAYER_NAMES


def conv_flops(side_hw: tuple[int, int], last: str = "relu5_1") -> float:
    """FLOPs of VGG19's convolutions up to ``last`` for one image of (H, W), forward only."""
    vgg = nst.load_vgg19(device="cpu")
    H, W = side_hw
    flops = 0.0
    for name in LAYER_NAMES[: LAYER_NAMES.index(last) + 1]:
        m = getattr(vgg, name)
        if name.startswith("conv"):
            flops += 2 * 9 * m.in_channels * m.out_channels * H * W  # 3x3, stride 1, same padding
        elif name.startswith("pool"):
            H, W = -(-H // 2), -(-W // 2)  # ceil mode
    return flops


def fp32_score(img, photo, style, device):
    r = nst.stylize(photo, style, init=img, steps=1, precision="fp32", progress=False, device=device)
    return r.history[0]["total"]


def measure(photo, precision: str, steps: int, device: str):
    """(median seconds per step, fp32 loss of the result) of ``steps`` default steps."""
    r = nst.stylize(photo, "swirls", steps=steps, precision=precision, progress=False, device=device)
    t = [h["seconds"] for h in r.history]
    per_step = statistics.median(b - a for a, b in zip(t[1:], t[2:]))  # step 0 holds target setup
    return per_step, fp32_score(r.image, photo, "swirls", device)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--px", type=int, nargs="+", default=[256, 384, 512])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds; the fastest is kept")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    dev = torch.device(a.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), ATen kernels "
          f"{torch.backends.cpu.get_cpu_capability()}, ONEDNN_MAX_CPU_ISA="
          f"{os.environ.get('ONEDNN_MAX_CPU_ISA', '(unset)')}; native bf16 on the CPU: "
          f"{cpu_native_bf16()}; default_precision({a.device}) = {default_precision(dev)!r}")
    print(f"{a.steps} steps of the defaults from the photo (chelsea x swirls); loss = fp32 score of "
          "the final image")
    print(f"{'px':>4} {'HxW':>8} {'GFLOP/step':>10} | {'fp32 s/step':>11} {'GFLOP/s':>8} | "
          f"{'bf16 s/step':>11} {'GFLOP/s':>8} | {'speed-up':>8} {'loss bf16/fp32':>14}")
    for side in a.px:
        photo = nst.load_image("chelsea", size=side, device="cpu")
        nst.stylize(photo, "swirls", steps=2, precision="bf16", progress=False, device=a.device)  # warm up
        rows = {}
        for _ in range(a.rounds):  # alternated, fastest round kept: the machine's load varies
            for precision in ("fp32", "bf16"):
                per, loss = measure(photo, precision, a.steps, a.device)
                rows[precision] = min(rows.get(precision, (per, loss)), (per, loss))
        H, W = photo.shape[-2:]
        gflop = 2 * conv_flops((H, W)) / 1e9  # forward + backward to the pixels
        (t32, l32), (t16, l16) = rows["fp32"], rows["bf16"]
        print(f"{side:>4} {f'{H}x{W}':>8} {gflop:>10.1f} | {t32:>11.3f} {gflop / t32:>8.1f} | "
              f"{t16:>11.3f} {gflop / t16:>8.1f} | {t32 / t16:>7.2f}x {l16 / l32:>14.4f}", flush=True)
    t = time.process_time()
    print(f"(process CPU time {t:.0f} s)")


if __name__ == "__main__":
    main()
