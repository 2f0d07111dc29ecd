"""The studio's widgets and their arrangement: buttons, the preview area, history cards, the page.

Builds widgets and lays them out; wiring them to events is :class:`helpers.studio.StyleStudio`'s.
"""
from __future__ import annotations

import ipywidgets as widgets

from . import render
from .controls import tip

FAST_PX = 192
_L = widgets.Layout


def _button(text, icon, tooltip, width="110px", **kw):
    return widgets.Button(description=text, icon=icon, tooltip=tooltip, layout=_L(width=width), **kw)


def parts(steps: int) -> dict:
    """Every widget besides the controls and pickers, by the studio attribute it becomes."""
    fast_preview = widgets.Image(format="png", layout=_L(width=f"{FAST_PX}px"))
    w = {
        "run_button": _button("Run", "play", "optimise with the settings above", button_style="success"),
        "stop_button": _button("Stop", "stop", "stop now and keep the best image so far",
                               button_style="danger", disabled=True),
        "save_button": _button("Save", "save", "write the image shown", width="90px"),
        "equal_button": widgets.Button(description="equal weights", layout=_L(width="140px")),
        "save_name": widgets.Text(value="stylized.png", layout=_L(width="170px")),
        "warm_start": tip(widgets.Checkbox(value=False, description="warm start (from the last result)",
                                           indent=False), "start the next run from the last result"),
        "preview": widgets.Image(format="png", layout=_L(width=f"{render.PREVIEW_PX}px", margin="0 8px 0 0")),
        "loss_plot": widgets.Image(format="png", layout=_L(width=f"{render.PLOT_PX}px")),
        "fast_preview": fast_preview,
        "mix_with": tip(widgets.Dropdown(options=["(none)"], value="(none)", description="mix with",
                                         layout=_L(width="200px")),
                        "blend a second style into the fast preview: one pass blends their codes"),
        "mix": tip(widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="mix",
                                       readout_format=".0%", continuous_update=False, layout=_L(width="200px")),
                   "share of the second style in the fast preview"),
        "fit_button": _button("Fit", "magic", "learn a fast-net code for this style (a few minutes)",
                              width="70px"),
        "fast_note": widgets.HTML(),
        "progress": widgets.IntProgress(value=0, min=0, max=steps, bar_style="info", layout=_L(width="98%")),
        "stats": widgets.HTML(render.stats_html(0, steps, 0.0, 0.0)),
        "status": widgets.HTML(),
        "ratio": widgets.HTML(),
        "strip": widgets.HBox([widgets.HTML("<span style='color:#888'>Each finished run lands here with "
                                            "its settings, to compare.</span>")],
                              layout=_L(overflow="auto", width="100%")),
    }
    w["fast_box"] = widgets.VBox([
        widgets.HTML("<b>Fast preview</b> <span style='color:#555;font-size:11px'>one pass of the "
                     "multi-style net (<code>nst.fast_stylize</code>), updated on every change</span>"),
        w["fast_preview"], w["mix_with"], w["mix"], widgets.HBox([w["fit_button"], w["fast_note"]])],
        layout=_L(margin="6px 0 0 0"))
    for name in ("preview", "fast_preview", "loss_plot", "progress", "stats", "status", "strip", "fit_button"):
        w[name].add_class(f"nst-{name.replace('_', '-')}")  # CSS hooks for the browser test
    return w


def _heading(text: str):
    return widgets.HTML(f"<b style='display:block;margin-top:6px'>{text}</b>")


def page(sections: dict, pickers: list, w: dict) -> widgets.VBox:
    """The whole studio: pictures, weights and tabs on the left, preview, plot and history on the right."""
    tabs = widgets.Tab(children=[widgets.VBox(sections["settings"]), widgets.VBox([
        *sections["layers"], widgets.HTML("<small>w<sub>l</sub> in eq. 5 (stylize's default: 1/L each)"
                                          "</small>"), w["equal_button"]])])
    tabs.set_title(0, "Run settings")
    tabs.set_title(1, "Layers")
    left = widgets.VBox([
        widgets.HBox(pickers), _heading("Weights (eq. 7)"), *sections["weights"], w["ratio"], tabs,
        widgets.HBox([w["run_button"], w["stop_button"], w["warm_start"]],
                     layout=_L(align_items="center", margin="8px 0 0 0")),
    ], layout=_L(width="410px", margin="0 20px 0 0"))
    right = widgets.VBox([
        widgets.HBox([w["preview"], widgets.VBox([w["loss_plot"], w["fast_box"]])],
                     layout=_L(align_items="flex-start")),
        w["progress"], w["stats"], w["status"], widgets.HBox([w["save_name"], w["save_button"]]),
        _heading("History (newest first)"), w["strip"],
    ], layout=_L(width=f"{render.PREVIEW_PX + render.PLOT_PX + 12}px"))
    top = widgets.VBox([
        widgets.HTML("<h3 style='margin:4px 0'>Style studio</h3><span style='color:#555'>"
                     "Pick two pictures, set the weights, press <b>Run</b>. Changes made while a run "
                     "is going apply to the <b>next</b> run.</span>"),
        widgets.HBox([left, right], layout=_L(flex_flow="row wrap")),
    ])
    top.add_class("nst-widget")
    return top


def card(image_png: bytes, lines: list[str], on_reuse) -> widgets.VBox:
    """A history card: the result, what ran, and a button that puts its settings back."""
    reuse = widgets.Button(description="use settings", layout=_L(width="auto"),
                           tooltip="put these settings back into the controls")
    reuse.on_click(lambda _: on_reuse())
    return widgets.VBox([widgets.Image(value=image_png, format="png", layout=_L(width=f"{render.CARD_PX}px")),
                         widgets.HTML(render.card_html(lines)), reuse],
                        layout=_L(width="190px", min_width="190px", margin="0 8px 0 0",
                                  border="1px solid #ddd", padding="4px"))
