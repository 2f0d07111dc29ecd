"""The old name of :mod:`helpers.catalog`, kept so existing code and notebooks keep working.

``artworks.names()``, ``artworks.path``, ``artworks.fetch``, ``artworks.PAINTINGS`` ... are the
catalogue's; the style generators that used to live here (``artworks.swirls``,
``artworks.STYLES``, ...) are found in :mod:`helpers.generators`, imported only when asked for.
New code: ``from helpers import catalog`` (or ``generators``). To monkeypatch, patch the module
that defines the name.
"""
from __future__ import annotations

from . import catalog


def __getattr__(name: str):
    if name.startswith("__"):  # the import system probes __path__ etc.: never load generators for it
        raise AttributeError(name)
    if hasattr(catalog, name):
        return getattr(catalog, name)
    from . import generators  # only on demand: the catalogue does not need the generators

    if hasattr(generators, name):
        return getattr(generators, name)
    raise AttributeError(f"module 'helpers.artworks' (now helpers.catalog and helpers.generators) "
                         f"has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(dir(catalog)) | {n for n in globals() if not n.startswith("_")})
