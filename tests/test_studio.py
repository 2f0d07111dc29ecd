"""StyleStudio without a browser: build it small, move controls, click Run/Stop, read the widgets.

The same file runs again under ipywidgets 7.7.1 (Colab's version) in a subprocess
(:func:`test_same_tests_pass_on_ipywidgets_7`). Runs use 64 px images and a few steps.
"""
import contextlib
import datetime
import inspect
import io
import subprocess
import sys
import time

import ipywidgets
import numpy as np
import pytest
import torch
from PIL import Image

import helpers as nst
from helpers import studio as S
from helpers.optimize import INITS, OPTIMIZERS, PRESERVE_COLOR, STYLE_LAYERS

SIG = {n: p.default for n, p in inspect.signature(nst.stylize).parameters.items()}
TIMEOUT = 120  # seconds a small run may take on a busy 2-core machine (it takes 1-5 s alone)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Two intra-op threads on two shared cores run ~8x slower than one when other jobs are busy
    # (measured: 0.13 vs 0.99 s per 64 px step); one thread keeps these timings predictable.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def make(**kw):
    kw.setdefault("size", 64)
    kw.setdefault("steps", 3)
    kw.setdefault("device", "cpu")
    return nst.StyleStudio("chelsea", "mondrian", **kw)


def run(studio, **options):
    studio.run(**options)
    return studio.wait(TIMEOUT)


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def previews(studio, img) -> bool:
    """Whether the preview shows ``img``, enlarged by whole pixels (64 px -> 4x)."""
    shown = pixels(studio.preview.value)
    k = shown.shape[1] // img.shape[-1]
    return k >= 2 and np.array_equal(shown[::k, ::k], pixels(S._png(img)))


def test_defaults_and_choices_come_from_stylize(monkeypatch):
    monkeypatch.delenv("NST_QUICK", raising=False)
    st = nst.StyleStudio("chelsea", "mondrian", device="cpu")
    s = st.settings()
    for name in ("content_weight", "style_weight", "tv_weight", "init", "optimizer", "preserve_color",
                 "content_layers", "style_layers", "style_layer_weights", "seed", "weights", "pooling", "lr"):
        assert s[name] == (tuple(SIG[name]) if name.endswith("layers") else SIG[name]), name
    assert s["steps"] == SIG["steps"] and s["size"] == 256  # lesson_settings: 256 px on a CPU
    c = st.controls
    assert list(c["init"].options) == list(INITS) and list(c["optimizer"].options) == list(OPTIMIZERS)
    assert list(c["preserve_color"].options) == [p or "off" for p in PRESERVE_COLOR]
    assert set(nst.LAYER_NAMES) <= set(c["content_layers"].options)
    assert list(st.layer_sliders) == list(STYLE_LAYERS)
    assert all(sl.value == pytest.approx(1 / len(STYLE_LAYERS)) for sl in st.layer_sliders.values())
    # log sliders span "photo" (beta/alpha 1e-2 at 64-96 px) to "pure texture" (1e6 at 1024 px)
    for name, lo, hi in (("content_weight", 1e-3, 1e3), ("style_weight", 1e-3, 1e6)):
        w = c[name]
        assert isinstance(w, ipywidgets.FloatLogSlider), name
        assert w.base ** w.min <= lo and w.base ** w.max >= hi, name
    assert st.run_button.description == "Run" and st.stop_button.description == "Stop"
    assert st.stop_button.disabled and not st.run_button.disabled

    monkeypatch.setenv("NST_QUICK", "1")
    assert nst.StyleStudio("chelsea", "mondrian", device="cpu").settings()["size"] == 64

    st = make(size=96, steps=7, style_weight=1e4, tv_weight=1e3, seed=3, init="noise",
              content_layers=("relu3_1",), style_layer_weights={"relu1_1": 1.0}, preserve_color="luminance")
    s = st.settings()
    assert (s["size"], s["steps"], s["style_weight"], s["tv_weight"], s["seed"], s["init"]) == \
        (96, 7, 1e4, 1e3, 3, "noise")
    assert s["content_layers"] == ("relu3_1",) and s["preserve_color"] == "luminance"
    assert s["style_layer_weights"] == {"relu1_1": 1.0, **{n: 0.0 for n in STYLE_LAYERS[1:]}}

    with contextlib.redirect_stdout(io.StringIO()):
        st.display()  # outside a notebook IPython's display prints the widget's repr
    with pytest.raises(TypeError, match="colour_weight.*content_weight"):
        make(colour_weight=1)
    with pytest.raises(TypeError, match="callback"):
        make(callback=print)
    with pytest.raises(ValueError, match="one size"):
        make(size=(64, 128))


def test_run_updates_preview_progress_plot_and_history():
    st = make(steps=4)
    before, plot_before = st.preview.value, st.loss_plot.value
    frames, plots = [], []
    st.preview.observe(lambda ch: frames.append(ch["new"]), names="value")
    st.loss_plot.observe(lambda ch: plots.append(ch["new"]), names="value")
    st.controls["style_weight"].value = 1e4  # as a learner would: move a slider, click Run
    st.run_button.click()
    assert st.running and st.run_button.disabled and not st.stop_button.disabled
    res = st.wait(TIMEOUT)

    assert res.stopped_reason == "finished" and len(res.history) == 4
    # sent at the first and last steps (throttled to 5/s between) and once more with the best image
    assert st.preview.value != before and st.preview_updates >= 3 and len(frames) >= 2
    assert st.loss_plot.value != plot_before and len(plots) >= 2
    assert (st.progress.value, st.progress.max, st.progress.bar_style) == (4, 4, "success")
    assert "4/4" in st.stats.value and "it/s" in st.stats.value
    assert "Finished 4 steps" in st.status.value
    assert not st.run_button.disabled and st.stop_button.disabled and not st.running
    assert previews(st, res.image)
    h = st.history[0]
    assert len(st.history) == 1 and h["settings"]["style_weight"] == 1e4 and h["steps_run"] == 4
    assert all(k in e for e in res.history for k in ("content", "style", "tv", "total", "seconds"))
    assert h["loss"] == res.loss and np.isfinite(res.loss) and len(st.strip.children) == 1

    res2 = run(st, style_weight=1e2)
    assert res2 is st.result and len(st.history) == 2 and len(st.strip.children) == 2
    assert [e["settings"]["style_weight"] for e in st.history] == [1e2, 1e4]  # newest first
    reuse = st.strip.children[1].children[-1]  # the older run's "use settings" button
    reuse.click()
    assert st.controls["style_weight"].value == 1e4


def test_stop_mid_run_keeps_the_best_image_and_changes_wait_for_the_next_run():
    st = make(steps=300)
    st.run_button.click()
    t0 = time.perf_counter()
    while st.progress.value < 2 and time.perf_counter() - t0 < TIMEOUT:
        time.sleep(0.02)
    thread = st._thread
    st.run_button.click()  # ignored: a run is in progress (the button is disabled in the page)
    assert st._thread is thread
    st.controls["style_weight"].value = 1e5
    assert "next run" in st.status.value and "style_weight" in st.status.value
    t_stop = time.perf_counter()
    st.stop_button.click()
    res = st.wait(TIMEOUT)
    assert time.perf_counter() - t_stop < 30  # one step at most, plus a busy machine's margin

    assert res.stopped_reason == "callback" and 2 <= len(res.history) < 300
    assert res.image.shape == nst.load_image("chelsea", size=64, device="cpu").shape
    assert torch.isfinite(res.image).all()
    assert 0 <= res.image.min() and res.image.max() <= 1
    assert previews(st, res.image)
    assert st.progress.bar_style == "warning" and "(Stop pressed)" in st.status.value
    assert "style_weight" in st.status.value  # reminds that the change is still to be used
    assert st.history[0]["stopped_reason"] == "callback"
    assert st.history[0]["settings"]["style_weight"] == SIG["style_weight"]  # the run kept its settings
    assert st.settings()["style_weight"] == 1e5  # the next run gets the new value
    assert not st.run_button.disabled and st.stop_button.disabled


def test_targets_are_cached_when_only_weights_change(vgg_calls):
    def targets():
        n = sum(not c["grad"] for c in vgg_calls)
        vgg_calls.clear()
        return n

    st = make(steps=2)
    run(st)
    assert targets() == 2  # content features + style Grams
    run(st, content_weight=10.0, style_weight=1e5, tv_weight=1e4, steps=3,
        style_layer_weights={"relu1_1": 0.5, "relu3_1": 1.0})
    assert targets() == 0
    run(st, content_layers=("relu3_1",))
    assert targets() == 1  # new content layer: content features only
    run(st, style="op_art")
    assert targets() == 1  # new style picture: its Grams only
    run(st, style="mondrian", content_layers=("relu4_2",))
    assert targets() == 0  # both back: still cached


def test_warm_start_continues_from_the_last_result():
    st = make(steps=4)
    cold = run(st)
    st.warm_start.value = True
    warm = run(st, steps=2)
    assert st.history[0]["warm_start"] and "init" not in st.history[0]["settings"]
    # the first loss of the warm run is that of the last result, far below a cold start's
    assert warm.history[0]["total"] <= cold.loss * (1 + 1e-4)
    assert warm.history[0]["total"] < 0.9 * cold.history[0]["total"]
    run(st, content="coffee")
    assert not st.history[0]["warm_start"] and "content picture changed" in st.status.value


def test_save_writes_the_shown_image(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    st = make(steps=2)
    st.save_button.click()
    assert "Nothing to save" in st.status.value and not list(tmp_path.iterdir())
    res = run(st)
    st.save_button.click()
    saved = nst.load_image(tmp_path / "stylized.png", device="cpu")
    assert saved.shape == res.image.shape
    assert torch.allclose(saved, res.image, atol=1 / 255 + 1e-6)
    assert str(tmp_path / "stylized.png") in st.status.value
    assert st.save_name.value == "stylized_2.png"
    st.save_button.click()
    assert (tmp_path / "stylized_2.png").is_file() and st.save_name.value == "stylized_3.png"


def _png_bytes(size=(80, 60), colour=(200, 40, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="png")
    return buf.getvalue()


def test_upload_adds_a_picture_in_either_ipywidgets_format():
    data = _png_bytes()
    v7 = {"red.png": {"metadata": {"name": "red.png", "type": "image/png"}, "content": data}}
    now = datetime.datetime.now(datetime.timezone.utc)
    v8 = ({"name": "red.png", "type": "image/png", "size": len(data), "content": memoryview(data),
           "last_modified": now},)
    assert S.uploaded_files(v7) == S.uploaded_files(v8) == [("red.png", data)]

    st = make(steps=2)
    thumb = st.thumbs["style"].value
    value = v7 if ipywidgets.__version__.startswith("7") else v8
    st.uploads["style"].set_trait("value", value)  # what the browser sends after a file pick
    assert st.pickers["style"].value == "upload: red.png" and st.thumbs["style"].value != thumb
    src = st._source("style")
    assert isinstance(src, torch.Tensor) and src.shape == (1, 3, 60, 80)
    assert "Uploaded red.png" in st.status.value
    broken = {"bad.png": {"metadata": {}, "content": b"not a png"}} if isinstance(value, dict) else \
        ({**v8[0], "name": "bad.png", "content": memoryview(b"not a png")},)
    st.uploads["content"].set_trait("value", broken)
    assert "bad.png" in st.status.value and st.pickers["content"].value == "chelsea"
    res = run(st)
    assert res.stopped_reason == "finished" and st.history[0]["style"] == "upload: red.png"


def test_a_failing_run_is_reported_and_reraised(monkeypatch):
    def broken(*a, **kw):
        raise ValueError("size too small for this test")

    monkeypatch.setattr(S, "stylize", broken)
    st = make()
    st.run_button.click()
    with pytest.raises(ValueError, match="too small"):
        st.wait(TIMEOUT)
    assert "too small" in st.status.value and st.progress.bar_style == "danger"
    assert not st.run_button.disabled and st.stop_button.disabled
    with pytest.raises(TypeError, match="no control for 'colour'"):
        st.set(colour=1)


@pytest.mark.skipif(ipywidgets.__version__.startswith("7"), reason="this is the 7.7.1 run itself")
def test_same_tests_pass_on_ipywidgets_7(ipywidgets7_folder, tmp_path_factory):
    """Colab's ipywidgets 7.7.1: this file again, in a subprocess with 7.7.1 first on sys.path."""
    ipywidgets7, folder = ipywidgets7_folder
    env = ipywidgets7.env(folder)
    out = subprocess.run([sys.executable, "-c", "import ipywidgets; print(ipywidgets.__version__)"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == ipywidgets7.VERSION, out.stderr
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-W", "ignore::DeprecationWarning", __file__],
                          env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path_factory.mktemp("w7"))
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout
