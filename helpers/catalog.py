"""The catalogue of named pictures: embedded photos and styles, and hash-pinned paintings.

One naming scheme (``load_image("chelsea")``, ``load_image("mondrian")``,
``load_image("starry_night")`` all go through :func:`resolve`):

* **content photos** in ``assets/content`` -- copied from scikit-image and matplotlib sample data
  by ``python scripts/make_assets.py`` (licences in :data:`CONTENT` and ``assets/CREDITS.md``);
* **style images** in ``assets/style`` -- drawn by :mod:`helpers.generators`;
* **paintings** -- famous public-domain works, downloaded on first use by :func:`fetch`,
  checked against a pinned SHA-256 and cached, because a repository should not ship megabytes
  of JPEGs. They come through :func:`helpers.download.download`, the package's one HTTP client.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import NamedTuple

from .download import download, read_local, sniff, write_atomically
from .errors import ImageError, ImageNotFoundError, close_names

# --------------------------------------------------------------------------- embedded assets


class Credit(NamedTuple):
    """Where an embedded photo comes from: the package file it is copied from, and its terms."""

    package: str   # "skimage" or "matplotlib"
    file: str      # file name inside the package's sample-data folder
    author: str
    licence: str
    note: str      # where the licence is stated


#: Embedded content photos, name -> credit. ``scripts/make_assets.py`` copies them from the
#: installed packages; each licence is quoted from the package's own files.
CONTENT: dict[str, Credit] = {
    "astronaut": Credit("skimage", "astronaut.png", "NASA (Eileen Collins, NASA Great Images)",
                        "Public domain", "skimage.data.astronaut docstring: 'No known copyright "
                        "restrictions, released into the public domain.'"),
    "chelsea": Credit("skimage", "chelsea.png", "Stefan van der Walt", "CC0 1.0",
                      "skimage.data.chelsea docstring: 'No copyright restrictions. CC0 by the "
                      "photographer (Stefan van der Walt).'"),
    "coffee": Credit("skimage", "coffee.png", "Rachel Michetti (courtesy of Pikolo Espresso Bar)",
                     "CC0 1.0", "skimage.data.coffee docstring: 'No copyright restrictions. CC0 "
                     "by the photographer (Rachel Michetti).'"),
    "rocket": Credit("skimage", "rocket.jpg", "SpaceX (DSCOVR launch on Falcon 9)",
                     "Public domain", "skimage.data.rocket docstring: 'captured by SpaceX and "
                     "released in the public domain'"),
    "grace_hopper": Credit("matplotlib", "grace_hopper.jpg", "U.S. Navy (official portrait of "
                           "Grace Hopper)", "Public domain (work of the U.S. federal government)",
                           "JPEG comment names its source, Wikimedia Commons "
                           "File:Grace_Hopper.jpg; matplotlib added it as a public-domain image "
                           "(matplotlib PR #1599)"),
}

KINDS = ("content", "style")
#: File suffixes of the embedded images.
SUFFIXES = (".jpg", ".png")


def asset_dir() -> Path:
    """The folder holding ``content/``, ``style/`` and ``CREDITS.md``.

    Env ``NST_ASSETS`` wins; then ``helpers/assets`` (a wheel install packages the assets there);
    then ``<repo>/assets`` (a clone or editable install).
    """
    if os.environ.get("NST_ASSETS"):
        return Path(os.environ["NST_ASSETS"]).expanduser()
    packaged = Path(__file__).resolve().parent / "assets"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "assets"


def names(kind: str | None = None) -> list[str]:
    """Sorted names of the embedded images; ``kind`` is None (all), ``"content"`` or ``"style"``."""
    if kind not in (None,) + KINDS:
        raise ImageError(f"kind={kind!r} is not an asset kind; use None or one of {KINDS}")
    kinds = KINDS if kind is None else (kind,)
    return sorted(p.stem for k in kinds for p in (asset_dir() / k).glob("*")
                  if p.suffix in SUFFIXES)


def unknown_name(name: str) -> str:
    """The message for a name that is no picture: the close names (difflib), then all of them."""
    stem = name[:-4] if name.lower().endswith(SUFFIXES) else name
    close = close_names(stem, names() + list(PAINTINGS))
    hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
    return (f"{name!r} is neither a file nor a picture name; {hint}embedded content: "
            f"{names('content')}, styles: {names('style')}, paintings (downloaded on first use): "
            f"{list(PAINTINGS)} (embedded ones in {asset_dir()})")


def path(name: str) -> Path:
    """The file of the embedded image ``name`` (e.g. ``"chelsea"`` or ``"mondrian.png"``)."""
    stem = Path(name).stem if Path(name).suffix in SUFFIXES else name
    for kind in KINDS:
        for suffix in SUFFIXES:
            candidate = asset_dir() / kind / f"{stem}{suffix}"
            if candidate.is_file():
                return candidate
    raise ImageNotFoundError(unknown_name(name))


def resolve(name: str) -> Path | None:
    """The file a short image name stands for: an embedded asset, or a fetched painting; else None.

    This is what ``load_image("mondrian")`` and ``load_image("starry_night")`` call. A painting is
    downloaded on first use (see :func:`fetch`), so this may raise :class:`ImageError` offline.
    """
    try:
        return path(name)
    except ImageError:
        pass
    key = _painting_key(name)
    return fetch(key) if key is not None else None


# --------------------------------------------------------------------------- paintings

class Painting(NamedTuple):
    """A public-domain painting downloaded at run time: file name, artist, title, SHA-256."""

    file: str
    artist: str
    title: str
    sha256: str


#: Paintings from the examples of jcjohnson/neural-style (the images Gatys-style papers show).
PAINTINGS: dict[str, Painting] = {
    "starry_night": Painting("starry_night.jpg", "Vincent van Gogh", "The Starry Night",
                             "0592ab0f7b51b3ce72608a95e53880bd93971e5b48f93a0ce8dfd3cbccf3d098"),
    "the_scream": Painting("the_scream.jpg", "Edvard Munch", "The Scream",
                           "f3075cddeb974a9ee1d6418f7f33fd05185a7ac7dcb4288bd2805d499a9dcaee"),
    "shipwreck": Painting("shipwreck.jpg", "J. M. W. Turner", "The Shipwreck",
                          "4f7cf34e3cd4a5daaf3f421f059ca9a01aaa2a3afd7243d6670c9c8bc001a213"),
    "woman_with_hat": Painting("woman-with-hat-matisse.jpg", "Henri Matisse", "Woman with a Hat",
                               "6a8b2383d9c110354a97a42c74bdcc5341be879cbb842ddb7ab5843dbdf56d53"),
}
#: Where paintings come from unless env ``NST_ARTWORK_MIRROR`` names another folder URL or a
#: local folder (a classroom server, a USB stick).
ARTWORK_MIRROR = "https://raw.githubusercontent.com/jcjohnson/neural-style/master/examples/inputs/"


def _painting_key(name: str) -> str | None:
    """The PAINTINGS key for ``name``: a key, or a painting's file name with or without ".jpg"."""
    stem = name[:-4] if name.lower().endswith(".jpg") else name
    for key, painting in PAINTINGS.items():
        if stem in (key, Path(painting.file).stem):
            return key
    return None


def cache_dir() -> Path:
    """Where paintings are cached: env ``NST_CACHE_DIR``, else the OS cache (XDG_CACHE_HOME)."""
    import pooch  # imported here: `import helpers` should not pay for it; used for its os_cache

    return Path(os.environ.get("NST_CACHE_DIR") or pooch.os_cache("nst-helpers")).expanduser()


def fetch(name: str) -> Path:
    """Download (once), verify and cache a painting of :data:`PAINTINGS`; return its path.

    The file comes from env ``NST_ARTWORK_MIRROR`` (a folder URL or a local folder) or
    :data:`ARTWORK_MIRROR`, through :func:`download` (size cap, overall deadline), and must match
    the pinned SHA-256. A changed or truncated file is never kept: the cache holds verified files
    only, written under a temporary name and renamed when complete.
    """
    key = _painting_key(name)
    if key is None:
        close = close_names(name, list(PAINTINGS))[:1]
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ImageNotFoundError(f"{name!r} is not a known painting; {hint}use one of {list(PAINTINGS)}")
    painting = PAINTINGS[key]
    target = cache_dir() / painting.file
    if target.is_file() and _sha256(target.read_bytes()) == painting.sha256:
        return target
    mirror = os.environ.get("NST_ARTWORK_MIRROR") or ARTWORK_MIRROR
    source = mirror.rstrip("/") + "/" + painting.file
    advice = (f"Offline? Set NST_ARTWORK_MIRROR to a folder URL or a local folder holding "
              f"{painting.file}, or use an embedded style: {names('style')}")
    try:
        data = read_local(source) if "://" not in mirror else download(source)
    except ImageError as err:
        raise ImageError(f"painting {key!r} ({painting.title}): {err}. {advice}") from None
    digest = _sha256(data)
    if digest != painting.sha256:
        target.unlink(missing_ok=True)  # a stale copy failed the check above: drop it too
        raise ImageError(f"painting {key!r} from {source} does not match its pinned SHA-256 "
                         f"({painting.sha256[:12]}..., got {digest[:12]}... for {len(data)} bytes);"
                         f" the mirror serves a different file.{sniff(data[:64])} {advice}")
    try:
        write_atomically(target, data)
    except OSError as err:
        raise ImageError(f"cannot write the painting cache {target.parent}: {err.strerror or err}; "
                         "set NST_CACHE_DIR to a folder you can write to") from None
    return target


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
