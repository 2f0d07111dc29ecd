"""``stylize``'s options, in one typed place: defaults, documentation, allowed values, checks.

:class:`Options` is a frozen dataclass; each field's ``metadata`` carries its help text, its
allowed choices and, for numbers the studio shows as sliders, a ``ui`` range. ``stylize``'s
signature, the command line's flags and the studio's controls are all generated from it, so a new
option is one field here. Validation happens once, in ``__post_init__``, before any work starts.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from .device import PRECISIONS
from .errors import OptionError, close_names
from .vgg import LAYER_NAMES, MIN_SIDE, PADDING, POOLING, WEIGHTS

INITS = ("content", "noise", "style", "blurred")
OPTIMIZERS = ("lbfgs", "adam")
PRESERVE_COLOR = (None, "luminance", "histogram")
OBJECTIVES = ("relative", "paper")
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYERS = ("relu4_2",)
#: Adam's step in [0, 1] pixel units (about 5 grey levels); L-BFGS takes no learning rate of its
#: own (its steps come from the curvature it measures), lr scales them.
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}
#: the L-BFGS preconditioner's power when ``precondition`` is None and no masks are given
DEFAULT_PRECONDITION = 0.5


def _opt(default, doc: str, *, choices: Sequence | None = None, ui: tuple | None = None,
         cli: bool = True):
    """A field with its help text; ``choices``: allowed values; ``ui``: ("log"|"lin", lo, hi)."""
    meta = {"doc": doc, "choices": choices, "ui": ui, "cli": cli}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Options:
    """Every option of :func:`helpers.stylize`, with its default. Build it as ``Options(**kw)``."""

    content_weight: float = _opt(1.0, "alpha of eq. 7: how much the content counts",
                                 ui=("log", -3, 3))
    #: beta = 15 from the look grid (benchmarks/look.py: 3 photo x style pairs at 512 px, coarse to
    #: fine from 256, 100 + 50 steps, the preconditioned L-BFGS; referee measures of helpers.measures).
    #: Mean over the pairs, style left / photo lost: beta 10 -> 0.109 / 0.360, 15 -> 0.067 / 0.417,
    #: 20 -> 0.048 / 0.460; 15 is the one that meets both goals (<= 0.1 and <= 0.45) on the mean (plain
    #: L-BFGS gave 0.068 / 0.425 and chose it too). Its worst pairs: chelsea x swirls keeps 0.112 of the
    #: style distance, grace_hopper x pointillism loses 0.496. Starting from noise instead (plain
    #: L-BFGS): 0.071 / 0.497 (more photo lost, no more style). One beta does not serve every size: at
    #: 256 px (128 -> 256) beta 15 gives 0.038 / 0.453, and grace_hopper x pointillism loses 0.529 of
    #: the photo (at 256 px the goal was <= 0.5); chosen for 384-1024 px.
    style_weight: float = _opt(15.0, "beta of eq. 7: how much the style counts (with the default "
                               "relative objective the balance does not depend on image size)",
                               ui=("log", -3, 4))
    tv_weight: float = _opt(0.0, "total-variation smoothness weight (0: off)", ui=("log", -4, 2))
    objective: str = _opt("relative", "'relative': each term divided by its target's own size, "
                          "so the content/style balance is the same at every image size and stage; "
                          "'paper': Gatys et al.'s eqs. 1 and 3-5 exactly (balance changes with size)",
                          choices=OBJECTIVES)
    content_layers: tuple = _opt(CONTENT_LAYERS, "VGG19 layers of the content term",
                                 choices=LAYER_NAMES)
    style_layers: tuple = _opt(STYLE_LAYERS, "VGG19 layers of the style term", choices=LAYER_NAMES)
    style_layer_weights: dict | None = _opt(None, "w_l per style layer (default 1/L each)")
    size: Any = _opt(None, "long side of the result in px, or a coarse-to-fine schedule such as "
                     "256 512 (None: the content's own size)")
    steps: Any = _opt(200, "optimiser steps (per size stage: one number or one per stage)")
    style_scale: float = _opt(1.0, "style image size relative to the result (0.5: strokes half "
                              "as big)", ui=("lin", 0.25, 2.0))
    style_blend: tuple | None = _opt(None, "one weight per style image when blending several")
    masks: tuple | None = _opt(None, "one mask per style image: where each style goes")
    init: Any = _opt("content", "starting image", choices=INITS)
    optimizer: str = _opt("lbfgs", "optimiser", choices=OPTIMIZERS)
    lr: float | None = _opt(None, "step size (None: 1.0 for L-BFGS, 0.02 for Adam)")
    #: Measured at 256 px, 100 steps, bf16, loss after the run for power 0 / 0.5 / 1 / 1.5 / 2: content
    #: reconstruction from noise (relu4_2, paper objective) 8.1e8 / 3.7e8 / 2.9e8 / 6.7e8 / 2.5e9;
    #: swirls texture 4.0e10 / 2.9e10 / 2.9e10 / 4.5e10 / 1.2e11; default transfer chelsea x swirls
    #: 1.353 / 1.328 / 1.330 / 1.377 / 1.511. Default transfers of chelsea, power 0.5: the step at
    #: which plain L-BFGS's 100-step loss is reached -- stained glass 54, mondrian 58, swirls 83,
    #: low poly 97, pointillism 100 (equal), op art never (1 % higher at step 100). At the look grid's
    #: length (512 px, 100 + 50 steps coarse to fine, 3 pairs) 0.5 changes little: beta 15 mean style
    #: left / photo lost 0.067 / 0.417 against plain's 0.068 / 0.425. Hence 0.5 by default.
    #: With masks it is off by default: chelsea with Mondrian | op art halves, 40 steps, the colour
    #: contrast between the halves falls from 1.58 (plain) to 1.34 at 0.5 (64 px; 1.31 -> 1.20 at
    #: 128 px) as the op-art half keeps more of the photo's colours, and at 64 px the loss ends higher
    #: (7.70 against 7.59). Smoothing each step within each mask's region only changed neither.
    precondition: float | None = _opt(None, "L-BFGS preconditioner: damp each spatial frequency f of "
                                      "a step by f^-power (0: plain L-BFGS; None: "
                                      f"{DEFAULT_PRECONDITION:g}, or 0 with masks; {DEFAULT_PRECONDITION:g} "
                                      "gets further in the same steps on most styles and needs 60 % of "
                                      "the steps on a reconstruction)")
    weights: str = _opt("caffe", "VGG19 weights", choices=WEIGHTS)
    pooling: str = _opt("max", "VGG19 pooling", choices=POOLING)
    padding: str = _opt("reflect", "VGG19 conv padding (zeros: as trained; leaves a frame)", choices=PADDING)
    preserve_color: str | None = _opt(None, "keep the content's colours", choices=PRESERVE_COLOR)
    precision: str | None = _opt(None, "VGG pass precision (None: per device default)",
                                 choices=(None, *PRECISIONS))
    seed: int = _opt(0, "random seed (noise init)")
    device: Any = _opt(None, "cpu, cuda, mps (None: best available)")
    snapshot_every: int = _opt(0, "keep every k-th step's image (0: none)")
    callback: Callable | None = _opt(None, "callback(step, image, record) -> False to stop",
                                     cli=False)
    progress: bool = _opt(True, "show a progress bar", cli=False)
    cache: dict | None = _opt(None, "a dict kept between runs for targets", cli=False)

    def __post_init__(self):
        for name in ("content_layers", "style_layers"):
            value = getattr(self, name)
            value = (value,) if isinstance(value, str) else tuple(value)
            object.__setattr__(self, name, value)
            bad = [n for n in value if n not in LAYER_NAMES]
            if bad:
                raise OptionError(f"{name}: unknown layer(s) {bad}{_typo_hint(bad)}; names are "
                                  f"{', '.join(LAYER_NAMES)}")
        for f in fields(self):
            choices = f.metadata["choices"]
            value = getattr(self, f.name)
            if choices and not isinstance(value, tuple) and not (f.name == "init" and _is_tensor(value)):
                if value not in choices:
                    raise OptionError(f"{f.name}={value!r} is not one of {tuple(choices)}")
        for name in ("content_weight", "style_weight", "tv_weight"):
            _number(name, getattr(self, name), lo=0)
        _number("style_scale", self.style_scale, lo=0, hi=8, open_lo=True)
        if self.precondition is not None:
            _number("precondition", self.precondition, lo=0, hi=4)
        if self.lr is not None:
            _number("lr", self.lr, lo=0, open_lo=True)
        if not (isinstance(self.seed, int) and not isinstance(self.seed, bool)):
            raise OptionError(f"seed={self.seed!r} must be a whole number")
        if not (isinstance(self.snapshot_every, int) and self.snapshot_every >= 0):
            raise OptionError(f"snapshot_every={self.snapshot_every!r} must be a whole number >= 0")
        sizes = self.sizes
        for s in sizes:
            if s is not None and (not isinstance(s, int) or isinstance(s, bool) or s < MIN_SIDE):
                raise OptionError(f"size={self.size!r}: each size must be a whole number of "
                                  f"pixels >= {MIN_SIDE}")
        steps = as_list(self.steps)
        if any(not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in steps):
            raise OptionError(f"steps={self.steps!r} must be a whole number >= 0 (or one per stage)")
        if len(steps) not in (1, len(sizes)):
            raise OptionError(f"steps={self.steps!r} must be one number or one per size stage "
                              f"({len(sizes)})")
        if self.style_layer_weights is not None:
            w = dict(self.style_layer_weights)
            bad = [n for n in w if n not in self.style_layers]
            if bad:
                known = tuple(n for n in bad if n in LAYER_NAMES)
                fix = (f"add them to style_layers (style_layers={self.style_layers + known!r}) or "
                       "drop them from style_layer_weights" if known else
                       "use layers of style_layers, or drop them from style_layer_weights")
                raise OptionError(f"style_layer_weights: {bad} not in style_layers "
                                  f"{self.style_layers}{_typo_hint(bad, self.style_layers)}; {fix}")
            for n, v in w.items():
                _number(f"style_layer_weights[{n!r}]", v, lo=0)
        if self.style_blend is not None:
            blend = tuple(self.style_blend)
            object.__setattr__(self, "style_blend", blend)
            for i, b in enumerate(blend):
                _number(f"style_blend[{i}]", b, lo=0)
            if sum(blend) <= 0:
                raise OptionError(f"style_blend={blend!r}: at least one weight must be > 0")
            if self.masks is not None:
                raise OptionError("style_blend and masks do not go together: masks place each "
                                  "style in its region, style_blend mixes them everywhere; give one")
        if self.masks is not None:
            object.__setattr__(self, "masks", tuple(self.masks))
        if not (self.content_weight or self.style_weight):
            raise OptionError("content_weight and style_weight are both 0: nothing to optimise")

    @property
    def sizes(self) -> list:
        """The size schedule as a list (one entry per coarse-to-fine stage)."""
        return as_list(self.size)

    @property
    def steps_per_stage(self) -> list[int]:
        steps = as_list(self.steps)
        return steps * len(self.sizes) if len(steps) == 1 else steps

    @property
    def step_size(self) -> float:
        return DEFAULT_LR[self.optimizer] if self.lr is None else float(self.lr)

    @property
    def precondition_power(self) -> float:
        """The L-BFGS preconditioner's power this run uses (0: none; Adam takes none)."""
        if self.optimizer != "lbfgs":
            return 0.0
        if self.precondition is not None:
            return float(self.precondition)
        return 0.0 if self.masks is not None else DEFAULT_PRECONDITION


def _is_tensor(v) -> bool:
    import torch
    return isinstance(v, torch.Tensor)


def as_list(x) -> list:
    """``x`` as a list: a list or tuple's items, anything else as the one item."""
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _typo_hint(names, known: Sequence[str] = LAYER_NAMES) -> str:
    """" ('relu9_1' is no VGG19 layer; did you mean 'relu1_1'?)" for the names that are no layer,
    the suggestion taken from ``known`` (the layers the name should have matched)."""
    hints = []
    for n in names:
        if n not in LAYER_NAMES:
            near = close_names(str(n), list(known))[:1]
            hints.append(f"{n!r} is no VGG19 layer" + (f"; did you mean {near[0]!r}?" if near else ""))
    return f" ({'; '.join(hints)})" if hints else ""


def _number(name: str, v, *, lo=None, hi=None, open_lo=False) -> None:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    ok = ok and (lo is None or (v > lo if open_lo else v >= lo)) and (hi is None or v <= hi)
    if not ok:
        rng = f"{'>' if open_lo else '>='} {lo}" + (f" and <= {hi}" if hi is not None else "")
        raise OptionError(f"{name}={v!r} must be a finite number {rng}")


def defaults() -> dict[str, Any]:
    """Option name -> default value."""
    out = {}
    for f in fields(Options):
        out[f.name] = f.default if f.default is not MISSING else f.default_factory()
    return out


def described() -> list[tuple[str, Any, dict]]:
    """(name, default, metadata) of every option, in declaration order (for CLI and studio)."""
    d = defaults()
    return [(f.name, d[f.name], dict(f.metadata)) for f in fields(Options)]


def signature(positional: Sequence[str]) -> inspect.Signature:
    """``f(<positional>, *, <every option with its default>)``: stylize's signature, for help()."""
    types = {f.name: f.type for f in fields(Options)}
    params = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in positional]
    params += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=v, annotation=types[n])
               for n, v in defaults().items()]
    return inspect.Signature(params, return_annotation="Result")
