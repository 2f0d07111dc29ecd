"""What the studio draws, as pure functions: image PNGs, the loss plot, stats, the α/β note, history cards.

Nothing here touches a widget: each function takes values and returns bytes or an HTML string,
so it can be tested (and reused) without a notebook. The loss plot uses a matplotlib ``Figure``
(never pyplot), which is safe to draw from the studio's worker thread.
"""
from __future__ import annotations

import html
import io
import threading

from PIL import Image

from ..images import to_pil
from ..records import loss_terms

PREVIEW_PX = 256  # displayed width of the preview; small results are enlarged by whole pixels
PLOT_PX = 300  # the loss plot: 3.75 x 2.9 inches at 80 dpi
CARD_PX = 120
#: Line colours of the loss plot by term name; a term not named here takes the next of SPARE_COLOURS.
COLOURS = {"total": "#bbb", "content": "#1f77b4", "style": "#d62728", "tv": "#2ca02c"}
SPARE_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
#: How a history card writes a term's weight: the paper's symbols where it has them.
SYMBOLS = {"content": "α", "style": "β"}
#: Why a run stopped, in words (Result.stopped_reason values; others are shown as they are).
STOPS = {"callback": "Stop pressed", "non-finite loss": "the loss became inf or nan",
         "callback error": "the studio's step callback failed", "interrupted": "interrupted"}
_PLOT_LOCK = threading.Lock()  # matplotlib's font cache is not thread-safe


def png(img, width: int | None = None) -> bytes:
    """PNG bytes of an image tensor, enlarged by a whole factor (nearest) to about ``width`` px."""
    pil = to_pil(img)
    if width and max(pil.size) < width:
        k = width // max(pil.size)
        pil = pil.resize((pil.width * k, pil.height * k), Image.NEAREST)
    buf = io.BytesIO()
    pil.save(buf, format="png")
    return buf.getvalue()


def loss_plot(records: list[dict], previous: list[dict] = (), steps: int = 0) -> bytes:
    """PNG of the weighted loss terms per step on a log axis, the last run's total dashed.

    records/previous: per-step dicts as in Result.history (the terms are read from the records,
    :func:`helpers.records.loss_terms`, so a new term of the engine shows without a change here).
    steps: the x axis runs to at least ``steps - 1`` (the run's length, known before it ends).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _PLOT_LOCK:
        fig = Figure(figsize=(PLOT_PX / 80, 2.9), dpi=80)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        old = [(i, h["total"]) for i, h in enumerate(previous) if h["total"] > 0]
        if old:
            ax.plot(*zip(*old), color="#999", ls="--", lw=1, label="last run")
        names = ["total", *loss_terms(records[0])] if records else []
        spare = iter(SPARE_COLOURS * len(names))
        for k in names:
            pts = [(i, h[k]) for i, h in enumerate(records) if h.get(k, 0) > 0]
            if pts:
                colour = COLOURS.get(k) or next(spare)
                ax.plot(*zip(*pts), color=colour, lw=4 if k == "total" else 1.5, label=k)
        ax.set_xlabel("step", fontsize=9)
        ax.set_title("weighted losses (log scale)", fontsize=10)
        if ax.lines:
            ax.set_xlim(0, max(steps - 1, len(old) - 1, len(records) - 1, 1))
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
    return buf.getvalue()


def stats_html(n: int, total: int, seconds: float, rate: float, record: dict | None = None) -> str:
    """"step n/total · seconds · it/s · the record's nonzero terms"."""
    terms = " · ".join(f"{k} {v:.3g}" for k, v in loss_terms(record or {}).items() if v)
    return (f"step <b>{n}/{total}</b> · {seconds:.1f} s · " + (f"{rate:.2f} it/s" if rate else "– it/s")
            + (f" · <span style='color:#666'>{terms}</span>" if terms else ""))


def ratio_html(alpha: float, beta: float, objective: str, default_ratio: float) -> str:
    """The note under the weight sliders: α/β and what it means under ``objective``."""
    ratio = "∞" if beta == 0 else f"{alpha / beta:.2g}"
    if objective == "relative":
        meaning = ("α weighs the content features' relative error, β the style Grams' (summed over the "
                   "layers): the same balance at every image size; "
                   f"the default is α/β = {default_ratio:.2g}")
    else:
        meaning = ("Gatys et al.'s eqs. 1-7: the content term grows with the pixel count, so the "
                   "balance moves with the size; the paper's 1e-3 … 1e-4 hold near 512 px")
    return (f"<div style='color:#555;margin-left:124px;font-size:12px;line-height:1.3'>"
            f"<b>α/β = {ratio}</b> · {objective} objective: {meaning}</div>")


def status_html(text: str, colour: str = "#333") -> str:
    return f"<span style='color:{colour}'>{text}</span>"


def card_lines(entry: dict, number: int) -> list[str]:
    """The text of a history card: what ran (pictures, weights, size, steps) and how it ended.

    entry: the studio's history entry; ``entry["terms"]`` names the run's loss terms (from its
    records), each shown with its ``<name>_weight`` setting.
    """
    s = entry["settings"]
    f = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)  # noqa: E731
    weights = [f"{SYMBOLS.get(n, n)} {f(s[n + '_weight'])}" for n in entry["terms"] if n + "_weight" in s]
    lines = [f"#{number} {entry['content']} × {entry['style']}", " · ".join(weights),
             f"{entry['steps_run']} steps · {s['size']} px · {s['optimizer']} · "
             f"{'warm' if entry['warm_start'] else s['init']}",
             f"{entry['seconds']:.1f} s · loss {entry['loss']:.3g}"
             + ("" if entry["stopped_reason"] == "finished" else " · stopped")]
    if s.get("style_layer_weights"):
        lines.append("layers " + " ".join(f"{w:.2g}" for w in s["style_layer_weights"].values()))
    return [html.escape(line) for line in lines]


def card_html(lines: list[str]) -> str:
    return "<div style='font-size:11px;line-height:1.3'>" + "<br>".join(lines) + "</div>"


def note_html(text: str) -> str:
    """The small grey line under the fast preview."""
    return f"<span style='color:#555;font-size:11px'>{text}</span>"
