"""The README's snippets run: every ```python block, and the command line it shows."""
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import helpers as nst
from helpers import optimize

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_there_are_snippets():
    assert len(PYTHON_BLOCKS) >= 2


@pytest.mark.parametrize("i", range(len(PYTHON_BLOCKS)))
def test_python_snippet_runs(i, tmp_path, monkeypatch):
    real = optimize.stylize

    def small(content, style, **kw):  # the snippet as written, at a test's size and step count
        kw.update(size=48, steps=2, progress=False, device="cpu")
        return real(content, style, **kw)

    monkeypatch.setattr(nst, "stylize", small)
    monkeypatch.chdir(tmp_path)
    code = PYTHON_BLOCKS[i]
    if "StyleStudio" in code:
        pytest.importorskip("ipywidgets")
    exec(compile(code, f"README block {i}", "exec"), {})


def test_cli_lines_parse():
    # every `python -m helpers ...` line the README shows is accepted by the parser as written
    from helpers.__main__ import build_parser

    cmds = re.findall(r"^python -m helpers(.*?)(?<!\\)$", README.replace("\\\n", " "), re.M)
    assert cmds
    for cmd in cmds:
        args = shlex.split(cmd)
        if args and args[0].startswith("--help"):
            continue
        build_parser().parse_args(args)


def test_help_runs():
    r = subprocess.run([sys.executable, "-m", "helpers", "--help"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "--style-weight" in r.stdout and "--objective" in r.stdout
