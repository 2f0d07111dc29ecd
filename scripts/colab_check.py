"""Run the lessons at Colab's versions: ``python scripts/colab_check.py`` (downloads a few GB; not in CI).

Makes a fresh virtual environment with Python 3.13 (from pyenv, or ``--python``), installs the
versions Colab runs — torch 2.11 (CPU wheels; PyPI's CUDA build where download.pytorch.org cannot be
reached), ipywidgets 7.7.1, jupyterlab_widgets 1.1.11 — then
this project with its test extra, pinned so that pip cannot upgrade any of them, and runs every
lesson under nbval in quick mode, one notebook at a time:
``NST_QUICK=1 python -m pytest --nbval-lax notebooks/X.ipynb`` for every notebook. Prints the versions it ran and a
table of notebooks, results and seconds; exits 1 when a lesson fails. ``--dry-run`` prints the
commands without running anything.
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).absolute().parent.parent
COLAB = {"python": "3.13", "torch": "2.11.*", "ipywidgets": "7.7.1", "jupyterlab_widgets": "1.1.11"}
CPU_WHEELS = "https://download.pytorch.org/whl/cpu"
VERSIONS = ("import sys, torch, torchvision, ipywidgets, jupyterlab_widgets; "
            "print(sys.version.split()[0], torch.__version__, torchvision.__version__, "
            "ipywidgets.__version__, jupyterlab_widgets.__version__)")


def find_python(series: str) -> str | None:
    """The newest pyenv-installed Python of ``series`` ("3.13"), else ``python3.13`` on PATH."""
    root = None
    if shutil.which("pyenv"):
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True)
        root = out.stdout.strip() if out.returncode == 0 else None
    root = root or os.environ.get("PYENV_ROOT")
    if root:
        found = [p for p in glob.glob(os.path.join(root, "versions", f"{series}.*", "bin", "python"))
                 if re.fullmatch(rf"{re.escape(series)}\.\d+", Path(p).parent.parent.name)]
        if found:
            return max(found, key=lambda p: [int(n) for n in Path(p).parent.parent.name.split(".")])
    return shutil.which(f"python{series}")


def unreachable(url: str, timeout: float = 15) -> str | None:
    """None when ``url`` answers at all (any HTTP status); else why it cannot be reached."""
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
    except urllib.error.HTTPError:
        return None  # the server answered
    except (OSError, ValueError) as e:
        return str(getattr(e, "reason", e))
    return None


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="*", type=Path,
                    help="notebooks to run (default: every notebook in notebooks/: the lessons, the "
                         "appendix and the demo)")
    ap.add_argument("--python", help=f"the Python {COLAB['python']} interpreter (default: the newest "
                                     f"{COLAB['python']}.x under `pyenv root`/versions, else python{COLAB['python']})")
    ap.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "nst-colab-check",
                    help="where to make the virtual environment, emptied first (default: %(default)s)")
    ap.add_argument("--torch", default=COLAB["torch"], help="torch version spec, torchvision follows it (default: %(default)s, Colab's)")
    ap.add_argument("--index-url", default=CPU_WHEELS, help="where torch and torchvision come from (default: %(default)s, CPU wheels); "
                         "'pypi': PyPI's (on Linux the CUDA build), also used when the default cannot be reached")
    ap.add_argument("--cell-timeout", type=int, default=600, help="nbval's limit per cell, in seconds (default: %(default)s)")
    ap.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    return ap


class Runner:
    """Prints each command; runs it unless dry."""

    def __init__(self, dry: bool):
        self.dry = dry

    def __call__(self, cmd: list[str], env: dict | None = None, capture: bool = False):
        extra = " ".join(f"{k}={v}" for k, v in (env or {}).items())
        print("$", (extra + " " if extra else "") + shlex.join(cmd), flush=True)
        if self.dry:
            return None
        return subprocess.run(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, text=True,
                              capture_output=capture, check=not capture)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    python = args.python or find_python(COLAB["python"])
    if python is None and not args.dry_run:
        sys.exit(f"no Python {COLAB['python']} found: install one (pyenv install {COLAB['python']}) "
                 "or pass --python /path/to/python3.13")
    python = python or f"<python{COLAB['python']}>"
    notebooks = args.notebooks or sorted(ROOT.glob("notebooks/*.ipynb"))
    venv = args.venv.absolute()
    py = str(venv / "bin" / "python")
    if venv.exists() and any(venv.iterdir()) and not (venv / "pyvenv.cfg").exists():
        sys.exit(f"{venv} holds files and is not a virtual environment: choose another --venv "
                 "(this script empties it)")
    run = Runner(args.dry_run)

    run([python, "-m", "venv", "--clear", str(venv)])
    run([py, "-m", "pip", "install", "-q", "--upgrade", "pip"])
    index = [] if args.index_url == "pypi" else ["--index-url", args.index_url]
    why = None if args.dry_run or not index else unreachable(args.index_url)
    if why:  # e.g. a network that lets pip reach PyPI only
        print(f"# {args.index_url} cannot be reached ({why}): torch from PyPI instead, whose Linux wheels "
              "are the CUDA build, as on Colab (a few GB more; the lessons run on the CPU all the same)")
        index = []
    try:
        run([py, "-m", "pip", "install", "-q", f"torch=={args.torch}", "torchvision", *index])
    except subprocess.CalledProcessError:
        sys.exit(f"pip could not install torch=={args.torch} from {index[1] if index else 'PyPI'} (its message "
                 "is above): if it has no such version, pass the closest it has, e.g. --torch '2.10.*'")
    run([py, "-m", "pip", "install", "-q", f"ipywidgets=={COLAB['ipywidgets']}",
         f"jupyterlab_widgets=={COLAB['jupyterlab_widgets']}"])
    # pin what is installed, so that the project's requirements cannot move it
    if args.dry_run:
        pins = ["torch==<installed>", "torchvision==<installed>"]
    else:
        # the distributions' versions: PyPI's torch 2.11.0 calls itself 2.11.0+cu130 in torch.__version__,
        # a pin that pip cannot satisfy
        out = subprocess.run([py, "-c", "from importlib.metadata import version; "
                                        "print(version('torch'), version('torchvision'))"],
                             capture_output=True, text=True, check=True).stdout.split()
        pins = [f"torch=={out[0]}", f"torchvision=={out[1]}"]
    pins += [f"ipywidgets=={COLAB['ipywidgets']}", f"jupyterlab_widgets=={COLAB['jupyterlab_widgets']}"]
    constraints = venv / "colab-constraints.txt"
    print(f"# {constraints}: {' '.join(pins)}")
    if not args.dry_run:
        constraints.write_text("\n".join(pins) + "\n")
    run([py, "-m", "pip", "install", "-q", "-e", ".[test]", "-c", str(constraints)])
    versions = run([py, "-c", VERSIONS], capture=True)
    if versions is not None:
        print("python {} | torch {} | torchvision {} | ipywidgets {} | jupyterlab_widgets {}".format(
            *versions.stdout.split()))

    rows = []
    for nb in notebooks:
        nb = nb if nb.is_absolute() or not (ROOT / nb).exists() else ROOT / nb
        cmd = [py, "-m", "pytest", "--nbval-lax", "--nbval-current-env", f"--nbval-cell-timeout={args.cell_timeout}",
               "-p", "no:cacheprovider", "-q", os.path.relpath(nb.absolute(), ROOT)]
        t0 = time.perf_counter()
        res = run(cmd, env={"NST_QUICK": "1", "MPLBACKEND": "Agg"}, capture=True)
        if res is None:
            continue
        seconds = time.perf_counter() - t0
        last = (res.stdout.strip().splitlines() or ["(no output)"])[-1]
        if res.returncode:
            print(res.stdout[-4000:], res.stderr[-2000:], sep="\n")
        rows.append((nb.name, "passed" if res.returncode == 0 else "FAILED", seconds, last))
    if not rows:
        return 0
    print(f"\n{'notebook':40} {'result':7} {'seconds':>8}  pytest")
    for name, result, seconds, last in rows:
        print(f"{name:40} {result:7} {seconds:8.1f}  {last}")
    failed = [r for r in rows if r[1] != "passed"]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} notebooks passed at Colab's versions")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
