"""The studio's pictures: a picker per kind (embedded names, uploads, images passed in) and the fast preview.

A :class:`Picker` owns one kind's dropdown, upload button and thumbnail. Embedded names stay
names (read from their file on each run and named in the history); anything else is loaded once,
shrunk to :data:`MAX_UPLOAD_SIDE`, and kept under a label.
"""
from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import ipywidgets as widgets
from PIL import Image

from .. import catalog
from ..images import load_image
from .controls import tip
from .render import png

MAX_UPLOAD_SIDE = 1024  # uploads are shrunk to this long side once, not on every run
THUMB_PX = 72


def uploaded_files(value) -> list[tuple[str, bytes]]:
    """(name, bytes) of a FileUpload value: a dict in ipywidgets 7, a tuple of dicts in 8."""
    if isinstance(value, dict):  # 7.x: {filename: {"metadata": {...}, "content": bytes}}
        return [(name, bytes(f["content"])) for name, f in value.items()]
    return [(f["name"], bytes(f["content"])) for f in value]  # 8.x: content is a memoryview


def prepare(src, kind: str, label: str | None = None):
    """(label, source) for ``src``: an embedded name as itself, anything else loaded once and shrunk.

    Raises ImageError naming what is wrong with ``src``.
    """
    if isinstance(src, str) and src in catalog.names():
        return label or src, src
    if label is None:
        label = Path(src).name if isinstance(src, (str, os.PathLike)) else f"your {kind} image"
    img = load_image(src, device="cpu")
    if max(img.shape[-2:]) > MAX_UPLOAD_SIDE:
        img = load_image(img, size=MAX_UPLOAD_SIDE, device="cpu")
    return label, img


class Picker:
    """One kind's ("content" or "style") dropdown, upload button and thumbnail.

    ``on_change(kind)`` runs after the choice changes; ``say(html, colour)`` reports problems.
    """

    def __init__(self, kind: str, on_change: Callable[[str], None], say: Callable):
        self.kind, self.on_change, self.say = kind, on_change, say
        self.sources: dict = {}  # label -> image source (a name or a tensor)
        self.thumb = widgets.Image(format="png")
        self.dropdown = widgets.Dropdown(options=catalog.names(kind), layout=widgets.Layout(width="118px"))
        self.upload = tip(widgets.FileUpload(accept="image/*", multiple=False, description="upload",
                                             layout=widgets.Layout(width="118px")),
                          f"use your own {kind} picture (shrunk to {MAX_UPLOAD_SIDE} px)")
        self.dropdown.observe(lambda ch: self._picked(), names="value")
        self.upload.observe(lambda ch: self._uploaded(ch["new"]), names="value")
        box = widgets.Box([self.thumb], layout=widgets.Layout(
            width=f"{THUMB_PX + 4}px", height=f"{THUMB_PX + 4}px", justify_content="center",
            align_items="center"))
        self.widget = widgets.HBox([box, widgets.VBox([widgets.HTML(f"<b>{kind}</b>"), self.dropdown,
                                                       self.upload])],
                                   layout=widgets.Layout(width="50%", align_items="center"))

    @property
    def label(self) -> str:
        return self.dropdown.value

    def source(self, label: str | None = None):
        """What to pass to stylize for ``label`` (default: the current choice)."""
        label = self.label if label is None else label
        return self.sources.get(label, label)

    def add(self, src, label: str | None = None) -> None:
        """Put ``src`` in the dropdown and select it (raises ImageError for a picture it cannot use)."""
        label, src = prepare(src, self.kind, label)
        self.sources[label] = src
        if label not in self.dropdown.options:
            self.dropdown.options = (*self.dropdown.options, label)
        if self.dropdown.value == label:
            self._picked()
        else:
            self.dropdown.value = label

    def select(self, value) -> None:
        """Choose a label already in the dropdown, or add ``value`` as a new picture."""
        if isinstance(value, str) and value in self.dropdown.options:
            self.dropdown.value = value
        else:
            self.add(value)

    def _picked(self):
        try:
            self.thumb.value = png(load_image(self.source(), size=THUMB_PX, device="cpu"))
        except Exception as e:  # a broken file must not break the studio: say what went wrong
            self.say(f"Cannot show the {self.kind} picture: {e}", "#c00")
        self.on_change(self.kind)

    def _uploaded(self, value):
        for name, data in uploaded_files(value):
            try:
                img = load_image(Image.open(io.BytesIO(data)), device="cpu")
            except Exception as e:
                self.say(f"Upload {name!r} is not a picture the studio can use: {e}", "#c00")
                continue
            self.add(img, label=f"upload: {name}")
            self.say(f"Uploaded {name} as the {self.kind} picture.")


def fast_code(style_label: str, fitted: dict | None = None):
    """What ``fast_stylize`` takes for this style: a fitted Style, the name of a style the shipped
    net carries, or None (no code for it yet, or no helpers.nets at all)."""
    if fitted and style_label in fitted:
        return fitted[style_label]
    try:
        from .. import nets
        return style_label if style_label in nets.shipped_styles() else None
    except Exception:  # the fast preview is a bonus: never an error
        return None


def fast_preview(content, style, size: int, device=None, mix=None):
    """One pass of the shipped multi-style net on ``content`` at ``size`` px, or None.

    style: a shipped style name or a fitted Style (see :func:`fast_code`); ``mix``: (other style,
    its weight in [0, 1]) to blend in, or None. None also when the style has no code or the pass
    fails (the studio then shows no fast preview, and says how to fit one).
    """
    if style is None:
        return None
    try:
        from .. import nets
        code = {style: 1 - mix[1], mix[0]: mix[1]} if mix and mix[1] > 0 else style
        return nets.fast_stylize(content, code, size=size, device=device).cpu()
    except Exception:
        return None


def next_free_name(path: Path, typed: str) -> str:
    """The name to offer after saving ``path``: stem_2, stem_3, ... (the first that does not exist),
    as a bare name if the learner typed one, else as a path."""
    base, _, num = path.stem.rpartition("_")
    base = base if base and num.isdigit() else path.stem
    n = 2
    while path.with_name(f"{base}_{n}{path.suffix}").exists():
        n += 1
    nxt = path.with_name(f"{base}_{n}{path.suffix}")
    return nxt.name if Path(typed).parent == Path(".") else str(nxt)
