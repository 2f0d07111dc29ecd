"""StyleStudio in a real browser: JupyterLab 4 + headless Chromium (Playwright), on ipywidgets 8
and on 7.7.1 (Colab's version, with the jupyterlab_widgets 1.1.11 front end JupyterLab 4 needs).

Each run starts a token-less JupyterLab on 127.0.0.1 with every config folder in the test's tmp
dir, opens a notebook generated there, runs it, moves the style-weight slider with the keyboard,
clicks Run and waits for the preview to change and the progress bar to reach 100%. The page's
screenshots (``lab.png``, ``studio.png``) and, on failure, its console log stay in the tmp dir.
See /work/shared/notes/browser-testing.md for why each setting is there.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_BINARY = "/usr/lib/chromium/chromium"  # the wrapper script prints a harmless warning
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-quic"]
STEPS = 16
WAIT_MS = 90_000  # for the kernel, the first cell (imports torch) and the run, on a busy machine

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                 reason=f"{CHROMIUM} is missing: apt-get install -y chromium")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import ipywidgets\nimport helpers as nst\n"
                                  "print('ipywidgets', ipywidgets.__version__)"),
        nbformat.v4.new_code_cell(f'studio = nst.StyleStudio("chelsea", "mondrian", size=64, steps={STEPS}, '
                                  'device="cpu")\nstudio.display()'),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "studio.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(params=["8", "7.7.1"], ids=["ipywidgets8", "ipywidgets7.7.1"])
def lab(request, tmp_path, tmp_path_factory):
    """A running JupyterLab serving studio.ipynb: yields (url, tmp_path, widgets version)."""
    env = dict(os.environ)
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTERLAB_SETTINGS_DIR",
                "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        env[var] = str(tmp_path / var.lower())
    env["OMP_NUM_THREADS"] = "1"  # the kernel's torch: see test_studio.one_thread
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).parents[1]), env.get("PYTHONPATH")) if p)
    if request.param != "8":
        ipywidgets7, folder = request.getfixturevalue("ipywidgets7_folder")
        env = ipywidgets7.env(folder, env)
        env["JUPYTER_PATH"] = str(folder / "share" / "jupyter")  # its front end wins over 3.x's
    settings = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    _notebook(nb_dir)
    port = _free_port()
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={nb_dir}",
           '--ServerApp.jpserver_extensions={"jupyter_lsp": False}']
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp_path / "jupyterlab.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not start; see {tmp_path / 'jupyterlab.log'}:\n"
                                   + (tmp_path / "jupyterlab.log").read_text()[-3000:])
            time.sleep(0.25)
        yield url, tmp_path, request.param
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _wait_for_kernel(page):
    """Until the status bar says '<kernel> | Idle' (the toolbar can say idle too early)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        dialog = page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count():
            dialog.first.click()
        texts = page.locator(".jp-StatusBar-TextItem").all_inner_texts()
        if any(t.strip().endswith("| Idle") and not t.startswith("No Kernel") for t in texts):
            return
        page.wait_for_timeout(250)
    raise TimeoutError("the kernel did not become idle")


def test_studio_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    url, tmp, version = lab
    t_start = time.perf_counter()
    console = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM_BINARY if os.path.exists(CHROMIUM_BINARY)
                                    else CHROMIUM, args=ARGS, chromium_sandbox=False)
        page = browser.new_page(viewport={"width": 1500, "height": 1150})
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.set_default_timeout(WAIT_MS)
        try:
            page.goto(f"{url}/lab/tree/studio.ipynb")
            _wait_for_kernel(page)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            studio = page.locator(".nst-widget")
            studio.wait_for()
            assert f"ipywidgets {version}" in page.locator(".jp-OutputArea-output").first.inner_text()
            preview = studio.locator(".nst-preview")
            page.wait_for_function("el => el.src && el.complete && el.naturalWidth > 0",
                                   arg=preview.element_handle())
            t_ready = time.perf_counter()

            # move the style-weight slider two notches (0.25 decade each) with the keyboard
            slider = studio.locator(".nst-style_weight")
            readout = slider.locator(".widget-readout")
            start = readout.inner_text().strip()  # the front end formats it: "1.0e+3"
            handle = slider.locator(".noUi-handle, .ui-slider-handle").first
            handle.focus()
            handle.press("ArrowRight")
            handle.press("ArrowRight")
            page.wait_for_function("([el, t]) => el.textContent.trim() !== t",
                                   arg=[readout.element_handle(), start])

            # count preview changes in the page: the img's src is a new blob: URL on each update
            page.evaluate("""el => { window.nstFrames = [];
                new MutationObserver(() => window.nstFrames.push(performance.now()))
                    .observe(el, {attributes: true, attributeFilter: ['src']}); }""",
                          preview.element_handle())
            src_before = preview.get_attribute("src")
            # by text: the icon's CSS glyph is part of the button's accessible name in Chromium
            run = studio.locator("button").filter(has_text=re.compile(r"^\s*Run\s*$"))
            stop = studio.locator("button").filter(has_text=re.compile(r"^\s*Stop\s*$"))
            assert run.is_enabled() and stop.is_disabled()
            run.click()
            t_run = time.perf_counter()
            page.wait_for_function(
                "el => el.textContent.includes('Finished') || el.textContent.includes('failed')",
                arg=studio.locator(".nst-status").element_handle())
            t_done = time.perf_counter()
            status = studio.locator(".nst-status").inner_text()
            assert f"Finished {STEPS} steps" in status, status
            assert preview.get_attribute("src") != src_before
            bar = studio.locator(".nst-progress .progress-bar")
            page.wait_for_function("el => el.style.width === '100%'", arg=bar.element_handle())
            assert f"{STEPS}/{STEPS}" in studio.locator(".nst-stats").inner_text()
            assert run.is_enabled() and stop.is_disabled()
            card = studio.locator(".nst-strip").inner_text()
            assert "β 3.16e+03" in card, card  # the run used the slider's new value
            frames = page.evaluate("window.nstFrames")
            assert len(frames) >= 2, frames
            studio.screenshot(path=str(tmp / "studio.png"))
            page.screenshot(path=str(tmp / "lab.png"))

            # Stop mid-run: the kernel takes the click while the worker thread optimises
            steps = studio.locator(".nst-steps")
            steps.locator(".noUi-handle, .ui-slider-handle").first.press("End")
            page.wait_for_function("el => el.textContent.trim() === '1000'",
                                   arg=steps.locator(".widget-readout").element_handle())
            run.click()
            page.wait_for_function("el => parseFloat(el.style.width) > 0", arg=bar.element_handle())
            t_click = time.perf_counter()
            stop.click()
            page.wait_for_function("el => el.textContent.includes('Stopped')",
                                   arg=studio.locator(".nst-status").element_handle())
            t_stopped = time.perf_counter()
            status = studio.locator(".nst-status").inner_text()
            assert "of 1000 steps (Stop pressed)" in status, status
            assert run.is_enabled() and stop.is_disabled()
        except BaseException:
            page.screenshot(path=str(tmp / "failure.png"))
            (tmp / "console.log").write_text("\n".join(console))
            raise
        finally:
            browser.close()
    span = (frames[-1] - frames[0]) / 1000 if len(frames) > 1 else float("nan")
    print(f"\n[{version}] page ready {t_ready - t_start:.1f} s, run {t_done - t_run:.1f} s, "
          f"stop took {t_stopped - t_click:.2f} s, "
          f"{len(frames)} preview updates in the page, {(len(frames) - 1) / span:.1f} updates/s; "
          f"screenshots in {tmp}")
