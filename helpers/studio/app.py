"""StyleStudio: the class that wires the studio's rooms into one page of widgets.

A thin ipywidgets shell around :func:`helpers.stylize`: :mod:`.controls` (one control per
option, derived from :mod:`helpers.options`), :mod:`.runner` (the worker thread, Stop, the
throttled callback), :mod:`.render` (PNGs, loss plot, history cards), :mod:`.sources` (pickers,
uploads, the fast preview) and :mod:`.view` (the layout). Widgets are updated from the worker
thread, which ipykernel allows for value traits.
"""
from __future__ import annotations

import threading
import time

from IPython.display import display

from .. import options as _options
from ..images import load_image, save_image
from ..records import Result, loss_terms
from . import controls as _controls
from . import render, sources, view
from .controls import OWN_OPTIONS
from .runner import Runner

HISTORY_MAX = 8
FAST_MAX_SIDE = 384  # the fast preview's long side at most: one pass stays well under a second
FIT_SECONDS = 120  # fit_style's budget for a style the shipped net does not carry
NO_MIX = "(none)"


class StyleStudio:
    """Widgets to run :func:`stylize` interactively: weights, layers, options, live preview.

    content, style: anything ``load_image`` accepts (an embedded name such as "chelsea", a path,
    URL, PIL image, array or tensor). ``defaults``: any stylize keyword option (e.g. ``size=64,
    steps=10, style_weight=10, seed=1``); options with a control set its starting value, the
    others are passed to every run unchanged. Unset options take stylize's defaults, except
    ``size`` and ``steps``, which follow ``lesson_settings`` (small on a CPU and in quick mode).
    The *fast preview* shows one pass of the shipped multi-style net (``nst.fast_stylize``) for the
    current photo and style, updated on every change of picture, style or mix, before Run; ``mix_with``
    and ``mix`` blend a second style in. For a style the net does not carry (an upload), **Fit**
    learns its code with ``nst.fit_style`` in the background (``FIT_SECONDS``), then previews it.

    Controls changed during a run apply to the next run (the status line says so). Attributes
    for notebooks and tests: ``controls`` (option name -> widget), ``run_button``,
    ``stop_button``, ``save_button``, ``preview``, ``fast_preview``, ``mix_with``, ``mix``,
    ``fit_button``, ``fitted`` (style label -> fitted Style), ``fast_seconds`` (the last fast
    preview's time), ``loss_plot``, ``progress``, ``status``, ``history`` (one dict per finished
    run), ``result`` (the last Result) and ``widget``.
    """

    def __init__(self, content="chelsea", style="mondrian", **defaults):
        opts = _controls.starting_values(defaults)  # raises for what the studio cannot take
        self._rows = _controls.build(opts, on_change=self._on_change)
        #: options without a control: passed to every run as given (seed, device, ...)
        self.fixed = {k: v for k, v in opts.items() if k not in self._rows and k not in OWN_OPTIONS}
        base = _options.defaults()
        self._default_ratio = base["content_weight"] / base["style_weight"] if base["style_weight"] else 0
        self.result: Result | None = None
        self.history: list[dict] = []
        self.preview_updates = 0  # preview images sent during runs (for the update rate)
        self._shown = None  # the image in the preview (what Save writes)
        self._changed: list[str] = []  # controls changed during the current run
        self._runs, self._note = 0, ""
        self.fitted: dict = {}  # style label -> Style learnt by Fit
        self.fast_seconds: float | None = None
        self._fit_thread: threading.Thread | None = None
        self._ready = False  # no fast preview while the pickers are first filled
        self.runner = Runner(self._on_step, self._on_done)
        self._build()
        self._pickers["content"].add(content)
        self._pickers["style"].add(style)
        self.loss_plot.value = render.loss_plot([])
        self._ready = True
        self._refresh_fast()

    def _build(self):
        parts = view.parts(self._rows["steps"].read())
        for name, widget in parts.items():  # run_button, stop_button, preview, status, ... (view.parts)
            setattr(self, name, widget)
        self.controls = {n: r.widget for n, r in self._rows.items() if r.kind != "layers"}
        self.controls["warm_start"] = self.warm_start
        self._pickers = {k: sources.Picker(k, self._on_pick, self._say) for k in ("content", "style")}
        self.pickers = {k: p.dropdown for k, p in self._pickers.items()}
        self.uploads = {k: p.upload for k, p in self._pickers.items()}
        self.thumbs = {k: p.thumb for k, p in self._pickers.items()}
        self.run_button.on_click(self._on_run)
        self.stop_button.on_click(lambda _: self.stop())
        self.save_button.on_click(self._on_save)
        self.equal_button.on_click(lambda _: self.set(style_layer_weights=None))
        self.mix_with.options = [NO_MIX, *self._mixable()]
        self.mix_with.observe(lambda ch: self._refresh_fast(), names="value")
        self.mix.observe(lambda ch: self._refresh_fast(), names="value")
        self.fit_button.on_click(self._on_fit)
        self.widget = view.page(_controls.sections(self._rows), [p.widget for p in self._pickers.values()],
                                parts)
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
        return self.runner.running

    @property
    def error(self) -> BaseException | None:
        """What the last run raised (None if it returned a Result)."""
        return self.runner.error

    @property
    def layer_sliders(self) -> dict:
        """Style layer name -> its w_l slider."""
        return self._rows["style_layer_weights"].sliders

    def settings(self) -> dict:
        """The options the next Run passes to stylize (besides callback, cache and progress)."""
        return {**self.fixed, **{n: r.read() for n, r in self._rows.items()}}

    def set(self, **options) -> None:
        """Set controls: any option with a control, ``content``/``style`` (a picker name or an image)
        and ``warm_start``. E.g. ``studio.set(style_weight=10, steps=50)``."""
        for name, v in options.items():
            if name in self._pickers:
                self._pickers[name].select(v)
            elif name == "warm_start":
                self.warm_start.value = bool(v)
            elif name in self._rows:
                self._rows[name].write(v)
            else:
                raise TypeError(f"set: no control for {name!r}; controls: "
                                f"{', '.join(['content', 'style', 'warm_start', *self._rows])}")

    def run(self, **options) -> None:
        """Set ``options`` (see :meth:`set`) and press Run; returns at once (see :meth:`wait`)."""
        self.set(**options)
        self.run_button.click()

    def stop(self) -> None:
        """Ask the running optimisation to stop; it keeps the best image so far."""
        if self.runner.stop():
            self._say("Stopping after the current step…", "#b36b00")

    def wait(self, timeout: float | None = None) -> Result | None:
        """Block until the current run ends; return its Result (re-raises the run's error).

        In a notebook this holds the kernel, so Stop clicks wait until it returns.
        """
        return self.runner.wait(timeout)

    # ------------------------------------------------------------------ events

    def _on_change(self, name: str):
        if name in ("content_weight", "style_weight", "objective"):
            self._update_ratio()
        if self.running and name not in self._changed:
            self._changed.append(name)
            self._say(f"Running… changed {', '.join(self._changed)}: <b>applies to the next run</b> "
                      "(press Stop, then Run, to use it now).", "#b36b00")

    def _on_pick(self, kind: str):
        self._refresh_fast()
        if kind == "content" and not self.running and self.result is None:
            try:
                self._show(load_image(self._pickers["content"].source(), size=self._rows["size"].read(),
                                      device="cpu"), count=False)
            except Exception:
                pass  # the picker has said why already
        self._on_change(kind)

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
        self.save_name.value = sources.next_free_name(path, name)  # the next Save keeps this file

    def _on_run(self, _=None):
        if self.running:
            return
        try:
            kwargs = self.settings()
            _options.Options(**{k: v for k, v in kwargs.items() if k != "init"})  # refused at the door
            content, style = self._pickers["content"].source(), self._pickers["style"].source()
        except Exception as e:
            self._say(f"Cannot run: {e}", "#c00")
            return
        self._note = ""
        if self.warm_start.value and self.history:
            if self.history[0]["content"] == self._pickers["content"].label:
                kwargs["init"] = self.result.image
                self._note = " (warm start from the last result)"
            else:
                self._note = " (no warm start: the content picture changed)"
        self._changed = []
        self._kwargs = kwargs
        self._labels = (self._pickers["content"].label, self._pickers["style"].label)
        self.run_button.disabled, self.stop_button.disabled = True, False
        self.progress.max, self.progress.value, self.progress.bar_style = kwargs["steps"], 0, "info"
        self._say(f"Running{self._note}… changes made now <b>apply to the next run</b>.")
        self.runner.start(content, style, kwargs)

    # ------------------------------------------------------------------ the fast preview

    def _mixable(self) -> list[str]:
        try:
            from ..nets import shipped_styles
            shipped = shipped_styles()
        except Exception:
            shipped = []
        return [*shipped, *[k for k in self.fitted if k not in shipped]]

    def _refresh_fast(self) -> None:
        """One pass for the current photo, style and mix (in the kernel's thread: well under 1 s)."""
        if not self._ready:
            return
        label = self._pickers["style"].label
        code = sources.fast_code(label, self.fitted)
        other = self.mix_with.value
        mix = None
        if other != NO_MIX and self.mix.value > 0:
            mix = (sources.fast_code(other, self.fitted), float(self.mix.value))
        size = min(self._rows["size"].read() or FAST_MAX_SIDE, FAST_MAX_SIDE)
        t = time.perf_counter()
        img = sources.fast_preview(self._pickers["content"].source(), code, size, self.fixed.get("device"), mix)
        self.fast_seconds = time.perf_counter() - t
        fitting = self._fit_thread is not None and self._fit_thread.is_alive()
        self.fit_button.disabled = code is not None or fitting
        self.fast_preview.layout.display = "none" if img is None else ""
        if img is not None:
            self.fast_preview.value = render.png(img, view.FAST_PX)
            what = label if mix is None else f"{1 - mix[1]:.0%} {label} + {mix[1]:.0%} {other}"
            self.fast_note.value = render.note_html(f"{what}: {self.fast_seconds:.2f} s")
        elif not fitting:
            self.fast_note.value = render.note_html(
                f"no fast code for {label!r} yet: <b>Fit</b> learns one (about {FIT_SECONDS // 60} min)"
                if code is None else "the fast preview failed for this picture")

    def _on_fit(self, _=None) -> None:
        label, src = self._pickers["style"].label, self._pickers["style"].source()
        if sources.fast_code(label, self.fitted) is not None or (self._fit_thread and self._fit_thread.is_alive()):
            return
        self.fit_button.disabled = True
        self.fast_note.value = render.note_html(f"fitting a code for {label!r}…")
        device = self.fixed.get("device")

        def progress(step, code, record):
            self.fast_note.value = render.note_html(f"fitting {label!r}: step {step}, {record['seconds']:.0f} s "
                                                    f"of {FIT_SECONDS} s, loss {record['total']:.3g}")

        def work():
            from ..training import fit_style

            try:
                style = fit_style(src, seconds=FIT_SECONDS, steps=100_000, name=label, progress=False,
                                  callback=progress, device=device)
                self.fitted[label] = style
                msg = f"fitted {label!r} in {style.meta['seconds']:.0f} s ({style.meta['steps']} steps)"
            except Exception as e:  # shown, never raised into the kernel
                msg = f"fitting failed: {type(e).__name__}: {e}"
            self.mix_with.options = [NO_MIX, *self._mixable()]
            self._refresh_fast()
            self.fast_note.value = render.note_html(msg + (f"; preview {self.fast_seconds:.2f} s"
                                                           if label in self.fitted else ""))

        self._fit_thread = threading.Thread(target=work, name="nst-fit", daemon=True)
        self._fit_thread.start()

    def wait_fit(self, timeout: float | None = None) -> None:
        """Block until a Fit started by the button has ended (for notebooks and tests)."""
        if self._fit_thread is not None:
            self._fit_thread.join(timeout)

    # ------------------------------------------------------------------ from the worker thread

    def _on_step(self, n, image, record, preview: bool, plot: bool):
        self.progress.value = n
        if preview:
            self._show(image)
            self.stats.value = render.stats_html(n, self.progress.max, record["seconds"],
                                                 self.runner.rate(), record)
        if plot:
            self.loss_plot.value = render.loss_plot(self.runner.records, self.runner.previous,
                                                    self.progress.max)

    def _on_done(self, res: Result | None, error: BaseException | None):
        steps, note = self._kwargs["steps"], self._note
        try:
            if error is not None:
                raise error
            self.result = res
            self._show(res.image)
            self.loss_plot.value = render.loss_plot(self.runner.records, self.runner.previous, steps)
            done = len(res.history)
            self.stats.value = render.stats_html(done, steps, res.seconds, self.runner.rate(),
                                                 res.history[-1] if res.history else None)
            if res.stopped_reason == "finished":
                self.progress.value, self.progress.bar_style = steps, "success"
                msg, colour = f"Finished {steps} steps in {res.seconds:.1f} s{note}.", "#2a7d2a"
            else:
                self.progress.bar_style = "warning"
                why = render.STOPS.get(str(res.stopped_reason), str(res.stopped_reason))
                if res.error is not None:
                    why += f": {type(res.error).__name__}: {res.error}"
                msg, colour = (f"Stopped after {done} of {steps} steps ({why}){note}; "
                               f"showing the best image (step {res.best_step})."), "#b36b00"
            if self._changed:
                msg += f" You changed {', '.join(self._changed)} during the run: press Run to use it."
            self._add_history(res)
        except BaseException as e:  # shown in the status line; wait() re-raises the run's error
            self.progress.bar_style = "danger"
            msg, colour = f"The run failed: {type(e).__name__}: {e}", "#c00"
        finally:
            self.run_button.disabled, self.stop_button.disabled = False, True
            self._say(msg, colour)  # last, so "Finished" / "Stopped" means ready for the next run

    def _show(self, img, count: bool = True):
        self._shown = img.detach().cpu() if count else None
        self.preview.value = render.png(img.detach().cpu(), render.PREVIEW_PX)
        self.preview_updates += count

    def _add_history(self, res: Result):
        s = {k: v for k, v in self._kwargs.items() if k != "init" or isinstance(v, str)}
        entry = {"content": self._labels[0], "style": self._labels[1], "settings": s,
                 "warm_start": not isinstance(self._kwargs["init"], str), "image": res.image,
                 "loss": res.loss, "seconds": res.seconds, "steps_run": len(res.history),
                 "stopped_reason": res.stopped_reason,
                 "terms": list(loss_terms(res.history[-1])) if res.history else []}
        self.history.insert(0, entry)
        del self.history[HISTORY_MAX:]
        self._runs += 1
        back = {**{k: v for k, v in s.items() if k in self._rows}, "content": entry["content"],
                "style": entry["style"]}
        card = view.card(render.png(res.image, render.CARD_PX), render.card_lines(entry, self._runs),
                         lambda: self.set(**back))
        self.strip.children = (card, *self.strip.children[:HISTORY_MAX - 1][:len(self.history) - 1])

    def _update_ratio(self):
        r = self._rows
        objective = r["objective"].read() if "objective" in r else self.fixed.get("objective", "")
        self.ratio.value = render.ratio_html(r["content_weight"].read(), r["style_weight"].read(),
                                             objective, self._default_ratio)

    def _say(self, text: str, colour: str = "#333"):
        self.status.value = render.status_html(text, colour)

