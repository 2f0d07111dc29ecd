"""Image I/O for the lessons: load anything a learner has, validate it, save and show results."""
from __future__ import annotations


class ImageError(ValueError):
    """An image input that cannot be used; the message names the input and what to do."""
