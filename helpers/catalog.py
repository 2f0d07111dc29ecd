"""The catalogue of named pictures: embedded photos and styles, hash-pinned paintings, downloads.

One naming scheme (``load_image("chelsea")``, ``load_image("mondrian")``,
``load_image("starry_night")`` all go through :func:`resolve`):

* **content photos** in ``assets/content`` -- copied from scikit-image and matplotlib sample data
  by ``python scripts/make_assets.py`` (licences in :data:`CONTENT` and ``assets/CREDITS.md``);
* **style images** in ``assets/style`` -- drawn by :mod:`helpers.generators`;
* **paintings** -- famous public-domain works, downloaded on first use by :func:`fetch`,
  checked against a pinned SHA-256 and cached, because a repository should not ship megabytes
  of JPEGs.

:func:`download` is the package's one HTTP client: ``load_image(url)`` and :func:`fetch` both use
it, so both honour the same size cap (env ``NST_MAX_DOWNLOAD_MB``), overall deadline
(:data:`DOWNLOAD_TIMEOUT_S`) and redirect limit, and report failures the same way.
"""
from __future__ import annotations

import difflib
import hashlib
import http.client
import os
import secrets
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple

from .errors import ImageError, ImageNotFoundError

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


def close_names(name: str, known: list[str]) -> list[str]:
    """Up to three of ``known`` that ``name`` is probably a typo of (difflib's ratio >= 0.6)."""
    return difflib.get_close_matches(name, known, n=3, cutoff=0.6)


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
        data = _read_local(source) if "://" not in mirror else download(source)
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


def _read_local(source: str) -> bytes:
    """The bytes of a painting in a local-folder mirror, within the download cap."""
    file = Path(source).expanduser()
    try:
        size = file.stat().st_size
        if size > download_cap():
            raise ImageError(f"could not download from {source}: it is {size / 1e6:.3g} MB, above "
                             f"{_limit_text(download_cap())}")
        return file.read_bytes()
    except OSError as err:
        raise ImageError(f"could not download from {source}: {err.strerror or err} (a mirror is "
                         "an http(s):// or file:// folder URL, or an existing local folder)") from None


def write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` under a temporary name in the same folder, then rename.

    Creates missing parent folders. A failure (OSError) leaves neither a partial file nor a
    changed ``target``. The file gets the usual permissions (0o666 less the umask).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def sniff(head: bytes) -> str:
    """A hint about what a file that is not an image might be, from its first bytes ('' if none)."""
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftyphevc", b"ftypmif1", b"ftypmsf1"):
        return (" It is a HEIC/HEIF photo (an iPhone's default): export it as JPEG, or set the "
                "camera to 'Most Compatible'.")
    if head.startswith(b"%PDF"):
        return " It is a PDF document: export the page as PNG or JPEG."
    if b"<svg" in head or head.lstrip().startswith(b"<?xml"):
        return " It looks like SVG/XML (a vector drawing): export it as PNG."
    if head.lstrip()[:1] == b"<":
        return " It starts like HTML, perhaps a web page saved in place of the picture."
    if head and all(32 <= b < 127 or b in b"\r\n\t" for b in head):
        return " It looks like a text file."
    return ""


# --------------------------------------------------------------------------- downloads

#: Downloads stop once they pass this many bytes; env NST_MAX_DOWNLOAD_MB (megabytes) overrides.
MAX_DOWNLOAD_BYTES = 50_000_000
#: Seconds a whole download may take -- connecting, headers and body together, not per read.
DOWNLOAD_TIMEOUT_S = 30.0
#: Redirects followed before a download is refused as a loop.
MAX_REDIRECTS = 10
USER_AGENT = "nst-helpers/0.1 (neural style transfer lessons; Python urllib)"
_ENV_CAP = "NST_MAX_DOWNLOAD_MB"


def download_cap() -> int:
    """Bytes a download may have: env NST_MAX_DOWNLOAD_MB if set, else MAX_DOWNLOAD_BYTES."""
    raw = os.environ.get(_ENV_CAP, "").strip()
    if not raw:
        return MAX_DOWNLOAD_BYTES
    try:
        mb = float(raw)
    except ValueError:
        mb = float("nan")
    if not mb > 0:
        raise ImageError(f"{_ENV_CAP}={raw!r} is not a positive number of megabytes (e.g. 50)")
    return int(mb * 1_000_000)


def _limit_text(cap: int) -> str:
    return f"the download limit of {cap / 1e6:.3g} MB (MAX_DOWNLOAD_BYTES, or env {_ENV_CAP})"


class _Redirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS


def download(url: str) -> bytes:
    """GET ``url`` and return its body: at most the cap, within DOWNLOAD_TIMEOUT_S in total.

    Refuses web pages (an HTML Content-Type), bodies above :func:`download_cap` (by
    Content-Length before reading, else while reading), redirect loops and slow servers, each
    with one line naming the URL. Proxies come from the usual environment variables.
    """
    cap = download_cap()
    deadline = time.monotonic() + DOWNLOAD_TIMEOUT_S
    late = (f"could not download from {url}: no complete answer within {DOWNLOAD_TIMEOUT_S:g} s "
            "(DOWNLOAD_TIMEOUT_S, for the whole download); check your connection, or download "
            "the file and pass its path")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.build_opener(_Redirects).open(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
            ctype = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype.startswith("text/") or "html" in ctype:
                raise ImageError(f"could not download from {url}: it is a web page ({ctype}), not an "
                                 "image; open it in a browser, right-click the picture and copy "
                                 "the image address, or download it")
            length = (response.headers.get("Content-Length") or "").strip()
            if length.isdigit() and int(length) > cap:  # refuse before reading a byte of the body
                raise ImageError(f"could not download from {url}: it is {int(length) / 1e6:.3g} MB "
                                 f"(Content-Length), above "
                                 f"{_limit_text(cap)}")
            return _read_body(response, url, cap, deadline, late)
    except ImageError:
        raise
    except urllib.error.HTTPError as e:  # before URLError, its base class
        e.close()
        if 300 <= e.code < 400:
            raise ImageError(f"could not download from {url}: its redirects loop or run past "
                             f"{MAX_REDIRECTS} hops (HTTP {e.code}); open it in a browser to find "
                             "the file's own address") from None
        raise ImageError(f"could not download from {url}: HTTP {e.code} {e.reason}; check the "
                         "address in a browser, or download the file and pass its path") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            raise ImageError(late) from None
        raise ImageError(f"could not download from {url}: {reason}; check your connection, "
                         "or download the file and pass its path") from None


def _read_body(response, url: str, cap: int, deadline: float, late: str) -> bytes:
    """Read ``response`` chunk by chunk, each socket wait bounded by the time left."""
    # read1 returns what has arrived (read(n) would wait for n bytes); the socket's timeout is
    # reset to the time left before each read, so a server sending a byte at a time cannot
    # stretch the download past the deadline.
    read = getattr(response, "read1", response.read)
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    chunks, total = [], 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ImageError(late)
        if sock is not None:
            sock.settimeout(left)
        chunk = read(1 << 16)
        if not chunk:
            missing = getattr(response, "length", None)  # http.client counts down Content-Length
            if missing:
                raise ImageError(f"could not download from {url}: the connection closed after "
                                 f"{total} bytes, {missing} short of its Content-Length; try again")
            return b"".join(chunks)
        total += len(chunk)
        if total > cap:  # servers may omit or misstate Content-Length: count what arrives
            raise ImageError(f"could not download from {url}: it passed {_limit_text(cap)}; "
                             f"stopped reading after {total} bytes")
        chunks.append(chunk)
