"""The errors of the helpers package: the leaf module every other module may import.

Every bad input raises one of these, with a message that names the input, the problem and what to
do. All are ``ValueError`` subclasses, so ``except ValueError`` catches any of them.
"""
from __future__ import annotations

import difflib

__all__ = ["DeviceError", "ImageError", "ImageNotFoundError", "OptionError", "close_names"]


class ImageError(ValueError):
    """An image input that cannot be used; the message names the input and what to do."""


class ImageNotFoundError(ImageError, FileNotFoundError):
    """No file and no embedded or downloadable image goes by the name given.

    Both an :class:`ImageError` and a ``FileNotFoundError``, so code catching either keeps working.
    """


class DeviceError(ValueError):
    """A device or precision was asked for that this machine cannot give."""


class OptionError(ValueError):
    """A stylize option with a value it cannot take; the message names the option and the allowed values."""


def close_names(name: str, known: list[str]) -> list[str]:
    """Up to three of ``known`` that ``name`` is probably a typo of (difflib's ratio >= 0.6).

    For the "did you mean ...?" of a message: picture names, file names, option values.
    """
    return difflib.get_close_matches(name, known, n=3, cutoff=0.6)
