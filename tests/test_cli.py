"""``python -m helpers``: defaults from stylize's signature, a real small run, clear errors."""
import functools
import inspect
import subprocess
import sys

import pytest
import torch

import helpers as nst
from helpers import __main__ as cli


def test_no_arguments_uses_embedded_defaults_and_signature(monkeypatch, tmp_path, capsys):
    seen = {}

    @functools.wraps(nst.stylize)  # keeps the signature the CLI reads its defaults from
    def spy(content, style, **kw):
        seen.update(kw, content=content, style=style)
        return nst.Result(image=torch.rand(1, 3, 40, 60), history=[{"total": 1.0}])

    monkeypatch.setattr("helpers.optimize.stylize", spy)
    monkeypatch.chdir(tmp_path)
    assert cli.main([]) == 0
    sig = inspect.signature(nst.stylize).parameters
    assert seen["content"] == "chelsea" and seen["style"] == "swirls"
    for name in ("steps", "content_weight", "style_weight", "tv_weight", "init", "optimizer",
                 "pooling", "weights", "seed", "style_scale", "preserve_color"):
        assert seen[name] == sig[name].default, name
    assert seen["size"] == [cli.CLI_SIZE]
    assert (tmp_path / "stylized.png").exists()
    assert "wrote" in capsys.readouterr().out


def test_real_small_run_with_snapshots(tmp_path, capsys):
    out = tmp_path / "out" / "cat.png"
    code = cli.main(["--content", "chelsea", "--style", "mondrian", "--style", "op_art",
                     "--style-blend", "2", "1", "--size", "48", "--steps", "4", "--snapshot-every", "2",
                     "--output", str(out), "--quiet", "--device", "cpu"])
    assert code == 0
    img = nst.load_image(out, device="cpu")
    assert max(img.shape[-2:]) == 48
    assert sorted(p.name for p in out.parent.iterdir()) == ["cat.png", "cat_step0001.png", "cat_step0003.png"]
    msg = capsys.readouterr().out
    assert "wrote" in msg and "4 steps" in msg


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "helpers", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("args, needle", [
    (["--content", "no/such/photo.jpg", "--steps", "1"], "no/such/photo.jpg"),
    (["--init", "zeros"], "argument --init: invalid choice: 'zeros'"),
    (["--size", "abc"], "argument --size: invalid int value: 'abc'"),
    (["--size", "8", "--steps", "1"], "size=[8]"),
    (["--output", "result.txt", "--steps", "1"], "--output result.txt"),
    (["--device", "cuda:7", "--steps", "1"], "no cuda device"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, needle):
    r = run_cli(*args, "--quiet", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_text_file_as_style(tmp_path):
    bad = tmp_path / "style.jpg"
    bad.write_text("not a picture")
    r = run_cli("--style", str(bad), "--steps", "1", "--quiet", cwd=tmp_path)
    assert r.returncode == 2 and str(bad) in r.stderr and len(r.stderr.strip().splitlines()) == 1
