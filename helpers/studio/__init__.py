"""StyleStudio: slide the style and content weights, press Run, watch the image change.

    import helpers as nst
    studio = nst.StyleStudio("chelsea", "mondrian", steps=50)
    studio.display()

The class lives in :mod:`.app`; its rooms are :mod:`.controls`, :mod:`.runner`, :mod:`.render`,
:mod:`.sources` and :mod:`.view`. Works with core widgets only, on ipywidgets 8 (JupyterLab 4)
and 7.7.1 (Colab).
"""
from .app import StyleStudio

__all__ = ["StyleStudio"]
