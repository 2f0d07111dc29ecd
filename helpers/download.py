"""The package's one HTTP client, its atomic file writer, and a sniff of what a non-image file is.

``load_image(url)`` and :func:`helpers.catalog.fetch` both download through :func:`download`, so
both honour the same limits and report failures the same way, in one line naming the URL:

* a size cap (:data:`MAX_DOWNLOAD_BYTES`, env ``NST_MAX_DOWNLOAD_MB``), by Content-Length before
  reading and by counting while reading;
* an overall deadline (:data:`DOWNLOAD_TIMEOUT_S`) for connecting, headers and body together;
* the slow-drip rule: a body that, at the rate it is arriving, cannot finish before the deadline
  is given up as soon as that is clear (see :func:`download`), not when the deadline passes;
* a redirect limit (:data:`MAX_REDIRECTS`); web pages (an HTML Content-Type) are refused.

:func:`write_atomically` is how files are written (saved images, cached paintings): a failure
never leaves a partial file behind.
"""
from __future__ import annotations

import http.client
import os
import secrets
import time
import urllib.error
import urllib.request
from pathlib import Path

from .errors import ImageError

__all__ = ["DOWNLOAD_TIMEOUT_S", "MAX_DOWNLOAD_BYTES", "MAX_REDIRECTS", "MIN_DOWNLOAD_RATE",
           "SLOW_GRACE_S", "download", "download_cap", "read_local", "sniff", "write_atomically"]

#: Downloads stop once they pass this many bytes; env NST_MAX_DOWNLOAD_MB (megabytes) overrides.
MAX_DOWNLOAD_BYTES = 50_000_000
#: Seconds a whole download may take -- connecting, headers and body together, not per read.
DOWNLOAD_TIMEOUT_S = 30.0
#: Seconds of body the slow-drip rule watches before it judges the rate (a slow start is normal).
SLOW_GRACE_S = 3.0
#: Bytes per second below which a body of unknown length is given up after the grace period: at
#: that rate the whole deadline brings a few tens of kB, less than any picture worth stylising.
MIN_DOWNLOAD_RATE = 1000.0
#: Redirects followed before a download is refused as a loop.
MAX_REDIRECTS = 10
USER_AGENT = "nst-helpers/0.1 (neural style transfer lessons; Python urllib)"
_ENV_CAP = "NST_MAX_DOWNLOAD_MB"
_ADVICE = "check your connection, or download the file and pass its path"


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

    The slow-drip rule: once the body has been arriving for SLOW_GRACE_S seconds, with ``rate`` =
    bytes so far / seconds since the body began, the download is given up when
    ``rate * seconds left before the deadline < bytes still expected`` (Content-Length known), or
    when ``rate < MIN_DOWNLOAD_RATE`` (no Content-Length). The wait for the next bytes is bounded
    by the moment the rule would give up if none came, so a stalled server is caught then too.
    """
    cap = download_cap()
    deadline = time.monotonic() + DOWNLOAD_TIMEOUT_S
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
                                 f"(Content-Length), above {_limit_text(cap)}")
            return _read_body(response, url, cap, deadline, int(length) if length.isdigit() else None)
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
            raise ImageError(_late(url)) from None
        raise ImageError(f"could not download from {url}: {reason}; {_ADVICE}") from None


def _late(url: str) -> str:
    return (f"could not download from {url}: no complete answer within {DOWNLOAD_TIMEOUT_S:g} s "
            f"(DOWNLOAD_TIMEOUT_S, for the whole download); {_ADVICE}")


class _Drip:
    """The slow-drip rule of :func:`download` for one body: when to give up, and the message."""

    def __init__(self, url: str, length: int | None, deadline: float):
        self.url, self.length, self.deadline = url, length, deadline
        self.start = time.monotonic()

    def give_up_at(self, total: int) -> float:
        """The moment the rule fails if no byte beyond ``total`` arrives (never before the grace)."""
        if self.length is None:  # total / (t - start) < MIN_DOWNLOAD_RATE
            t = self.start + total / MIN_DOWNLOAD_RATE
        else:  # total / (t - start) * (deadline - t) < length - total, solved for t
            left = max(self.length - total, 0)
            t = (total * self.deadline + left * self.start) / max(total + left, 1)
        return max(self.start + SLOW_GRACE_S, t)

    def check(self, total: int, *, due: bool = False) -> None:
        """Raise ImageError when the body, at its rate so far, cannot finish in time.

        ``due``: the wait bounded by :meth:`give_up_at` ran out, so the rule has failed (the
        clock may read a hair before that moment).
        """
        now = time.monotonic()
        if not due and (now < self.start + SLOW_GRACE_S or now < self.give_up_at(total)):
            return
        rate = total / max(now - self.start, 1e-9)
        seen = f"{total} bytes in {now - self.start:.1f} s ({rate:.0f} bytes/s)"
        if self.length is None:
            why = f"below the {MIN_DOWNLOAD_RATE:g} bytes/s (MIN_DOWNLOAD_RATE) a picture needs"
        else:
            why = (f"at that rate the other {self.length - total} bytes (Content-Length) would "
                   f"need {(self.length - total) / max(rate, 1e-9):.0f} s, past the "
                   f"{DOWNLOAD_TIMEOUT_S:g}-s deadline (DOWNLOAD_TIMEOUT_S)")
        raise ImageError(f"could not download from {self.url}: the server is sending too slowly, "
                         f"{seen}, {why}; try again later or on a faster connection, or download "
                         "the file in a browser and pass its path")


def _read_body(response, url: str, cap: int, deadline: float, length: int | None) -> bytes:
    """Read ``response`` chunk by chunk, each socket wait bounded by the deadline and the drip rule."""
    # read1 returns what has arrived (read(n) would wait for n bytes); the socket's timeout is
    # reset before each read, so a server sending a byte at a time cannot stretch the download
    # past the deadline, nor past the moment the slow-drip rule gives up on it.
    read = getattr(response, "read1", response.read)
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    drip = _Drip(url, length, deadline)
    chunks, total = [], 0
    while True:
        now = time.monotonic()
        if now >= deadline:
            raise ImageError(_late(url))
        drip.check(total)
        give_up = drip.give_up_at(total)
        if sock is not None:
            sock.settimeout(max(min(deadline, give_up) - now, 0.01))
        try:
            chunk = read(1 << 16)
        except TimeoutError:  # a socket cannot be read after a timeout: decide now
            if give_up < deadline:
                drip.check(total, due=True)
            raise ImageError(_late(url)) from None
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


def read_local(source: str) -> bytes:
    """The bytes of a local file (a folder mirror of paintings), within the download cap."""
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
