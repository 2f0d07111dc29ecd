"""Neural style transfer helpers: VGG19, the losses of Gatys et al., the optimisation engine, I/O."""
from .device import DeviceError, pick_device, seed_everything
from .images import ImageError

__all__ = ["DeviceError", "ImageError", "pick_device", "seed_everything"]
