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
    for name in ("content_weight", "style_weight", "tv_weight", "init", "optimizer", "objective",
                 "pooling", "weights", "seed", "style_scale", "preserve_color", "content_layers",
                 "style_layers"):
        assert seen[name] == sig[name].default, name
    assert seen["size"] == list(cli.CLI_SIZE) and seen["steps"] == list(cli.CLI_STEPS)
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
    (["--output", "result.txt", "--steps", "1"], "argument --output: cannot save 'result.txt': suffix '.txt'"),
    (["--style-layers", "relu9_1"], "argument --style-layers: invalid choice: 'relu9_1'"),
    (["--style-layer-weights", "relu1_1:2"], "is not LAYER=WEIGHT"),
    (["--style-layer-weights", "relu4_2=1", "--steps", "1"], "style_layer_weights"),
    (["--lr", "nan", "--steps", "1"], "lr=nan"),
    (["--snapshot-every", "-1", "--steps", "1"], "snapshot_every=-1"),
    (["--init", "no_such_start.png", "--steps", "1"], "no_such_start.png"),
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


def test_every_option_has_a_flag():
    from helpers import options

    flags = {a.dest for a in cli.build_parser()._actions}
    wanted = {n for n, _, meta in options.described() if meta["cli"]}
    assert wanted <= flags and {"callback", "cache", "progress"}.isdisjoint(flags)


def test_output_is_checked_before_any_work(tmp_path, monkeypatch, capsys):
    (tmp_path / "x.png").mkdir()
    monkeypatch.setattr("helpers.optimize.stylize", lambda *a, **k: pytest.fail("ran"))
    assert cli.main(["--output", str(tmp_path / "x.png")]) == 2
    assert "it is a folder" in capsys.readouterr().err


def test_layers_weights_and_masks_from_the_command_line(tmp_path):
    left = tmp_path / "left.png"
    mask = torch.zeros(1, 3, 32, 48)
    mask[..., :24] = 1
    nst.save_image(mask, left)
    nst.save_image(1 - mask, tmp_path / "right.png")
    out = tmp_path / "m.png"
    code = cli.main(["--style", "mondrian", "--style", "op_art", "--masks", str(left),
                     str(tmp_path / "right.png"), "--size", "48", "--steps", "2",
                     "--style-layers", "relu1_1", "relu2_1", "--style-layer-weights", "relu1_1=2",
                     "--content-layers", "relu3_1", "--output", str(out), "--quiet", "--device", "cpu"])
    assert code == 0 and max(nst.load_image(out).shape[-2:]) == 48


def test_ctrl_c_before_the_run_is_one_line(monkeypatch, capsys):
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr("helpers.optimize.stylize", interrupted)
    assert cli.main(["--steps", "1"]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted" in err[0]
