"""The errors every module may raise: a leaf module that imports nothing of the package."""


class OptionError(ValueError):
    """An option of ``stylize`` (or a flag of the command line) has a value it cannot take."""
