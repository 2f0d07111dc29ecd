"""``python -m helpers``: stylise an image from the command line (headless; any working directory).

With no arguments it stylises the embedded cat photo with the embedded swirling-strokes style and
writes ``stylized.png``. Every flag is generated from :class:`helpers.options.Options` — its name,
default, help and allowed values — so the command line and the library cannot drift apart.
"""
from __future__ import annotations

import argparse
import sys
import time

DEFAULT_CONTENT, DEFAULT_STYLE = "chelsea", "swirls"
#: The library's size=None keeps the input's size; a command-line run gets the coarse-to-fine
#: schedule below instead: 192 px lays the picture out cheaply, 384 px adds the detail. 60 + 30
#: steps (benchmarks/cli.py, one busy thread): 55 s, style left 0.074, photo lost 0.420, against
#: 88 s, 0.074 and 0.386 for 100 + 50 -- the same look, a little less clean in the background;
#: 50 + 25 leaves pink mottling. --steps A B sets other counts (one number: the same at each stage).
CLI_SIZE = (192, 384)
CLI_STEPS = (60, 30)
PROG = "python -m helpers"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line on stderr and exit 2, no usage dump
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _layer_weight(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not LAYER=WEIGHT, e.g. relu1_1=0.5") from None


#: argparse settings for options whose default alone does not say how to read them
_SPECIAL = {
    "size": {"nargs": "+", "type": int, "default": list(CLI_SIZE)},
    "steps": {"nargs": "+", "type": int, "default": list(CLI_STEPS)},
    "style_layer_weights": {"nargs": "+", "type": _layer_weight, "metavar": "LAYER=W"},
    "style_blend": {"nargs": "+", "type": float},
    "masks": {"nargs": "+", "metavar": "MASK_IMAGE", "help_extra": " (image files, one per --style)"},
    "init": {"help_extra": " or an image file"},
    "lr": {"type": float},
    "precondition": {"type": float},
    "device": {"type": str},
}


def _flag_settings(name: str, default, meta: dict) -> dict:
    spec = dict(_SPECIAL.get(name, {}))
    kw = {"default": spec.pop("default", default),
          # argparse %-formats help texts: an option's own "%" must reach the screen as written
          "help": (meta["doc"] + spec.pop("help_extra", "")).replace("%", "%%")}
    choices = [c for c in (meta["choices"] or ()) if c is not None]
    if isinstance(default, tuple):  # a list of layer names
        kw.update(nargs="+", choices=choices or None)
    elif isinstance(default, bool):
        kw["action"] = argparse.BooleanOptionalAction
    elif choices and name != "init":
        kw["choices"] = choices
    elif isinstance(default, (int, float)):
        kw["type"] = type(default)
    kw.update(spec)
    return kw


def build_parser() -> argparse.ArgumentParser:
    """The parser: a few flags of the command line's own, then one flag per stylize option."""
    from .options import described

    p = _Parser(prog=PROG, description=__doc__.split("\n")[0],
                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--content", default=DEFAULT_CONTENT, help="path, URL or embedded name")
    p.add_argument("--style", action="append", help="path, URL or name; repeat to blend or place "
                   f"several styles (default: {DEFAULT_STYLE})")
    p.add_argument("--output", "-o", default="stylized.png", help="where to write the result")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    for name, default, meta in described():
        if meta["cli"]:
            p.add_argument("--" + name.replace("_", "-"), dest=name, **_flag_settings(name, default, meta))
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C before the run started (during imports or loading)
        print(f"{PROG}: interrupted before the run started; nothing written", file=sys.stderr)
        return 130


def _main(argv):
    args = vars(build_parser().parse_args(argv))
    output, quiet = args.pop("output"), args.pop("quiet")
    from .images import ImageError, check_save_path

    try:  # before any work: a long run must not end in a folder it cannot write to
        output = check_save_path(output)
    except ImageError as e:
        print(f"{PROG}: error: argument --output: {e}", file=sys.stderr)
        return 2
    content, styles = args.pop("content"), args.pop("style") or [DEFAULT_STYLE]
    if args["style_layer_weights"] is not None:
        args["style_layer_weights"] = dict(args["style_layer_weights"])
    if isinstance(args["steps"], list) and len(args["steps"]) == 1:
        args["steps"] = args["steps"][0]
    t0 = time.perf_counter()
    try:
        from .errors import OptionError
        from .images import load_image, save_image
        from .optimize import stylize

        if args["init"] not in _choices("init"):  # a file to start from
            try:
                args["init"] = load_image(args["init"], device="cpu")
            except ImageError as e:
                raise ImageError(f"argument --init: invalid choice: {args['init']!r} (choose from "
                                 f"{', '.join(_choices('init'))}, or an image file): {e}") from None
        result = stylize(content, styles if len(styles) > 1 else styles[0], progress=not quiet, **args)
        path = save_image(result.image, output)
        for step, img in result.snapshots:
            save_image(img, output.with_name(f"{output.stem}_step{step:04d}{output.suffix}"))
    except (ImageError, OptionError, ValueError, RuntimeError, OSError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    H, W = result.image.shape[-2:]
    note = "" if result.stopped_reason == "finished" else f" (stopped: {result.stopped_reason}; best image kept)"
    print(f"wrote {path.resolve()} ({W}x{H}, {len(result.history)} steps, loss {result.loss:.4g}) "
          f"in {time.perf_counter() - t0:.1f} s{note}")
    return 0


def _choices(name):
    from .options import described
    return next(m["choices"] for n, _, m in described() if n == name)


if __name__ == "__main__":
    sys.exit(main())
