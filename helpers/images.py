"""Image I/O for the lessons: load anything a learner has, validate it, save and show results.

Every image the engine sees is a float32 tensor of shape (1, 3, H, W) with values in [0, 1].
:func:`load_image` turns paths, URLs, picture names, PIL images, numpy arrays and tensors
into that form; :func:`check_image` validates tensors at the engine's door. Every bad input raises
:class:`ImageError` naming the input, the problem and what to do (a missing file raises
:class:`ImageNotFoundError`, which is a FileNotFoundError too), never a bare Pillow, OS or torch
traceback. URLs are fetched by :func:`helpers.download.download`, the package's one HTTP client.

Why this module runs past 400 lines: it is the package's one door for pictures. Every input kind
(files, URLs, PIL modes, arrays, tensors) and every way each can be wrong is decided here, on the
same validation helpers at the bottom, so the rules read in one place; split by input kind, each
part would need the others' checks.
"""
from __future__ import annotations

import io
import math
import os
import struct
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from . import catalog
from .device import pick_device
from .download import download, sniff, write_atomically
from .errors import ImageError, ImageNotFoundError, close_names

__all__ = ["ImageError", "ImageNotFoundError", "check_image", "check_save_path", "load_image", "save_image", "show",
           "show_grid", "to_numpy", "to_pil"]

#: Images whose decoded size would exceed this many pixels are refused before decoding (a tiny
#: file can claim 30000x30000 in its header and ask for gigabytes).
MAX_PIXELS = 50_000_000
#: File suffixes :func:`save_image` can write.
SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
#: How far outside [0, 1] a float image may stray (rounding in someone's resize) before it is an error.
RANGE_TOLERANCE = 1e-3

_ACCEPTED = ("a path, an http(s) URL, a picture name (nst.catalog.names()), a PIL.Image, a numpy "
             "array or a torch.Tensor")
# What Pillow raises for corrupt, truncated or unreadable data (UnidentifiedImageError is an OSError).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error,
                  Image.DecompressionBombError)
_HIGH_DEPTH = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")  # more than 8 bits per sample


def load_image(src, size: int | None = None, device: str | torch.device | None = None) -> torch.Tensor:
    """Load ``src`` as a float32 tensor (1, 3, H, W) in [0, 1] on ``device``.

    ``src``: a path (str or Path), an http(s) or file URL, a picture name (``helpers.catalog``),
    a PIL.Image, a numpy array (H, W), (H, W, 1|3|4) as uint8, uint16 or float in [0, 1], or a
    tensor (3, H, W), (1, 3, H, W), (H, W), (1, H, W) as float in [0, 1] or uint8.
    ``size``: the long side in pixels (aspect kept, down- or upscaled); None keeps the size.
    ``device``: None picks one with :func:`helpers.device.pick_device`.

    Files are turned upright by their EXIF orientation, and transparency is composited over white
    (a fully transparent pixel becomes white), since the network sees only three channels.
    Animated images give their first frame; 16-bit images keep their precision.
    """
    if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0):
        raise ImageError(f"size={size!r} is not a positive int; pass the long side in pixels (e.g. 512) or None")
    device = pick_device(device)
    if isinstance(src, str) and not src.strip():
        raise ImageError(f"src={src!r} is an empty name; pass {_ACCEPTED}")
    elif isinstance(src, str) and src.strip().lower().startswith(("http://", "https://")):
        url = src.strip()
        img = _open_pil(download(url), url, size)
    elif isinstance(src, (str, os.PathLike)):
        img = _open_pil(_find_file(src), None, size)
    elif isinstance(src, Image.Image):
        img = _from_pil(src, size, "PIL image")
    elif isinstance(src, np.ndarray):
        img = _from_array(src, size, "array")
    elif isinstance(src, torch.Tensor):
        img = _from_tensor(src, size, "tensor")
    else:
        raise ImageError(f"cannot load an image from a {type(src).__name__}; pass {_ACCEPTED}")
    return img.to(device)


def check_image(img: torch.Tensor, name: str = "image") -> torch.Tensor:
    """Validate an image tensor the engine got; return it as float32 (1, 3, H, W) in [0, 1].

    Accepts (1, 3, H, W) or (3, H, W) float tensors whose values are finite and within [0, 1]
    (up to RANGE_TOLERANCE, then clamped). Raises :class:`ImageError` naming ``name`` otherwise.
    """
    return _check(img, name, strict=True)


def save_image(img: torch.Tensor, path: str | os.PathLike) -> Path:
    """Write ``img`` ((1, 3, H, W) or (3, H, W) float in [0, 1], or anything load_image takes) to ``path``.

    The format follows the suffix (one of SUFFIXES); missing parent folders are created. The file
    is written under a temporary name in the same folder and renamed when complete, so a failed
    save never leaves a partial file (nor destroys an older one). Values outside [0, 1] (beyond
    RANGE_TOLERANCE) are refused, not clipped: a 0..255 tensor would otherwise save as all white.
    Returns the Path written.
    """
    path = check_save_path(path)
    shown = str(path)
    try:  # strict: out-of-range values are refused, not clipped
        t = (_check(_coerce_tensor(img, "img"), "img", strict=True) if isinstance(img, torch.Tensor)
             else load_image(img, device="cpu"))  # (1, 3, H, W); a PIL image or array is fine too
    except ImageError as e:
        raise ImageError(f"cannot save {shown!r}: {e}") from None
    buf = io.BytesIO()  # encode first: a failure here touches no file
    pil = Image.fromarray((t[0].permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8))
    pil.save(buf, format=Image.registered_extensions()[path.suffix.lower()], quality=95)
    try:  # quality above: read by JPEG/WebP, ignored by the lossless formats
        write_atomically(path, buf.getvalue())
    except OSError as e:
        raise ImageError(f"cannot save {shown!r}: {_os_reason(e, path)}") from None
    return path


def check_save_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path if :func:`save_image` can write there, else an ImageError saying why.

    For callers to check an output path at the door, before a long run: the suffix, a folder of
    that name, a file where a folder should be, write permission. Creates nothing.
    """
    path, shown = _as_path(path, "path"), str(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ImageError(f"cannot save {shown!r}: suffix {path.suffix!r} is not one of {SUFFIXES}")
    existing = next(p for p in [path, *path.parents] if p.exists())  # "." or "/" at the latest
    folder = existing if existing != path else path.parent  # where the new file would go
    problem = (IsADirectoryError if path.is_dir() else NotADirectoryError if not folder.is_dir()
               else None if os.access(folder, os.W_OK) else PermissionError)
    if problem is not None:
        raise ImageError(f"cannot save {shown!r}: {_os_reason(problem(), path)}")
    return path


def _os_reason(e: OSError, path: Path) -> str:
    """What an OSError met while saving means for the learner, and what to do."""
    reasons = {IsADirectoryError: f"it is a folder; pass a file name inside it, e.g. {str(path / 'out.png')!r}",
               PermissionError: "permission denied; save into a folder you can write to (e.g. your home folder)",
               FileExistsError: "part of the folder path is an existing file, not a folder; choose another path"}
    reasons[NotADirectoryError] = reasons[FileExistsError]
    return reasons.get(type(e), f"{e.strerror or e}; check the folder exists and the disk has space")


def to_pil(img) -> Image.Image:
    """An RGB PIL image of ``img`` (a tensor, clamped to [0, 1], or anything load_image accepts)."""
    return Image.fromarray((to_numpy(img) * 255).round().astype(np.uint8))


def to_numpy(img) -> np.ndarray:
    """A float32 array (H, W, 3) in [0, 1] of ``img`` (a tensor, or anything load_image accepts)."""
    if isinstance(img, torch.Tensor):
        t = _check(_coerce_tensor(img, "img"), "img", strict=False)  # (1, 3, H, W)
    else:
        t = load_image(img, device="cpu")
    return t[0].permute(1, 2, 0).cpu().numpy()  # (H, W, 3)


def show(img, title: str | None = None, ax=None):
    """Draw ``img`` with matplotlib (no axes, optional title) on ``ax`` or a new figure; return the Axes."""
    import matplotlib.pyplot as plt  # imported here: pyplot is slow to import and only notebooks draw

    if ax is None:
        _, ax = plt.subplots()
    ax.imshow(to_numpy(img))
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return ax


def show_grid(imgs, titles=None, ncols: int | None = None, size: float = 3.0):
    """A matplotlib Figure with ``imgs`` (tensors or PIL images) in a grid, ``size`` inches per cell."""
    import matplotlib.pyplot as plt

    imgs = list(imgs)
    if not imgs:
        raise ImageError("show_grid got no images; pass a list of tensors or PIL images")
    if titles is not None and len(titles) != len(imgs):
        raise ImageError(f"titles has {len(titles)} entries for {len(imgs)} images; give one per image or None")
    ncols = min(len(imgs), 4) if ncols is None else ncols
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ImageError(f"ncols={ncols!r} is not a positive int")
    nrows = math.ceil(len(imgs) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < len(imgs):
            show(imgs[i], None if titles is None else titles[i], ax=ax)
        else:
            ax.set_axis_off()  # empty cells of the last row
    fig.tight_layout()
    return fig


# --- files and URLs -----------------------------------------------------------------------------

def _as_path(src, name: str) -> Path:
    """``src`` as an expanded Path; a name the OS cannot take (too long, NUL byte) -> ImageError."""
    shown = str(src) if len(str(src)) <= 80 else str(src)[:60] + f"... ({len(str(src))} characters)"
    try:
        path = Path(src).expanduser()
        path.exists()  # raises for names the OS refuses, e.g. a component over 255 bytes
        return path
    except (OSError, ValueError, RuntimeError) as e:  # RuntimeError: "~user" with no such user
        reason = getattr(e, "strerror", None) or e
        raise ImageError(f"{name}={shown!r} cannot be used as a file name ({reason}); "
                         "use a shorter path, without control characters") from None


def _find_file(src) -> Path:
    """The existing file ``src`` names: a path, a file:// URL, or a picture name from the catalogue."""
    if isinstance(src, str) and src.strip().lower().startswith("file://"):
        src = urllib.request.url2pathname(urllib.parse.urlsplit(src.strip()).path)
    path = _as_path(src, "src")
    if path.exists():
        return path
    if isinstance(src, str):
        found = catalog.resolve(src)
        if found is not None:
            return Path(found)
        if not path.suffix and "/" not in src and os.sep not in src:
            raise ImageNotFoundError(catalog.unknown_name(src))
    near = close_names(path.name, [p.name for p in path.parent.iterdir()]
                               if path.suffix and path.parent.is_dir() else [])  # a typo?
    close = f"; did you mean {' or '.join(map(repr, near))}?" if near else ""
    raise ImageNotFoundError(f"no such file: {str(path)!r} (relative paths start at {Path.cwd()}){close}")


def _open_pil(source: Path | bytes, name: str | None, size: int | None) -> torch.Tensor:
    """Decode a file or downloaded bytes to (1, 3, H, W) in [0, 1], refusing oversized images."""
    name = name or str(source)
    if isinstance(source, Path):
        if source.is_dir():
            raise ImageError(f"{name} is a directory, not an image file; pass one of the files in it")
        try:
            if source.stat().st_size == 0:
                raise ImageError(f"{name} is empty (0 bytes); the download or copy probably failed, fetch it again")
            fp = source.open("rb")
        except OSError as e:
            raise ImageError(f"cannot read {name}: {e.strerror or e}; check the file's permissions") from None
    else:
        if not source:
            raise ImageError(f"{name} sent an empty body; check the address, or download the file")
        fp = io.BytesIO(source)
    with fp:
        head = fp.read(64)
        fp.seek(0)
        try:
            with warnings.catch_warnings():
                # Pillow warns above ~89 MP; MAX_PIXELS below is our own, explicit limit.
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im = Image.open(fp)
        except Image.DecompressionBombError as e:
            raise ImageError(f"{name} is too large to decode safely ({e}); shrink it in an image editor") from e
        except _DECODE_ERRORS as e:
            raise ImageError(f"{name} is not an image Pillow can read (PNG, JPEG, WebP, GIF, BMP, TIFF...)."
                             f"{sniff(head)} Open it in an image viewer, or export it again as PNG or JPEG.") from None
        with im:
            if size is not None and im.format == "JPEG" and max(im.size) > size:
                # libjpeg decodes at 1/2, 1/4 or 1/8 scale (at least the target size): fast for big photos
                im.draft("RGB", _target_size(im.size, size))
            w, h = im.size  # after draft: what will actually be decoded
            if w * h > MAX_PIXELS:
                raise ImageError(f"{name} is {w}x{h} = {w * h / 1e6:.3g} MP, above MAX_PIXELS = "
                                 f"{MAX_PIXELS / 1e6:.3g} MP; shrink it first, pass a smaller size for a JPEG, "
                                 "or raise the cap if the machine has the memory (nst.images.MAX_PIXELS)")
            return _from_pil(im, size, name)


# --- in-memory sources ----------------------------------------------------------------------------

def _target_size(wh: tuple[int, int], size: int) -> tuple[int, int]:
    """(w, h) scaled so the long side is ``size``; refuses results above MAX_PIXELS, naming the
    largest size that fits and how to raise the cap."""
    w, h = wh
    assert w > 0 and h > 0, "callers refuse images without pixels first"

    def scaled(side):
        s = side / max(w, h)
        return max(1, round(w * s)), max(1, round(h * s))

    out = scaled(size)
    if out[0] * out[1] > MAX_PIXELS:
        fits = int(size * math.sqrt(MAX_PIXELS / (out[0] * out[1]))) + 1
        while fits > 1 and math.prod(scaled(fits)) > MAX_PIXELS:  # rounding: step down to the first fit
            fits -= 1
        raise ImageError(f"size={size} would make a {out[0]}x{out[1]} image, above MAX_PIXELS = "
                         f"{MAX_PIXELS:,} pixels; the largest size that fits this {w}x{h} picture is "
                         f"{fits}. Pass size={fits} or less, or raise the cap if the machine has the "
                         "memory (nst.images.MAX_PIXELS = 100_000_000)")
    return out


def _from_pil(im: Image.Image, size: int | None, name: str) -> torch.Tensor:
    """PIL image (any mode) -> (1, 3, H, W) float32 in [0, 1], upright, alpha over white, resized."""
    try:
        im.load()  # Pillow decodes lazily; truncated files fail here (LOAD_TRUNCATED_IMAGES stays off)
    except _DECODE_ERRORS as e:
        raise ImageError(f"could not decode {name}: {e}; the file looks truncated or corrupt, "
                         "download or export it again") from e
    if 0 in im.size:
        raise ImageError(f"{name} is {im.width}x{im.height} pixels: it has no pixels to load; "
                         "check how it was made (an empty crop?)")
    try:
        im = ImageOps.exif_transpose(im)  # a copy, so a caller's PIL image is never modified
    except _DECODE_ERRORS:
        pass  # broken EXIF metadata: keep the pixels as stored rather than refuse the image
    if im.mode in _HIGH_DEPTH:
        # 16-bit (and float) grayscale: convert("RGB") would clip at 255, so scale ourselves.
        return _resize_tensor(_deep_gray(im, name)[None, None].repeat(1, 3, 1, 1), size)
    try:
        if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
            rgba = im.convert("RGBA")
            im = Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)), rgba)
        im = im.convert("RGB")  # also CMYK, palette, 1-bit, YCbCr
    except _DECODE_ERRORS as e:
        raise ImageError(f"{name} has colour mode {im.mode!r}, which cannot be converted to RGB; "
                         "export it as an RGB PNG or JPEG") from e
    if size is not None and max(im.size) != size:
        im = im.resize(_target_size(im.size, size), Image.LANCZOS, reducing_gap=3.0)
    rgb = torch.from_numpy(np.array(im, dtype=np.uint8))  # (H, W, 3)
    return rgb.permute(2, 0, 1).unsqueeze(0).contiguous().float().div_(255)  # (1, 3, H, W)


def _deep_gray(im: Image.Image, name: str) -> torch.Tensor:
    """A 16/32-bit integer or float grayscale PIL image as (H, W) float32 in [0, 1].

    The scale is the mode's value range. "I;16", "I;16L", "I;16B", "I;16N" (16-bit, e.g. a
    16-bit PNG): / 65535. "I" (32-bit signed integers) has no bit depth of its own, so the values
    decide: all in 0..255 is an 8-bit picture widened by ``convert("I")`` (/ 255, so grey 128 ->
    0.502); up to 65535 is 16-bit data, as older Pillows open 16-bit PNGs (/ 65535); above that,
    32-bit (/ (2**31 - 1)); negative values are refused. (A 16-bit image darker than 256/65535
    everywhere therefore reads as 8-bit: ``convert("I;16")`` it first to say otherwise.) "F"
    (float): [0, 1] as is, 0..255 (what ``convert("F")`` makes) / 255, anything else refused.
    """
    gray = torch.from_numpy(np.asarray(im, dtype=np.float64).copy())  # (H, W); float64 holds int32
    if im.mode.startswith("I;16"):
        return (gray / 65535.0).float().clamp_(0.0, 1.0)
    if im.mode == "I":
        lo, hi = float(gray.min()), float(gray.max())
        if lo < 0:
            raise ImageError(f"{name} is a 32-bit integer image with negative values (down to {lo:.0f}); "
                             "an image needs values >= 0: rescale it, or export it as an 8- or 16-bit PNG")
        peak = 255.0 if hi <= 255 else 65535.0 if hi <= 65535 else 2.0**31 - 1
        return (gray / peak).float().clamp_(0.0, 1.0)
    gray = gray.float()
    _check_values(gray, name, strict=False)  # NaN / inf: refuse, naming the file
    lo, hi = float(gray.min()), float(gray.max())
    if lo >= -RANGE_TOLERANCE and hi <= 1 + RANGE_TOLERANCE:
        return gray.clamp_(0.0, 1.0)
    if lo >= 0 and hi <= 255 + RANGE_TOLERANCE:  # Pillow's own convert("F") keeps 0..255
        return (gray / 255.0).clamp_(0.0, 1.0)
    raise ImageError(f"{name} is a float image with values in [{lo:.4g}, {hi:.4g}]; expected [0, 1] "
                     "or 0..255: rescale it, or export it as an 8- or 16-bit PNG")


def _from_array(arr: np.ndarray, size: int | None, name: str) -> torch.Tensor:
    """ndarray (H, W) or (H, W, 1|3|4), uint8/uint16/bool/float -> (1, 3, H, W) in [0, 1]."""
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or 0 in arr.shape:
        hint = ""
        if arr.ndim == 3 and arr.shape[0] in (1, 3, 4):
            hint = " It looks channels-first (C, H, W): pass arr.transpose(1, 2, 0)."
        raise ImageError(f"{name} has shape {arr.shape}; expected (H, W), (H, W, 1), (H, W, 3) "
                         f"or (H, W, 4) (channels last).{hint}")
    peak = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}.get(arr.dtype, 1)
    if peak == 1 and not (arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.floating)):
        raise ImageError(f"{name} has dtype {arr.dtype}; use uint8 (0..255), uint16 (0..65535) "
                         "or float in [0, 1]")
    x = arr.astype(np.float32) / peak
    t = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)  # (C, H, W)
    if t.shape[0] == 4:  # RGBA: composite over white, as for files
        _check_values(t, name)
        t = t[:3] * t[3:] + (1 - t[3:])
    return _from_tensor(t, size, name)


def _coerce_tensor(t: torch.Tensor, name: str) -> torch.Tensor:
    """Detach; uint8 -> /255; grayscale (H, W), (1, H, W), (1, 1, H, W) -> three channels."""
    t = t.detach()
    if t.dtype in (torch.uint8, torch.bool):
        t = t.float() / (255 if t.dtype == torch.uint8 else 1)
    elif not t.is_floating_point():
        raise ImageError(f"{name} has dtype {t.dtype}; use a float tensor in [0, 1] or uint8 (0..255)")
    if t.dim() == 2:
        t = t[None]  # (1, H, W)
    if t.dim() == 3 and t.shape[0] == 1:
        t = t.expand(3, -1, -1)  # (3, H, W)
    elif t.dim() == 4 and t.shape[:2] == (1, 1):
        t = t.expand(1, 3, -1, -1)  # (1, 3, H, W)
    return t


def _from_tensor(t: torch.Tensor, size: int | None, name: str) -> torch.Tensor:
    """Tensor in any accepted layout -> validated (1, 3, H, W) float32 in [0, 1], resized."""
    return _resize_tensor(check_image(_coerce_tensor(t, name), name), size)


def _resize_tensor(t: torch.Tensor, size: int | None) -> torch.Tensor:
    """(1, 3, H, W) -> long side ``size``, antialiased bicubic, clamped (bicubic overshoots)."""
    if size is None or max(t.shape[-2:]) == size:
        return t
    w, h = _target_size((t.shape[-1], t.shape[-2]), size)
    # torchvision imported here, not at module top: it costs ~0.5 s of every process start
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    return TF.resize(t, [h, w], interpolation=InterpolationMode.BICUBIC, antialias=True).clamp_(0, 1)


# --- validation -------------------------------------------------------------------------------------

def _check_values(t: torch.Tensor, name: str, strict: bool = True) -> None:
    """Raise ImageError unless ``t`` is finite and (if ``strict``) within [0, 1] +- tolerance."""
    lo, hi = (float(v) for v in t.detach().aminmax())  # one pass; NaN propagates, Inf shows as an extreme
    if not (math.isfinite(lo) and math.isfinite(hi)):
        nan, inf = int(torch.isnan(t).sum()), int(torch.isinf(t).sum())
        raise ImageError(f"{name} contains {nan} NaN and {inf} infinite values; an image must be finite "
                         "numbers in [0, 1] (if an optimisation produced it, lower the learning rate)")
    if strict and (lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE):
        if lo >= 0 and hi <= 255:
            hint = "it looks like 0..255: divide by 255"
        elif lo >= -1 - RANGE_TOLERANCE and hi <= 1 + RANGE_TOLERANCE:
            hint = "it looks like [-1, 1]: use (x + 1) / 2"
        else:
            hint = "if it was normalised (e.g. ImageNet mean/std), undo that first"
        raise ImageError(f"{name} has values in [{lo:.4g}, {hi:.4g}], outside [0, 1]; {hint}")


def _check(img, name: str, strict: bool) -> torch.Tensor:
    """Shape/dtype/finiteness checks -> float32 (1, 3, H, W); out-of-range values raise if
    ``strict``, else are clamped (for showing an image mid-optimisation; saving is strict)."""
    if not isinstance(img, torch.Tensor):
        raise ImageError(f"{name} must be a torch.Tensor, got {type(img).__name__}; use load_image to convert")
    if not img.is_floating_point():
        raise ImageError(f"{name} has dtype {img.dtype}; expected a float tensor in [0, 1] "
                         "(for uint8 0..255 divide by 255, or use load_image)")
    t = img.float()
    if t.dim() == 3:
        t = t.unsqueeze(0)
    if t.dim() != 4 or t.shape[:2] != (1, 3) or t.shape[2] == 0 or t.shape[3] == 0:
        hint = ""
        if t.dim() == 4 and t.shape[0] > 1:
            hint = f" It is a batch of {t.shape[0]} images: pass one, e.g. x[:1]."
        elif t.shape[-1] in (1, 3, 4) and t.dim() == 4 and t.shape[1] not in (1, 3):
            hint = " It looks channels-last: use x.permute(2, 0, 1)."
        raise ImageError(f"{name} has shape {tuple(img.shape)}; expected (1, 3, H, W) or (3, H, W).{hint}")
    _check_values(t, name, strict)
    return t.clamp(0, 1)
