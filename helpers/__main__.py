"""``python -m helpers``: stylise an image from the command line (headless; any working directory).

With no arguments it stylises the embedded cat photo with the embedded swirling-strokes style and
writes ``stylized.png``. Every option mirrors a ``stylize`` argument and takes its default from
``stylize``'s signature, so a default lives in one place.
"""
from __future__ import annotations

import argparse
import inspect
import sys
import time
from pathlib import Path

DEFAULT_CONTENT, DEFAULT_STYLE = "chelsea", "swirls"
#: stylize's size=None keeps the input's size, which for a photo on disk is rarely what a command
#: line run wants; 384 px takes a few minutes on a laptop CPU and seconds on a GPU.
CLI_SIZE = 384


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line on stderr and exit 2, no usage dump
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _parser(defaults: dict) -> argparse.ArgumentParser:
    from .optimize import INITS, OPTIMIZERS, PRESERVE_COLOR
    from .vgg import POOLING, WEIGHTS

    p = _Parser(prog="python -m helpers", description=__doc__.split("\n")[0],
                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--content", default=DEFAULT_CONTENT, help="path, URL or embedded name")
    p.add_argument("--style", action="append", help="path, URL or name; repeat to blend styles "
                   f"(default: {DEFAULT_STYLE})")
    p.add_argument("--style-blend", type=float, nargs="+", help="one weight per --style")
    p.add_argument("--output", "-o", default="stylized.png", help="where to write the result")
    p.add_argument("--size", type=int, nargs="+", default=[CLI_SIZE],
                   help="long side in px; several for coarse-to-fine, e.g. 256 512")
    p.add_argument("--steps", type=int, default=defaults["steps"])
    for name in ("content_weight", "style_weight", "tv_weight", "style_scale"):
        p.add_argument("--" + name.replace("_", "-"), type=float, default=defaults[name])
    p.add_argument("--init", choices=INITS, default=defaults["init"])
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults["optimizer"])
    p.add_argument("--lr", type=float, default=defaults["lr"])
    p.add_argument("--pooling", choices=POOLING, default=defaults["pooling"])
    p.add_argument("--weights", choices=WEIGHTS, default=defaults["weights"])
    p.add_argument("--preserve-color", choices=[c for c in PRESERVE_COLOR if c],
                   default=defaults["preserve_color"])
    p.add_argument("--device", default=defaults["device"], help="cpu, cuda, mps (default: best available)")
    p.add_argument("--precision", default=defaults["precision"], help="fp32, bf16 or fp16 (GPU)")
    p.add_argument("--seed", type=int, default=defaults["seed"])
    p.add_argument("--snapshot-every", type=int, default=defaults["snapshot_every"],
                   help="also write every k-th step's image next to the output")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    from .device import DeviceError
    from .images import ImageError, save_image
    from .optimize import stylize

    defaults = {k: v.default for k, v in inspect.signature(stylize).parameters.items()
                if v.default is not inspect.Parameter.empty}
    args = _parser(defaults).parse_args(argv)
    output = Path(args.output)
    if output.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"):
        print(f"python -m helpers: error: --output {output}: use a .png or .jpg file name", file=sys.stderr)
        return 2
    styles = args.style or [DEFAULT_STYLE]
    t0 = time.perf_counter()
    try:
        result = stylize(
            args.content, styles if len(styles) > 1 else styles[0], size=args.size,
            steps=args.steps, content_weight=args.content_weight, style_weight=args.style_weight,
            tv_weight=args.tv_weight, style_scale=args.style_scale, style_blend=args.style_blend,
            init=args.init, optimizer=args.optimizer, lr=args.lr, pooling=args.pooling,
            weights=args.weights, preserve_color=args.preserve_color, device=args.device,
            precision=args.precision, seed=args.seed, snapshot_every=args.snapshot_every,
            progress=not args.quiet)
        path = save_image(result.image, output)
        for step, img in result.snapshots:
            save_image(img, output.with_name(f"{output.stem}_step{step:04d}{output.suffix}"))
    except (ImageError, DeviceError, FileNotFoundError, ValueError, RuntimeError, OSError) as e:
        print(f"python -m helpers: error: {e}", file=sys.stderr)
        return 2
    H, W = result.image.shape[-2:]
    note = "" if result.stopped_reason == "finished" else f" (stopped: {result.stopped_reason}; best image kept)"
    print(f"wrote {path.resolve()} ({W}x{H}, {len(result.history)} steps, loss {result.loss:.4g}) "
          f"in {time.perf_counter() - t0:.1f} s{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
