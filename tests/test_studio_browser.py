"""StyleStudio in a real browser: JupyterLab 4 + headless Chromium (Playwright), on ipywidgets 8
and on 7.7.1 (Colab's version, with the jupyterlab_widgets 1.1.11 front end JupyterLab 4 needs).

Each run starts a token-less JupyterLab on 127.0.0.1 with every config folder in the test's tmp
dir, opens a notebook generated there, runs it, moves the style-weight slider with the keyboard,
sees the fast preview before any run, clicks Run, waits for the preview to change and the progress bar to reach 100%,
then runs again and presses Stop. What it measured is printed (``-s``) and written to
``measured.json``; the page's screenshots (``lab.png``, ``studio.png``) and, on failure, its
console log stay in the tmp dir. Needs Debian's chromium (``apt-get install -y chromium``, as
.ci/run does): without it the test skips, except under env CI=true, where it fails.
"""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

#: env NST_CHROMIUM names another binary; the wrapper /usr/bin/chromium prints a harmless warning
CHROMIUM = os.environ.get("NST_CHROMIUM") or "/usr/lib/chromium/chromium"
CHROMIUM_WRAPPER = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-quic"]
STEPS = 16
WAIT_MS = 90_000  # for the kernel, the first cell (imports torch) and the run, on a busy machine

sys.path.insert(0, str(Path(__file__).parent))
from conftest import on_ci  # noqa: E402
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import make_studio_picture as studio_picture  # noqa: E402  (the JupyterLab driving it shares)
sys.path.pop(0)

sys.path.pop(0)


def _find_chromium() -> tuple[str | None, str | None]:
    """(the Chromium binary to drive, None) or (None, what is missing)."""
    found = next((p for p in (CHROMIUM, CHROMIUM_WRAPPER) if os.path.exists(p)), None)
    if os.environ.get("NST_CHROMIUM"):
        found = CHROMIUM if os.path.exists(CHROMIUM) else None
    problem = None if found else f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "the playwright package is missing: pip install playwright (no browser download needed)"
    return (None, problem) if problem else (found, None)


def _chromium() -> str:
    """The Chromium binary; a missing one (or no playwright) skips the test, and fails it on CI."""
    found, problem = _find_chromium()
    if problem:
        (pytest.fail if on_ci() else pytest.skip)(problem)
    return found


def _notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import ipywidgets\nimport helpers as nst\n"
                                  "print('ipywidgets', ipywidgets.__version__)"),
        # a small untrained style net as "mondrian": the fast preview path, whatever nets ship
        nbformat.v4.new_code_cell("import tempfile, pathlib, torch\nfrom helpers import nets\n"
                                  "folder = pathlib.Path(tempfile.mkdtemp())\ntorch.manual_seed(0)\n"
                                  "nets.save_net(nets.StyleNet(['mondrian'], channels=(4, 8, 8), n_res=1), folder / 'styles.pt')\n"
                                  "nets.nets_dir = lambda: folder"),
        nbformat.v4.new_code_cell(f'studio = nst.StyleStudio("chelsea", "mondrian", size=64, steps={STEPS}, '
                                  'device="cpu")\nstudio.display()'),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "studio.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(params=["8", "7.7.1"], ids=["ipywidgets8", "ipywidgets7.7.1"])
def lab(request, tmp_path):
    """A running JupyterLab serving studio.ipynb: yields (url, tmp_path, widgets version), or None
    without Chromium (the test then fails or skips: see _chromium)."""
    if _find_chromium()[1]:
        yield None  # no JupyterLab started for a test that cannot run
        return
    env = studio_picture.lab_env(tmp_path)
    env["OMP_NUM_THREADS"] = "1"  # the kernel's torch: see test_studio.one_thread
    if request.param != "8":
        ipywidgets7, folder = request.getfixturevalue("ipywidgets7_folder")
        env = ipywidgets7.env(folder, env)
        env["JUPYTER_PATH"] = str(folder / "share" / "jupyter")  # its front end wins over 3.x's
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    _notebook(nb_dir)
    log = open(tmp_path / "jupyterlab.log", "w")
    proc, url = studio_picture.launch_lab(nb_dir, env, log)
    try:
        if not studio_picture.wait_for_lab(proc, url, 60):
            raise RuntimeError(f"JupyterLab did not start; see {tmp_path / 'jupyterlab.log'}:\n"
                               + (tmp_path / "jupyterlab.log").read_text()[-3000:])
        yield url, tmp_path, request.param
    finally:
        studio_picture.stop_lab(proc)
        log.close()


@pytest.mark.browser
@pytest.mark.slow
def test_studio_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    chromium = _chromium()
    url, tmp, version = lab
    t_start = time.perf_counter()
    console = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, chromium_sandbox=False)
        page = browser.new_page(viewport={"width": 1500, "height": 1150})
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.set_default_timeout(WAIT_MS)
        try:
            studio = studio_picture.open_studio(page, url, WAIT_MS)
            assert f"ipywidgets {version}" in page.locator(".jp-OutputArea-output").first.inner_text()
            preview = studio.locator(".nst-preview")
            page.wait_for_function("el => el.src && el.complete && el.naturalWidth > 0",
                                   arg=preview.element_handle())
            t_ready = time.perf_counter()

            # move the style-weight slider two notches (a quarter decade each) with the keyboard
            slider = studio.locator(".nst-style_weight")
            readout = slider.locator(".widget-readout")
            start = readout.inner_text().strip()  # the option's label, e.g. "3"
            handle = slider.locator(".noUi-handle, .ui-slider-handle").first
            handle.focus()
            handle.press("ArrowRight")
            handle.press("ArrowRight")
            page.wait_for_function("([el, t]) => el.textContent.trim() !== t",
                                   arg=[readout.element_handle(), start])
            moved = readout.inner_text().strip()
            assert float(moved) == pytest.approx(float(start) * 10 ** 0.5, rel=2e-3), (start, moved)

            # time the preview's and the fast preview's changes in the page: a new blob: src each
            fast = studio.locator(".nst-fast-preview")
            page.evaluate("""([el, fast]) => { window.nstFrames = []; window.nstFast = [];
                new MutationObserver(() => window.nstFrames.push(performance.now()))
                    .observe(el, {attributes: true, attributeFilter: ['src']});
                new MutationObserver(() => window.nstFast.push(performance.now()))
                    .observe(fast, {attributes: true, attributeFilter: ['src']}); }""",
                          [preview.element_handle(), fast.element_handle()])
            src_before = preview.get_attribute("src")
            # by text: the icon's CSS glyph is part of the button's accessible name in Chromium
            run = studio.locator("button").filter(has_text=re.compile(r"^\s*Run\s*$"))
            stop = studio.locator("button").filter(has_text=re.compile(r"^\s*Stop\s*$"))
            assert run.is_enabled() and stop.is_disabled()
            # the fast preview is there before any run: one pass for the photo and style picked
            page.wait_for_function("el => el.src && el.complete && el.naturalWidth > 0 && "
                                   "el.offsetParent !== null", arg=fast.element_handle())
            assert fast.evaluate("el => el.naturalWidth") == 192  # 64 px, enlarged 3x
            t_click_page = page.evaluate("performance.now()")
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
            assert f"β {moved}" in card, card  # the run used the slider's new value
            frames, fast_frames = page.evaluate("[window.nstFrames, window.nstFast]")
            assert len(frames) >= 2 and not fast_frames, (frames, fast_frames)  # Run leaves it as it was
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
            match = re.search(r"Stopped after (\d+) of 1000 steps \(Stop pressed\)", status)
            assert match and int(match.group(1)) < 1000, status
            assert run.is_enabled() and stop.is_disabled()
        except BaseException:
            page.screenshot(path=str(tmp / "failure.png"))
            (tmp / "console.log").write_text("\n".join(console))
            raise
        finally:
            browser.close()
    span = (frames[-1] - frames[0]) / 1000 if len(frames) > 1 else float("nan")
    measured = {"ipywidgets": version, "page_ready_s": round(t_ready - t_start, 2),
                "run_s": round(t_done - t_run, 2), "steps": STEPS,
                "first_preview_after_click_s": round((frames[0] - t_click_page) / 1000, 2),
                "preview_updates": len(frames), "updates_per_s": round((len(frames) - 1) / span, 2),
                "stop_s": round(t_stopped - t_click, 2), "stopped_after_steps": int(match.group(1))}
    (tmp / "measured.json").write_text(json.dumps(measured, indent=1))
    print(f"\n[{version}] {json.dumps(measured)}; screenshots in {tmp}")


def test_missing_chromium_fails_on_ci_and_skips_elsewhere(tmp_path):
    """Run this file's browser test in a subprocess with no Chromium: CI=true fails it, else it skips."""
    env = {**os.environ, "NST_CHROMIUM": str(tmp_path / "no-chromium")}
    out = {}
    for ci in ("true", ""):
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfs",
                               __file__, "-k", "test_studio_in_jupyterlab"], env={**env, "CI": ci},
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)
        out[ci] = (proc.returncode, proc.stdout[-3000:])
    assert out["true"][0] == 1 and "2 failed" in out["true"][1] and "no-chromium is missing" in out["true"][1], out
    assert out[""][0] == 0 and "2 skipped" in out[""][1] and "no-chromium is missing" in out[""][1], out
