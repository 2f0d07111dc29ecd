"""A throwaway ipywidgets 7.7.1 (Colab's version) for the studio tests: ``pip install --target``.

Not a test module: ``test_studio.py`` runs itself again with this folder first on PYTHONPATH,
and ``test_studio_browser.py`` gives it to JupyterLab, whose kernel then imports 7.7.1 and whose
page loads the matching front end (JupyterLab 4 renders 7.x widgets only with
jupyterlab_widgets 1.1.11, found through JUPYTER_PATH=<folder>/share/jupyter).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

VERSION = "7.7.1"
#: --no-deps: everything else ipywidgets 7.7.1 needs (traitlets, ipykernel, ipython) is installed.
PACKAGES = (f"ipywidgets=={VERSION}", "jupyterlab_widgets==1.1.11", "ipython_genutils==0.2.0")


def target(cache_root: Path) -> Path:
    """The folder holding ipywidgets 7.7.1, installed on first use under ``cache_root``.

    Env ``NST_IPYWIDGETS7_DIR`` names a ready folder instead. Installs into a temporary sibling
    and renames it, so an interrupted install never leaves a half-filled folder behind. Raises
    RuntimeError with pip's output if pip fails (no network and no wheel in PIP_FIND_LINKS).
    """
    if os.environ.get("NST_IPYWIDGETS7_DIR"):
        return Path(os.environ["NST_IPYWIDGETS7_DIR"])
    final = Path(cache_root) / f"ipywidgets-{VERSION}"
    if (final / "ipywidgets").is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="ipyw7-", dir=final.parent))
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           "--no-deps", "--target", str(tmp), *PACKAGES],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(f"pip could not install {PACKAGES}:\n{proc.stdout}\n{proc.stderr}")
    try:
        tmp.rename(final)
    except OSError:  # another test process got there first
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def env(folder: Path, base: dict | None = None) -> dict:
    """A copy of ``base`` (os.environ) whose Python imports ipywidgets from ``folder`` first."""
    e = dict(os.environ if base is None else base)
    e["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), e.get("PYTHONPATH", "")) if p)
    return e
