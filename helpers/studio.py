"""StyleStudio: slide the style and content weights, press Run, watch the image change.

A thin ipywidgets shell around :func:`helpers.optimize.stylize` (UI only): every Run is one
``stylize(..., callback=..., cache=..., progress=False)`` call in a background thread, and the
studio renders what the callback reports -- a preview image, a progress bar, a loss plot, the
elapsed time and it/s. Defaults and choices come from stylize's signature and the engine's
constants, never from a copy kept here.

    import helpers as nst
    studio = nst.StyleStudio("chelsea", "mondrian", steps=50)
    studio.display()

Works with core widgets only, on ipywidgets 8 (JupyterLab 4) and 7.7.1 (Colab). Widgets are
updated from the worker thread, which ipykernel allows for value traits; the loss plot is a PNG
drawn with a matplotlib ``Figure`` (never pyplot) into an ``Image`` widget, which is thread-safe
where an ``Output`` widget is not.
"""
from __future__ import annotations

import inspect
import io
import math
import os
import threading
import time
from pathlib import Path

import ipywidgets as widgets
import torch
from IPython.display import display
from PIL import Image

from . import artworks
from .images import load_image, save_image, to_pil
from .lessons import lesson_settings
from .optimize import INITS, OPTIMIZERS, PRESERVE_COLOR, Result, stylize
from .vgg import LAYER_NAMES

#: stylize's keyword options and their defaults: the one copy of every default the studio uses.
STYLIZE_DEFAULTS = {n: p.default for n, p in inspect.signature(stylize).parameters.items()
                    if p.kind is p.KEYWORD_ONLY}
#: Options the studio passes itself on every run.
OWN_OPTIONS = ("callback", "cache", "progress")
#: Log-slider ranges (powers of 10), with the content weight at 1 on the Caffe feature scale: at
#: 64-96 px a style weight of 1e-2 leaves the photo (PSNR 45 dB) and 1 already gives texture; the
#: content loss grows with the pixel count, so 1024 px needs ~100x more. 1e-3 ... 1e6 spans both.
WEIGHT_RANGES = {"content_weight": (-3, 3), "style_weight": (-3, 6)}
#: TV weights offered (0 = off). tv_loss is ~1e2-1e4 on [0, 1] pixels against ~1e10 content loss.
TV_CHOICES = (0.0, *(10.0 ** k for k in range(2, 10)))
PREVIEW_EVERY_S = 0.2  # at most ~5 preview images a second: each is a PNG over the websocket
PLOT_EVERY_S = 0.5  # the loss plot takes ~30 ms to draw
PREVIEW_PX = 256  # displayed width of the preview; small results are enlarged by whole pixels
THUMB_PX = 72
PLOT_PX = 300  # the loss plot: 3.75 x 2.9 inches at 80 dpi
HISTORY_MAX = 8
MAX_UPLOAD_SIDE = 1024  # uploads are shrunk to this long side once, not on every run
CACHE_MAX = 32  # targets kept (content features and style Grams, a few MB each at most)
_STOPS = {"callback": "Stop pressed", "non-finite loss": "the loss became inf or nan"}
_OFF = "off"  # preserve_color=None in the dropdown (a None option reads as "nothing selected")


def _png(img, width: int | None = None) -> bytes:
    """PNG bytes of an image tensor, enlarged by a whole factor (nearest) to about ``width`` px."""
    pil = to_pil(img)
    if width and max(pil.size) < width:
        k = width // max(pil.size)
        pil = pil.resize((pil.width * k, pil.height * k), Image.NEAREST)
    buf = io.BytesIO()
    pil.save(buf, format="png")
    return buf.getvalue()


def uploaded_files(value) -> list[tuple[str, bytes]]:
    """(name, bytes) of a FileUpload value: a dict in ipywidgets 7, a tuple of dicts in 8."""
    if isinstance(value, dict):  # 7.x: {filename: {"metadata": {...}, "content": bytes}}
        return [(name, bytes(f["content"])) for name, f in value.items()]
    return [(f["name"], bytes(f["content"])) for f in value]  # 8.x: content is a memoryview


def _tip(widget, text: str):
    """Hover text: ``tooltip`` in ipywidgets 8, ``description_tooltip`` in 7 (deprecated in 8)."""
    name = "tooltip" if widget.has_trait("tooltip") else "description_tooltip"
    setattr(widget, name, text)
    return widget


def _fmt(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


class StyleStudio:
    """Widgets to run :func:`stylize` interactively: weights, layers, options, live preview.

    content, style: anything ``load_image`` accepts (an embedded name such as "chelsea", a path,
    URL, PIL image, array or tensor). ``defaults``: any stylize keyword option (e.g. ``size=64,
    steps=10, style_weight=1e4, seed=1``); options with a control set its starting value, the
    others are passed to every run unchanged. Unset options take stylize's defaults, except
    ``size`` and ``steps``, which follow ``lesson_settings`` (small on a CPU and in quick mode).

    Controls changed during a run apply to the next run (the status line says so). Attributes
    for notebooks and tests: ``controls`` (option name -> widget), ``run_button``,
    ``stop_button``, ``save_button``, ``preview``, ``loss_plot``, ``progress``, ``status``,
    ``history`` (one dict per finished run), ``result`` (the last Result) and ``widget``.
    """

    def __init__(self, content="chelsea", style="mondrian", **defaults):
        unknown = sorted(set(defaults) - set(STYLIZE_DEFAULTS))
        if unknown:
            raise TypeError(f"StyleStudio got unknown option(s) {unknown}; it takes stylize's options: "
                            f"{', '.join(n for n in STYLIZE_DEFAULTS if n not in OWN_OPTIONS)}")
        own = sorted(set(defaults) & set(OWN_OPTIONS))
        if own:
            raise TypeError(f"StyleStudio sets {own} itself on every run; leave them out")
        if isinstance(defaults.get("size"), (list, tuple)):
            raise ValueError(f"size={defaults['size']!r}: the studio runs one size at a time; "
                             "pass the long side as an int")
        if isinstance(defaults.get("init"), torch.Tensor):
            raise ValueError("init: the studio starts from 'content', 'noise', 'style' or 'blurred'; "
                             "to continue from an image, tick 'warm start' after a run")
        opts = {**STYLIZE_DEFAULTS, **defaults}
        plan = lesson_settings(size=256, steps=STYLIZE_DEFAULTS["steps"], gpu_scale=2.0,
                               device=opts["device"])
        opts["size"] = defaults.get("size") or plan["size"]
        opts["steps"] = defaults.get("steps", plan["steps"])
        if isinstance(opts["steps"], (list, tuple)):
            opts["steps"] = opts["steps"][0]
        controlled = ("content_weight", "style_weight", "tv_weight", "content_layers", "style_layers",
                      "style_layer_weights", "init", "optimizer", "steps", "size", "preserve_color")
        #: options without a control: passed to every run as given (seed, weights, device, ...)
        self.fixed = {k: v for k, v in opts.items() if k not in controlled and k not in OWN_OPTIONS}
        self.result: Result | None = None
        self.history: list[dict] = []
        self.error: BaseException | None = None
        self.preview_updates = 0  # preview images sent during runs (for the update rate)
        self._cache: dict = {}  # stylize's targets, kept across runs
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._plot_lock = threading.Lock()
        self._sources = {"content": {}, "style": {}}  # picker label -> image source
        self._shown = None  # the image in the preview (what Save writes)
        self._changed: list[str] = []  # controls changed during the current run
        self._losses: list[dict] = []
        self._previous_losses: list[dict] = []
        self._runs = 0
        self._t_first = self._t_preview = self._t_plot = None
        self._build(opts)
        self._add_source("content", content)
        self._add_source("style", style)
        self._draw_plot()

    # ------------------------------------------------------------------ layout

    def _build(self, o: dict):
        wide = {"description_width": "120px"}
        row = widgets.Layout(width="98%")
        c = {}

        def log_slider(name, label, tip):
            lo, hi = WEIGHT_RANGES[name]
            lo, hi = min(lo, _decade(o[name])), max(hi, _decade(o[name]))
            s = widgets.FloatLogSlider(value=o[name] or 10.0 ** lo, base=10, min=lo, max=hi, step=0.25,
                                       description=label, readout_format=".2g", continuous_update=False,
                                       style=wide, layout=row)
            return _tip(s, tip)

        c["content_weight"] = log_slider("content_weight", "content weight α",
                                         "alpha in eq. 1: how much the result keeps the photo's layout")
        c["style_weight"] = log_slider("style_weight", "style weight β",
                                       "beta in eq. 1: how much the result takes the style's texture")
        tv = sorted({*TV_CHOICES, float(o["tv_weight"])})
        c["tv_weight"] = _tip(widgets.SelectionSlider(
            options=[(_fmt(v) if v else "0 (off)", v) for v in tv], value=float(o["tv_weight"]),
            description="smoothing (TV)", continuous_update=False, style=wide, layout=row),
            "total-variation weight: removes pixel speckle (0 = off, as in Gatys et al.)")
        self.ratio = widgets.HTML()
        layers = tuple(o["style_layers"])
        lw = o["style_layer_weights"] or {n: 1.0 / len(layers) for n in layers}
        self.layer_sliders = {n: widgets.FloatSlider(value=lw.get(n, 0.0), min=0.0, max=1.0, step=0.05,
                                                     description=n, continuous_update=False,
                                                     readout_format=".2f", style=wide, layout=row)
                              for n in layers}
        equal = widgets.Button(description="equal weights", layout=widgets.Layout(width="140px"))
        equal.on_click(lambda _: self.set(style_layer_weights=None))
        content_layers = "+".join(o["content_layers"])
        c["content_layers"] = _tip(widgets.Dropdown(
            options=list(dict.fromkeys((content_layers, *LAYER_NAMES))), value=content_layers,
            description="content layer", style=wide, layout=row),
            "the layer whose features the result must match (eq. 2)")
        c["init"] = _tip(widgets.Dropdown(options=list(INITS), value=o["init"], description="start from",
                                          style=wide, layout=row),
                         "the first image: the photo, noise, the style image or the blurred photo")
        c["optimizer"] = widgets.Dropdown(options=list(OPTIMIZERS), value=o["optimizer"],
                                          description="optimiser", style=wide, layout=row)
        c["steps"] = widgets.IntSlider(value=o["steps"], min=1, max=max(1000, o["steps"]), step=1,
                                       description="steps", continuous_update=False, style=wide,
                                       layout=row)
        c["size"] = _tip(widgets.IntSlider(value=o["size"], min=64, max=max(1024, o["size"]), step=32,
                                           description="size (px)", continuous_update=False,
                                           style=wide, layout=row),
                         "long side of the result; time per step grows with its square")
        c["preserve_color"] = _tip(widgets.Dropdown(
            options=[_OFF if p is None else p for p in PRESERVE_COLOR],
            value=o["preserve_color"] or _OFF, description="keep colours", style=wide, layout=row),
            "keep the photo's colours: 'luminance' transfers on brightness only, "
            "'histogram' recolours the style first")
        self.controls = c
        self.warm_start = _tip(widgets.Checkbox(value=False, description="warm start (from the last result)",
                                                indent=False), "start the next run from the last result")
        c["warm_start"] = self.warm_start

        self.pickers, self.uploads, self.thumbs = {}, {}, {}
        cards = []
        for kind in ("content", "style"):
            self.thumbs[kind] = widgets.Image(format="png")
            self.pickers[kind] = widgets.Dropdown(options=artworks.names(kind),
                                                  layout=widgets.Layout(width="118px"))
            self.uploads[kind] = _tip(widgets.FileUpload(accept="image/*", multiple=False, description="upload",
                                                         layout=widgets.Layout(width="118px")),
                                      f"use your own {kind} picture (shrunk to {MAX_UPLOAD_SIDE} px)")
            self.pickers[kind].observe(lambda ch, k=kind: self._on_pick(k), names="value")
            self.uploads[kind].observe(lambda ch, k=kind: self._on_upload(k, ch["new"]), names="value")
            box = widgets.Box([self.thumbs[kind]], layout=widgets.Layout(
                width=f"{THUMB_PX + 4}px", height=f"{THUMB_PX + 4}px", justify_content="center",
                align_items="center"))
            cards.append(widgets.HBox([box, widgets.VBox([
                widgets.HTML(f"<b>{kind}</b>"), self.pickers[kind], self.uploads[kind]])],
                layout=widgets.Layout(width="50%", align_items="center")))

        self.run_button = widgets.Button(description="Run", icon="play", button_style="success",
                                         tooltip="optimise with the settings above",
                                         layout=widgets.Layout(width="110px"))
        self.stop_button = widgets.Button(description="Stop", icon="stop", button_style="danger",
                                          disabled=True, tooltip="stop now and keep the best image so far",
                                          layout=widgets.Layout(width="110px"))
        self.run_button.on_click(self._on_run)
        self.stop_button.on_click(lambda _: self.stop())
        self.save_name = widgets.Text(value="stylized.png", layout=widgets.Layout(width="170px"))
        self.save_button = widgets.Button(description="Save", icon="save", tooltip="write the image shown",
                                          layout=widgets.Layout(width="90px"))
        self.save_button.on_click(self._on_save)

        self.preview = widgets.Image(format="png", layout=widgets.Layout(width=f"{PREVIEW_PX}px",
                                                                          margin="0 8px 0 0"))
        self.loss_plot = widgets.Image(format="png", layout=widgets.Layout(width=f"{PLOT_PX}px"))
        self.progress = widgets.IntProgress(value=0, min=0, max=o["steps"], bar_style="info",
                                            layout=widgets.Layout(width="98%"))
        self.stats = widgets.HTML("<span style='color:#666'>step 0 · 0.0 s · – it/s</span>")
        self.status = widgets.HTML()
        self.strip = widgets.HBox([widgets.HTML("<span style='color:#888'>Each finished run lands here "
                                                "with its settings, to compare.</span>")],
                                  layout=widgets.Layout(overflow="auto", width="100%"))

        settings_tab = widgets.VBox([c["steps"], c["size"], c["init"], c["optimizer"],
                                     c["content_layers"], c["preserve_color"]])
        layers_tab = widgets.VBox([*self.layer_sliders.values(), widgets.HTML(
            "<small>w<sub>l</sub> in eq. 3 (stylize's default: 1/L each)</small>"), equal])
        tabs = widgets.Tab(children=[settings_tab, layers_tab])
        tabs.set_title(0, "Run settings")
        tabs.set_title(1, "Style layers")
        left = widgets.VBox([
            widgets.HBox(cards), _heading("Weights (eq. 1)"), c["content_weight"], c["style_weight"],
            self.ratio, c["tv_weight"], tabs,
            widgets.HBox([self.run_button, self.stop_button, self.warm_start],
                         layout=widgets.Layout(align_items="center", margin="8px 0 0 0")),
        ], layout=widgets.Layout(width="410px", margin="0 20px 0 0"))
        right = widgets.VBox([
            widgets.HBox([self.preview, self.loss_plot],
                         layout=widgets.Layout(align_items="flex-start")),
            self.progress, self.stats, self.status,
            widgets.HBox([self.save_name, self.save_button]),
            _heading("History (newest first)"), self.strip,
        ], layout=widgets.Layout(width=f"{PREVIEW_PX + PLOT_PX + 12}px"))
        self.widget = widgets.VBox([
            widgets.HTML("<h3 style='margin:4px 0'>Style studio</h3><span style='color:#555'>"
                         "Pick two pictures, set the weights, press <b>Run</b>. Changes made while a run "
                         "is going apply to the <b>next</b> run.</span>"),
            widgets.HBox([left, right], layout=widgets.Layout(flex_flow="row wrap")),
        ])
        for name, w in [*c.items(), *((f"layer {n}", s) for n, s in self.layer_sliders.items())]:
            w.observe(lambda ch, n=name: self._on_change(n), names="value")
            w.add_class(f"nst-{name.replace(' ', '-')}")  # CSS hooks for the browser test
        for name in ("widget", "preview", "loss_plot", "progress", "stats", "status", "strip"):
            getattr(self, name).add_class(f"nst-{name}")
        self._update_ratio()
        self._say("Ready: press <b>Run</b>.")

    # ------------------------------------------------------------------ public API

    def display(self) -> None:
        """Show the studio in the notebook (the same as leaving it as a cell's last expression)."""
        display(self.widget)

    def _ipython_display_(self):
        display(self.widget)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def settings(self) -> dict:
        """The options the next Run passes to stylize (besides callback, cache and progress)."""
        c = self.controls
        layers = tuple(self.layer_sliders)
        weights = {n: s.value for n, s in self.layer_sliders.items()}
        equal = all(abs(w - 1.0 / len(layers)) < 1e-9 for w in weights.values())
        return {**self.fixed, "content_weight": c["content_weight"].value,
                "style_weight": c["style_weight"].value, "tv_weight": c["tv_weight"].value,
                "content_layers": tuple(c["content_layers"].value.split("+")), "style_layers": layers,
                "style_layer_weights": None if equal else weights, "init": c["init"].value,
                "optimizer": c["optimizer"].value, "steps": c["steps"].value, "size": c["size"].value,
                "preserve_color": None if c["preserve_color"].value == _OFF else c["preserve_color"].value}

    def set(self, **options) -> None:
        """Set controls: any option with a control, ``content``/``style`` (a picker name or an image)
        and ``warm_start``. E.g. ``studio.set(style_weight=1e4, steps=50)``."""
        for name, v in options.items():
            if name in ("content", "style"):
                if isinstance(v, str) and v in self.pickers[name].options:
                    self.pickers[name].value = v
                else:
                    self._add_source(name, v)
            elif name == "style_layer_weights":
                for n, s in self.layer_sliders.items():
                    s.value = 1.0 / len(self.layer_sliders) if v is None else v.get(n, 0.0)
            elif name == "content_layers":
                v = v if isinstance(v, str) else "+".join(v)
                w = self.controls[name]
                if v not in w.options:
                    w.options = (*w.options, v)
                w.value = v
            elif name == "preserve_color":
                self.controls[name].value = v or _OFF
            elif name == "tv_weight":
                w = self.controls[name]
                if float(v) not in [o[1] for o in w.options]:
                    w.options = sorted([*w.options, (_fmt(float(v)), float(v))], key=lambda o: o[1])
                w.value = float(v)
            elif name in ("content_weight", "style_weight") and v > 0:
                w = self.controls[name]  # widen the slider rather than clamp a value set in code
                w.min, w.max = min(w.min, _decade(v)), max(w.max, _decade(v) + 1)
                w.value = v
            elif name in self.controls:
                self.controls[name].value = v
            else:
                raise TypeError(f"set: no control for {name!r}; controls: "
                                f"{', '.join(['content', 'style', 'style_layer_weights', *self.controls])}")

    def run(self, **options) -> None:
        """Set ``options`` (see :meth:`set`) and press Run; returns at once (see :meth:`wait`)."""
        self.set(**options)
        self.run_button.click()

    def stop(self) -> None:
        """Ask the running optimisation to stop; it keeps the best image so far."""
        if self.running:
            self._stop.set()
            self._say("Stopping after the current step…", "#b36b00")

    def wait(self, timeout: float | None = None) -> Result | None:
        """Block until the current run ends; return its Result (re-raises the run's error).

        In a notebook this holds the kernel, so Stop clicks wait until it returns.
        """
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"the run was still going after {timeout} s")
        if self.error is not None:
            raise self.error
        return self.result

    # ------------------------------------------------------------------ events

    def _on_change(self, name: str):
        if name in ("content_weight", "style_weight"):
            self._update_ratio()
        if self.running and name not in self._changed:
            self._changed.append(name)
            self._say(f"Running… changed {', '.join(self._changed)}: <b>applies to the next run</b> "
                      "(press Stop, then Run, to use it now).", "#b36b00")

    def _on_pick(self, kind: str):
        try:
            self.thumbs[kind].value = _png(load_image(self._source(kind), size=THUMB_PX, device="cpu"))
        except Exception as e:  # a broken file must not break the studio: say what went wrong
            self._say(f"Cannot show the {kind} picture: {e}", "#c00")
        if kind == "content" and not self.running and self.result is None:
            self._show_image(self._source("content"), count=False)
        self._on_change(kind)

    def _on_upload(self, kind: str, value):
        for name, data in uploaded_files(value):
            try:
                img = load_image(Image.open(io.BytesIO(data)), device="cpu")
            except Exception as e:
                self._say(f"Upload {name!r} is not a picture the studio can use: {e}", "#c00")
                continue
            if max(img.shape[-2:]) > MAX_UPLOAD_SIDE:
                img = load_image(img, size=MAX_UPLOAD_SIDE, device="cpu")
            self._add_source(kind, img, label=f"upload: {name}")
            self._say(f"Uploaded {name} as the {kind} picture.")

    def _on_save(self, _=None):
        img = self._shown
        if img is None:
            self._say("Nothing to save yet: press Run first.", "#c00")
            return
        name = self.save_name.value.strip() or "stylized.png"
        try:
            path = save_image(img, name)
        except Exception as e:
            self._say(f"Could not save: {e}", "#c00")
            return
        self._say(f"Saved the {img.shape[-1]}x{img.shape[-2]} image to {path.resolve()}")
        # offer the next free name, so the next Save keeps this file
        base, _, num = path.stem.rpartition("_")
        base = base if base and num.isdigit() else path.stem
        n = 2
        while path.with_name(f"{base}_{n}{path.suffix}").exists():
            n += 1
        nxt = path.with_name(f"{base}_{n}{path.suffix}")
        self.save_name.value = nxt.name if Path(name).parent == Path(".") else str(nxt)

    def _on_run(self, _=None):
        if self.running:
            return
        try:
            kwargs = self.settings()
            content, style = self._source("content"), self._source("style")
        except Exception as e:
            self._say(f"Cannot run: {e}", "#c00")
            return
        note = ""
        if self.warm_start.value and self.history:
            if self.history[0]["content"] == self.pickers["content"].value:
                kwargs["init"] = self.result.image
                note = " (warm start from the last result)"
            else:
                note = " (no warm start: the content picture changed)"
        while len(self._cache) > CACHE_MAX:  # between runs only: the worker reads it
            self._cache.pop(next(iter(self._cache)))
        self.error = None
        self._stop.clear()
        self._changed = []
        self._previous_losses, self._losses = self._losses, []
        self.run_button.disabled, self.stop_button.disabled = True, False
        self.progress.max, self.progress.value, self.progress.bar_style = kwargs["steps"], 0, "info"
        self._say(f"Running{note}… changes made now <b>apply to the next run</b>.")
        self._thread = threading.Thread(target=self._work, args=(content, style, kwargs, note),
                                        name="StyleStudio", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the worker thread

    def _work(self, content, style, kwargs, note: str = ""):
        self._t_first = self._t_preview = self._t_plot = None
        steps = kwargs["steps"]
        try:
            res = stylize(content, style, callback=self._callback, cache=self._cache, progress=False, **kwargs)
            self.result = res
            self._show_image(res.image)
            self._draw_plot()
            done = len(res.history)
            self._update_stats(done, steps, res.seconds)
            if res.stopped_reason == "finished":
                self.progress.value, self.progress.bar_style = steps, "success"
                msg, colour = f"Finished {steps} steps in {res.seconds:.1f} s{note}.", "#2a7d2a"
            else:
                self.progress.bar_style = "warning"
                why = _STOPS.get(res.stopped_reason, res.stopped_reason)
                msg, colour = (f"Stopped after {done} of {steps} steps ({why}){note}; "
                               f"showing the best image (step {res.best_step})."), "#b36b00"
            if self._changed:
                msg += f" You changed {', '.join(self._changed)} during the run: press Run to use it."
            self._add_history(res, kwargs)
        except BaseException as e:  # shown in the status line; wait() re-raises it
            self.error = e
            self.progress.bar_style = "danger"
            msg, colour = f"The run failed: {type(e).__name__}: {e}", "#c00"
        finally:
            self.run_button.disabled, self.stop_button.disabled = False, True
            self._say(msg, colour)  # last, so "Finished" / "Stopped" means ready for the next run

    def _callback(self, step: int, image: torch.Tensor, losses: dict) -> bool:
        now = time.perf_counter()
        self._losses.append(losses)
        n = len(self._losses)
        if self._t_first is None:
            self._t_first = now
        self.progress.value = n
        last = n == self.progress.max
        if last or self._t_preview is None or now - self._t_preview >= PREVIEW_EVERY_S:
            self._t_preview = now
            self._show_image(image)
            self._update_stats(n, self.progress.max, losses["seconds"])
        if last or self._t_plot is None or now - self._t_plot >= PLOT_EVERY_S:
            self._t_plot = now
            self._draw_plot()
        return not self._stop.is_set()

    # ------------------------------------------------------------------ rendering

    def _show_image(self, img, count: bool = True):
        if not isinstance(img, torch.Tensor):
            img = load_image(img, size=self.controls["size"].value, device="cpu")
        self._shown = img.detach().cpu() if count else None
        self.preview.value = _png(self._shown if count else img, PREVIEW_PX)
        self.preview_updates += count

    def _update_stats(self, n: int, total: int, seconds: float):
        rate = (n - 1) / (time.perf_counter() - self._t_first) if n > 1 and self._t_first else 0.0
        last = self._losses[-1] if self._losses else {}
        terms = " · ".join(f"{k} {last[k]:.3g}" for k in ("content", "style", "tv") if last.get(k))
        self.stats.value = (f"step <b>{n}/{total}</b> · {seconds:.1f} s · {rate:.2f} it/s"
                            + (f" · <span style='color:#666'>{terms}</span>" if terms else ""))

    def _draw_plot(self):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        with self._plot_lock:
            fig = Figure(figsize=(PLOT_PX / 80, 2.9), dpi=80)
            FigureCanvasAgg(fig)
            ax = fig.add_subplot()
            colours = {"total": "#bbb", "content": "#1f77b4", "style": "#d62728", "tv": "#2ca02c"}
            old = [(h["step"] - self._previous_losses[0]["step"], h["total"])
                   for h in self._previous_losses if h["total"] > 0]
            if old:
                ax.plot(*zip(*old), color="#999", ls="--", lw=1, label="last run")
            for k, colour in colours.items():
                pts = [(i, h[k]) for i, h in enumerate(self._losses) if h[k] > 0]
                if pts:
                    ax.plot(*zip(*pts), color=colour, lw=4 if k == "total" else 1.5, label=k)
            ax.set_xlabel("step", fontsize=9)
            ax.set_title("weighted losses (log scale)", fontsize=10)
            if ax.lines:
                ax.set_xlim(0, max(self.progress.max - 1, len(old) - 1, len(self._losses) - 1, 1))
                ax.set_yscale("log")
                ax.grid(True, which="major", alpha=0.3)
                ax.legend(fontsize=7, loc="best", framealpha=0.8)
            else:
                ax.set_xticks([])
                ax.set_yticks([])
                ax.text(0.5, 0.5, "losses appear here\nwhen you press Run", ha="center", va="center",
                        transform=ax.transAxes, color="#888")
            ax.tick_params(labelsize=8)
            fig.tight_layout()
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
        self.loss_plot.value = buf.getvalue()

    def _add_history(self, res: Result, kwargs: dict):
        s = {k: v for k, v in kwargs.items() if k != "init" or isinstance(v, str)}
        entry = {"content": self.pickers["content"].value, "style": self.pickers["style"].value,
                 "settings": s, "warm_start": not isinstance(kwargs["init"], str), "image": res.image,
                 "loss": res.loss, "seconds": res.seconds, "steps_run": len(res.history),
                 "stopped_reason": res.stopped_reason}
        self.history.insert(0, entry)
        del self.history[HISTORY_MAX:]
        lw = s["style_layer_weights"]
        self._runs += 1
        lines = [f"#{self._runs} {entry['content']} × {entry['style']}",
                 f"α {_fmt(s['content_weight'])} · β {_fmt(s['style_weight'])} · tv {_fmt(s['tv_weight'])}",
                 f"{entry['steps_run']} steps · {s['size']} px · {s['optimizer']} · "
                 f"{'warm' if entry['warm_start'] else s['init']}",
                 f"{res.seconds:.1f} s · loss {res.loss:.3g}" + ("" if res.stopped_reason == "finished"
                                                               else " · stopped")]
        if lw:
            lines.append("layers " + " ".join(f"{w:.2g}" for w in lw.values()))
        reuse = widgets.Button(description="use settings", layout=widgets.Layout(width="auto"),
                               tooltip="put these settings back into the controls")
        controls = {**{k: s[k] for k in ("content_weight", "style_weight", "tv_weight", "content_layers",
                                         "style_layer_weights", "optimizer", "steps", "size",
                                         "preserve_color") if k in s},
                    "content": entry["content"], "style": entry["style"],
                    **({"init": s["init"]} if "init" in s else {})}
        reuse.on_click(lambda _: self.set(**controls))
        card = widgets.VBox([widgets.Image(value=_png(res.image, 120), format="png",
                                           layout=widgets.Layout(width="120px")),
                             widgets.HTML("<div style='font-size:11px;line-height:1.3'>"
                                          + "<br>".join(lines) + "</div>"), reuse],
                            layout=widgets.Layout(width="190px", min_width="190px", margin="0 8px 0 0",
                                                  border="1px solid #ddd", padding="4px"))
        self.strip.children = (card, *self.strip.children[:HISTORY_MAX - 1][:len(self.history) - 1])

    # ------------------------------------------------------------------ pictures

    def _add_source(self, kind: str, src, label: str | None = None):
        """Put ``src`` in the ``kind`` picker and select it: embedded names by name, others loaded once."""
        picker = self.pickers[kind]
        if isinstance(src, str) and src in artworks.names():
            label = label or src  # embedded: read from its file on each run, named in the history
        else:
            if label is None:
                label = Path(src).name if isinstance(src, (str, os.PathLike)) else f"your {kind} image"
            src = load_image(src, device="cpu")  # once; raises ImageError naming what is wrong
            if max(src.shape[-2:]) > MAX_UPLOAD_SIDE:
                src = load_image(src, size=MAX_UPLOAD_SIDE, device="cpu")
        self._sources[kind][label] = src
        if label not in picker.options:
            picker.options = (*picker.options, label)
        if picker.value == label:
            self._on_pick(kind)
        else:
            picker.value = label

    def _source(self, kind: str):
        label = self.pickers[kind].value
        return self._sources[kind].get(label, label)

    def _update_ratio(self):
        a, b = self.controls["content_weight"].value, self.controls["style_weight"].value
        self.ratio.value = (f"<div style='color:#555;margin-left:124px;font-size:12px'>α/β = {a / b:.2g}"
                            " (the paper: 1e-3 … 1e-4)</div>")

    def _say(self, html: str, colour: str = "#333"):
        self.status.value = f"<span style='color:{colour}'>{html}</span>"


def _heading(text: str):
    return widgets.HTML(f"<b style='display:block;margin-top:6px'>{text}</b>")


def _decade(v: float) -> float:
    return math.floor(math.log10(v)) if v > 0 else 0
