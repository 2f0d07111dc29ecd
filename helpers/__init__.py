"""Neural style transfer helpers: VGG19, the losses of Gatys et al., the optimisation engine, I/O.

    import helpers as nst
    result = nst.stylize("chelsea", "mondrian", size=256)
"""
from . import catalog, lessons, measures, options
from .color import match_color
from .device import pick_device, seed_everything
from .errors import DeviceError, ImageError, OptionError
from .nets import Style, fast_stylize, super_resolve
from .images import load_image, save_image, show, show_grid
from .lessons import lesson_settings
from .losses import content_loss, gram_matrix, style_loss, tv_loss
from .measures import feature_distance, photo_lost, psnr, sharpness, style_distance, style_left
from .optimize import reconstruct_content, stylize, synthesize_texture
from .records import Result
from .training import fit_style
from .vgg import LAYER_NAMES, load_vgg19

__all__ = [
    "DeviceError", "ImageError", "LAYER_NAMES", "OptionError", "Result", "Style", "StyleStudio",
    "catalog", "content_loss", "fast_stylize", "feature_distance", "fit_style", "gram_matrix", "lesson_settings",
    "lessons", "load_image", "load_vgg19", "match_color", "measures", "options", "photo_lost",
    "pick_device", "psnr", "reconstruct_content", "save_image", "seed_everything", "sharpness",
    "show", "show_grid", "style_distance", "style_left", "style_loss", "stylize", "super_resolve",
    "synthesize_texture", "tv_loss",
]


def __getattr__(name):
    # The studio needs ipywidgets; import it only when asked for, so the engine and the CLI
    # start fast and work where ipywidgets is broken or absent.
    if name == "StyleStudio":
        from .studio import StyleStudio
        return StyleStudio
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")
