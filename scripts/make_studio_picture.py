"""A picture of the StyleStudio as a browser shows it: ``python scripts/make_studio_picture.py``.

A committed notebook keeps only ``VBox(...)`` as the studio cell's output, so a reader on GitHub
sees nothing there; lesson 03 shows this picture under the cell instead. The script starts a
token-less JupyterLab on 127.0.0.1 (every config folder in a temporary one, as
``tests/test_studio_browser.py`` does), runs a notebook that opens the studio as lesson 03 does
(chelsea, swirls), clicks **Run** in headless Chromium (Playwright driving Debian's
``/usr/lib/chromium/chromium``), waits for "Finished", screenshots the studio alone and writes it
as a palette PNG (``--colors``) so that it stays small enough to commit. Needs ``apt-get install -y
chromium`` and ``pip install playwright`` (no browser download). Prints the file's size and the
seconds each part took.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
from PIL import Image

ROOT = Path(__file__).absolute().parent.parent
CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium") if os.path.exists(p)),
                "/usr/lib/chromium/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-quic"]
WAIT_MS = 300_000  # the kernel, the first cell (imports torch) and the run, on a busy machine


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "assets" / "studio.png", help="default: %(default)s")
    ap.add_argument("--content", default="chelsea")
    ap.add_argument("--style", default="swirls")
    ap.add_argument("--size", type=int, default=192, help="the run's size in px (default: %(default)s, as lesson 03 "
                                                          "on a CPU)")
    ap.add_argument("--steps", type=int, default=100, help="the run's steps (default: %(default)s, as lesson 03 on a CPU)")
    ap.add_argument("--colors", type=int, default=128, help="the PNG's palette size (default: %(default)s)")
    ap.add_argument("--chromium", default=CHROMIUM, help="default: %(default)s")
    return ap


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(folder: Path, args) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import helpers as nst\n"
        f"studio = nst.StyleStudio({args.content!r}, {args.style!r}, size={args.size}, steps={args.steps}, "
        "device='cpu', seed=0)\nstudio.display()")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "studio.ipynb"
    nbformat.write(nb, path)
    return path


def lab_env(tmp: Path) -> dict:
    """The environment for a JupyterLab of its own under ``tmp``: private config, runtime and settings
    folders (no news pop-up), this repository importable. (tests/test_studio_browser.py uses it too.)"""
    env = dict(os.environ)
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTERLAB_SETTINGS_DIR",
                "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        env[var] = str(tmp / var.lower())
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    settings = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    return env


def launch_lab(root_dir: Path, env: dict, log) -> tuple[subprocess.Popen, str]:
    """Start JupyterLab on a free port, no token, serving ``root_dir``; output to ``log``: (process, url)."""
    port = _free_port()
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root_dir}",
           '--ServerApp.jpserver_extensions={"jupyter_lsp": False}']
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}"


def wait_for_lab(proc: subprocess.Popen, url: str, seconds: float) -> bool:
    """True once the server answers; False if it exits or ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.25)
    return False


def start_lab(tmp: Path) -> tuple[subprocess.Popen, str]:
    """A JupyterLab serving ``tmp/notebooks`` with this repository importable: (process, url)."""
    log = open(tmp / "jupyterlab.log", "w")
    proc, url = launch_lab(tmp / "notebooks", lab_env(tmp), log)
    if not wait_for_lab(proc, url, 90):
        stop_lab(proc)
        sys.exit(f"JupyterLab did not start:\n{(tmp / 'jupyterlab.log').read_text()[-3000:]}")
    return proc, url


def stop_lab(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def wait_for_kernel(page, wait_ms: int = WAIT_MS) -> None:
    """Until the status bar says '<kernel> | Idle' (the toolbar can say idle too early).
    (tests/test_studio_browser.py uses it too.)"""
    deadline = time.monotonic() + wait_ms / 1000
    while time.monotonic() < deadline:
        dialog = page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count():
            dialog.first.click()
        texts = page.locator(".jp-StatusBar-TextItem").all_inner_texts()
        if any(t.strip().endswith("| Idle") and not t.startswith("No Kernel") for t in texts):
            return
        page.wait_for_timeout(250)
    raise TimeoutError("the kernel did not become idle")


def open_studio(page, url: str, wait_ms: int = WAIT_MS):
    """Open studio.ipynb in the lab at ``url``, run all its cells, and return the studio's locator once
    it shows. (tests/test_studio_browser.py uses it too.)"""
    page.goto(f"{url}/lab/tree/studio.ipynb")
    wait_for_kernel(page, wait_ms)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    studio = page.locator(".nst-widget")
    studio.wait_for()
    return studio


def screenshot_studio(url: str, chromium: str, tmp: Path) -> bytes:
    """Open the notebook, run it, press Run, wait for the result; the studio's screenshot (PNG)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, chromium_sandbox=False)
        page = browser.new_page(viewport={"width": 1700, "height": 1800})
        page.set_default_timeout(WAIT_MS)
        try:
            studio = open_studio(page, url)
            for name in ("nst-preview", "nst-fast-preview"):
                page.wait_for_function("el => el.src && el.complete && el.naturalWidth > 0",
                                       arg=studio.locator(f".{name}").element_handle())
            studio.locator("button").filter(has_text=re.compile(r"^\s*Run\s*$")).click()
            page.wait_for_function(
                "el => el.textContent.includes('Finished') || el.textContent.includes('failed')",
                arg=studio.locator(".nst-status").element_handle())
            status = studio.locator(".nst-status").inner_text()
            if "Finished" not in status:
                raise RuntimeError(f"the studio's run did not finish: {status}")
            page.wait_for_timeout(500)  # the last preview and history card to draw
            page.mouse.move(0, 0)  # no hover highlight or tooltip in the picture
            return studio.screenshot()
        except BaseException:
            page.screenshot(path=str(tmp / "failure.png"))
            print(f"failed: the page is in {tmp / 'failure.png'}", file=sys.stderr)
            raise
        finally:
            browser.close()


def small_png(png: bytes, colors: int) -> bytes:
    """``png`` as a palette PNG of ``colors`` colours (the controls are flat; the pictures dither)."""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    img.quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(out, format="PNG", optimize=True)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not os.path.exists(args.chromium):
        sys.exit(f"{args.chromium} is missing: apt-get update && apt-get install -y chromium")
    tmp = Path(tempfile.mkdtemp(prefix="nst-studio-picture-"))  # kept on failure, for its page and log
    (tmp / "notebooks").mkdir()
    _notebook(tmp / "notebooks", args)
    t0 = time.perf_counter()
    proc, url = start_lab(tmp)
    try:
        png = screenshot_studio(url, args.chromium, tmp)
    finally:
        stop_lab(proc)
    t1 = time.perf_counter()
    data = small_png(png, args.colors)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    w, h = Image.open(io.BytesIO(data)).size
    print(f"{args.out}: {w}x{h} px, {len(data) / 1000:.0f} kB ({len(png) / 1000:.0f} kB as screenshotted); "
          f"{t1 - t0:.0f} s in the browser ({args.size} px, {args.steps} steps)")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
