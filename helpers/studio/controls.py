"""The studio's controls, derived from :mod:`helpers.options`: one row per option, one widget per row.

:func:`build` walks ``options.described()`` and gives every option a control by one rule table:

========================================  =============================================
the option's metadata                     its control
========================================  =============================================
``ui=("log", lo, hi)``                    a slider over 10^lo ... 10^hi, four notches a
                                          decade through the default, and 0 ("off")
``ui=("lin", lo, hi)``                    a float (or int) slider from lo to hi
``choices`` and a tuple default           a multi-select (e.g. layer names)
``choices``                               a dropdown (None reads "off")
a name in :data:`INT_SLIDERS`             an int slider (the studio's own range)
``style_layer_weights``                   one slider per chosen style layer
anything else                             no control: passed to every run as given
========================================  =============================================

So a new option with a ``ui`` range or ``choices`` gets a control with no edit here. Each
:class:`Control` reads and writes its option's value (``read``/``write``); values set in code
that lie off a slider's range widen it rather than being clamped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import ipywidgets as widgets

from .. import options as _options

OFF = "off"  # None in a dropdown (a None option would read as "nothing selected")
#: Where None means "the engine decides" rather than "off".
NONE_LABELS = {"precision": "auto"}
NOTCHES_PER_DECADE = 4
#: Options the studio shows although options.py gives them no ui range: (min, max, step).
INT_SLIDERS = {"steps": (1, 1000, 1), "size": (64, 1024, 32)}
#: Friendlier labels; any other option is labelled by its name.
LABELS = {"content_weight": "content weight α", "style_weight": "style weight β",
          "tv_weight": "smoothing (TV)", "size": "size (px)", "init": "start from",
          "optimizer": "optimiser", "preserve_color": "keep colours", "content_layers": "content layers",
          "style_layers": "style layers", "style_scale": "style scale"}
STYLE = {"description_width": "120px"}


def tip(widget, text: str):
    """Hover text: ``tooltip`` in ipywidgets 8, ``description_tooltip`` in 7 (deprecated in 8)."""
    setattr(widget, "tooltip" if widget.has_trait("tooltip") else "description_tooltip", text)
    return widget


def fmt(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _row():
    return widgets.Layout(width="98%")


@dataclass
class Control:
    """One option's widget: ``kind`` is the rule that made it (log, lin, int, choice, multi, layers)."""

    name: str
    kind: str
    widget: widgets.Widget
    meta: dict = field(default_factory=dict)

    @property
    def none(self) -> str:
        return NONE_LABELS.get(self.name, OFF)

    def read(self):
        w = self.widget
        if self.kind == "choice":
            return None if w.value == self.none else w.value
        if self.kind == "multi":
            return tuple(w.value)
        return w.value

    def write(self, v) -> None:
        w = self.widget
        if self.kind == "log":
            v = float(v)
            if v not in [o[1] for o in w.options]:
                w.options = sorted([*w.options, (_log_label(v), v)], key=lambda o: o[1])
            w.value = v
        elif self.kind in ("lin", "int"):
            w.min, w.max = min(w.min, v), max(w.max, v)
            w.value = v
        elif self.kind == "choice":
            w.value = self.none if v is None else v
        elif self.kind == "multi":
            v = (v,) if isinstance(v, str) else tuple(v)
            w.value = tuple(n for n in w.options if n in v)
        else:
            w.value = v


def _log_label(v: float) -> str:
    return "0 (off)" if v == 0 else fmt(v)


def log_grid(default: float, lo: int, hi: int) -> list[float]:
    """0, then 10^lo ... 10^hi in quarter decades through ``default`` (through 1 if it is 0)."""
    anchor = default if default > 0 else 1.0
    k_lo = math.ceil((lo - math.log10(anchor)) * NOTCHES_PER_DECADE - 1e-9)
    k_hi = math.floor((hi - math.log10(anchor)) * NOTCHES_PER_DECADE + 1e-9)
    grid = [float(f"{anchor * 10 ** (k / NOTCHES_PER_DECADE):.4g}") for k in range(k_lo, k_hi + 1)]
    return sorted({0.0, *grid, float(default)})


def _nice_step(span: float) -> float:
    raw = span / 50
    e = 10 ** math.floor(math.log10(raw))
    return next(m * e for m in (1, 2, 5, 10) if m * e >= raw)


def make(name: str, value, meta: dict) -> Control | None:
    """The control for option ``name`` starting at ``value``, or None (no control): the rule table."""
    ui, choices = meta.get("ui"), meta.get("choices")
    label, doc = LABELS.get(name, name.replace("_", " ")), meta.get("doc", "")
    common = {"description": label, "style": STYLE, "layout": _row()}
    if ui and ui[0] == "log":
        grid = log_grid(float(value), ui[1], ui[2])
        w = widgets.SelectionSlider(options=[(_log_label(v), v) for v in grid], value=float(value),
                                    continuous_update=False, **common)
        kind = "log"
    elif ui and ui[0] == "lin":
        lo, hi = min(ui[1], value), max(ui[2], value)
        if isinstance(value, int) and isinstance(ui[1], int):
            w, kind = widgets.IntSlider(value=value, min=lo, max=hi, continuous_update=False, **common), "int"
        else:
            w = widgets.FloatSlider(value=value, min=lo, max=hi, step=_nice_step(hi - lo),
                                    continuous_update=False, **common)
            kind = "lin"
    elif name in INT_SLIDERS:
        lo, hi, step = INT_SLIDERS[name]
        value = lo if value is None else value
        w = widgets.IntSlider(value=value, min=min(lo, value), max=max(hi, value), step=step,
                              continuous_update=False, **common)
        kind = "int"
    elif choices and isinstance(value, tuple):
        w = widgets.SelectMultiple(options=list(choices), value=tuple(value), rows=5, **common)
        kind = "multi"
    elif choices:
        none = NONE_LABELS.get(name, OFF)
        w = widgets.Dropdown(options=[none if c is None else c for c in choices],
                             value=none if value is None else value, **common)
        kind = "choice"
    else:
        return None
    return Control(name, kind, tip(w, doc), meta)


class LayerWeights:
    """w_l of eq. 5: one 0..1 slider per style layer; all equal reads as None (stylize's 1/L)."""

    kind = "layers"

    def __init__(self, layers, weights=None, on_change=None):
        self.name, self.meta = "style_layer_weights", {}
        self.on_change = on_change
        self.sliders: dict[str, widgets.FloatSlider] = {}
        self.widget = widgets.VBox()
        self.set_layers(layers, weights)

    def set_layers(self, layers, weights=None) -> None:
        """Sliders for ``layers``: at ``weights`` if given, else kept (new layers at 1/L, all 1/L if
        they were equal)."""
        layers = tuple(layers)
        equal = 1.0 / len(layers) if layers else 0.0
        if weights is None:
            old = {} if self.read() is None else {n: s.value for n, s in self.sliders.items()}
            weights = {n: old.get(n, equal) for n in layers}
        self.sliders = {n: widgets.FloatSlider(
            value=weights.get(n, 0.0), min=0.0, max=1.0, step=0.05, description=n,
            continuous_update=False, readout_format=".2f", style=STYLE, layout=_row()) for n in layers}
        for n, s in self.sliders.items():
            s.add_class(f"nst-layer-{n}")
            if self.on_change:
                s.observe(lambda ch, n=n: self.on_change(f"layer {n}"), names="value")
        self.widget.children = tuple(self.sliders.values())

    def read(self):
        w = {n: s.value for n, s in self.sliders.items()}
        return None if not w or all(abs(v - 1.0 / len(w)) < 1e-9 for v in w.values()) else w

    def write(self, v) -> None:
        for n, s in self.sliders.items():
            s.value = 1.0 / len(self.sliders) if v is None else v.get(n, 0.0)


def build(values: dict, on_change=None) -> dict:
    """name -> Control (or LayerWeights) for every option the rule table gives a control.

    ``values``: each option's starting value. ``on_change(name)`` is called when a control moves.
    """
    rows = {}
    for name, default, meta in _options.described():
        if name == "style_layer_weights":
            continue  # after style_layers, whose value it follows
        c = make(name, values.get(name, default), meta)
        if c is not None:
            rows[name] = c
            c.widget.add_class(f"nst-{name}")  # CSS hooks for the browser test
            if on_change:
                c.widget.observe(lambda ch, n=name: on_change(n), names="value")
    if "style_layers" in rows:
        lw = LayerWeights(rows["style_layers"].read(), values.get("style_layer_weights"), on_change)
        rows["style_layer_weights"] = lw
        rows["style_layers"].widget.observe(lambda ch: lw.set_layers(ch["new"]), names="value")
    return rows


def sections(rows: dict) -> dict[str, list]:
    """Where each control goes: "weights" (log sliders), "layers" (layer choices and w_l), "settings"."""
    out = {"weights": [], "settings": [], "layers": []}
    for name, c in rows.items():
        key = ("weights" if c.kind == "log" else
               "layers" if c.kind in ("multi", "layers") else "settings")
        out[key].append(c.widget)
    return out


#: Options the studio passes itself on every run: those only code can give (``cli=False`` in
#: :mod:`helpers.options`: callback, progress, cache), read from there.
OWN_OPTIONS = tuple(name for name, _, meta in _options.described() if not meta["cli"])


def starting_values(defaults: dict) -> dict:
    """Every option's starting value: stylize's defaults, then ``defaults`` (checked at the door).

    ``size`` and ``steps`` not given follow ``lesson_settings`` (small on a CPU and in quick mode).
    Raises TypeError for names that are not options (or that the studio sets itself) and
    ValueError for values the studio cannot show (a size schedule, a tensor init).
    """
    from ..lessons import lesson_settings

    base = _options.defaults()
    unknown = sorted(set(defaults) - set(base))
    if unknown:
        raise TypeError(f"StyleStudio got unknown option(s) {unknown}; it takes stylize's options: "
                        f"{', '.join(n for n in base if n not in OWN_OPTIONS)}")
    own = sorted(set(defaults) & set(OWN_OPTIONS))
    if own:
        raise TypeError(f"StyleStudio sets {own} itself on every run; leave them out")
    if isinstance(defaults.get("size"), (list, tuple)):
        raise ValueError(f"size={defaults['size']!r}: the studio runs one size at a time; "
                         "pass the long side as an int")
    if not isinstance(defaults.get("init", ""), str):
        raise ValueError(f"init: the studio starts from one of {_options.INITS}; to continue from "
                         "an image, tick 'warm start' after a run")
    opts = {**base, **defaults}
    plan = lesson_settings(size=256, steps=base["steps"], gpu_scale=2.0, device=opts["device"])
    opts["size"] = defaults.get("size") or plan["size"]
    steps = defaults.get("steps", plan["steps"])
    opts["steps"] = steps[0] if isinstance(steps, (list, tuple)) else steps
    return opts
