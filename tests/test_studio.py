"""StyleStudio without a browser: its rooms on their own, then the whole studio, small and real.

controls (the rule table from helpers.options), runner (thread, stop, throttle: no widgets, a fake
engine and a fake clock), render (pure functions), sources (uploads, fast preview), then the
studio with real 64 px runs of a few steps. The same file runs again under ipywidgets 7.7.1
(Colab's version) in a subprocess (:func:`test_same_tests_pass_on_ipywidgets_7`).
"""
import contextlib
import datetime
import io
import subprocess
import sys
import threading
import time

import ipywidgets
import numpy as np
import pytest
import torch
from PIL import Image

import helpers as nst
from helpers import options as O
from helpers.studio import app as APP
from helpers.studio import controls as C
from helpers.studio import render as R
from helpers.studio import runner as RU
from helpers.studio import sources as SRC

DEFAULTS = O.defaults()
TIMEOUT = 120  # seconds a small run may take on a busy 2-core machine (it takes 1-5 s alone)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Two intra-op threads on two shared cores run ~8x slower than one when other jobs are busy
    # (measured: 0.13 vs 0.99 s per 64 px step); one thread keeps the runs short.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def shipped_mondrian(tmp_path, monkeypatch):
    """A small untrained multi-style net that carries only "mondrian", in place of the shipped one."""
    from helpers import nets

    torch.manual_seed(0)
    nets.save_net(nets.StyleNet(["mondrian"], channels=(4, 8, 8), n_res=1), tmp_path / "styles.pt")
    monkeypatch.setattr(nets, "nets_dir", lambda: tmp_path)
    return nets


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
    return k >= 2 and np.array_equal(shown[::k, ::k], pixels(R.png(img)))


# --------------------------------------------------------------------------- controls

def test_every_option_gets_the_control_its_metadata_asks_for():
    rows = C.build({**DEFAULTS, "size": 64})  # size=None (the content's own size) has no slider value
    for name, default, meta in O.described():
        ui, choices = meta["ui"], meta["choices"]
        expected = ("log" if ui and ui[0] == "log" else "lin" if ui else "int" if name in C.INT_SLIDERS
                    else "layers" if name == "style_layer_weights" else
                    "multi" if choices and isinstance(default, tuple) else "choice" if choices else None)
        assert (rows[name].kind if name in rows else None) == expected, name
        if expected == "log":
            values = [v for _, v in rows[name].widget.options]
            assert values[0] == 0.0 and default in values, name
            assert min(v for v in values if v) >= 10.0 ** ui[1] and max(values) <= 10.0 ** ui[2], name
        elif expected == "choice":
            none = "auto" if name == "precision" else "off"
            assert list(rows[name].widget.options) == [none if c is None else c for c in choices], name
        elif expected == "multi":
            assert list(rows[name].widget.options) == list(choices) == list(nst.LAYER_NAMES), name
        if expected and name != "size":
            assert rows[name].read() == default, name
    assert not {"callback", "cache", "progress", "seed", "device"} & set(rows)  # no ui, no choices


def test_log_grid_has_quarter_decades_through_the_default():
    g = C.log_grid(3.0, -3, 4)
    assert g[0] == 0.0 and 3.0 in g and 30.0 in g and 3e-3 in g
    i = g.index(3.0)
    assert g[i + 4] == pytest.approx(30.0) and g[i + 1] == pytest.approx(3 * 10 ** 0.25, rel=1e-3)
    assert 1e-3 <= g[1] < 10 ** -2.75 and 10 ** 3.75 < g[-1] <= 1e4
    g0 = C.log_grid(0.0, -4, 2)  # a weight that is off by default: the grid goes through 1
    assert g0[0] == 0.0 and 1.0 in g0 and 1e-4 in g0 and 100.0 in g0 and len(g0) == 1 + 6 * 4 + 1


def test_set_writes_values_off_the_sliders_and_reads_them_back():
    rows = C.build(DEFAULTS)
    rows["style_weight"].write(1e6)  # above the range: a new notch, not a clamp
    rows["tv_weight"].write(0.0123)
    rows["style_scale"].write(3.0)  # a lin slider widens
    rows["content_layers"].write("relu3_1")
    rows["preserve_color"].write("luminance")
    assert (rows["style_weight"].read(), rows["tv_weight"].read(), rows["style_scale"].read()) == (1e6, 0.0123, 3.0)
    assert rows["content_layers"].read() == ("relu3_1",) and rows["preserve_color"].read() == "luminance"
    rows["preserve_color"].write(None)
    assert rows["preserve_color"].read() is None
    lw = rows["style_layer_weights"]
    assert lw.read() is None and list(lw.sliders) == list(O.STYLE_LAYERS)
    lw.write({"relu1_1": 1.0})
    assert lw.read() == {"relu1_1": 1.0, **{n: 0.0 for n in O.STYLE_LAYERS[1:]}}
    rows["style_layers"].write(("relu2_1", "relu1_1", "relu3_1"))  # the w_l sliders follow
    assert list(lw.sliders) == ["relu1_1", "relu2_1", "relu3_1"]
    assert lw.read() == {"relu1_1": 1.0, "relu2_1": 0.0, "relu3_1": 0.0}
    lw.write(None)
    rows["style_layers"].write(("relu1_1", "relu4_1"))
    assert lw.read() is None and all(s.value == 0.5 for s in lw.sliders.values())


def test_studio_starts_from_stylize_defaults_and_refuses_what_it_cannot_take(monkeypatch):
    monkeypatch.delenv("NST_QUICK", raising=False)
    monkeypatch.delenv("NST_MODE", raising=False)
    st = nst.StyleStudio("chelsea", "mondrian", device="cpu")
    s = st.settings()
    assert {k: v for k, v in s.items() if k not in ("size", "steps", "device")} == \
        {k: v for k, v in DEFAULTS.items() if k not in ("size", "steps", "device", *C.OWN_OPTIONS)}
    assert s["steps"] == DEFAULTS["steps"] and s["size"] == 256  # lesson_settings: 256 px on a CPU
    assert list(st.layer_sliders) == list(O.STYLE_LAYERS)
    assert st.run_button.description == "Run" and st.stop_button.disabled and not st.run_button.disabled
    ratio = DEFAULTS["content_weight"] / DEFAULTS["style_weight"]
    assert f"α/β = {ratio:.2g}" in st.ratio.value and "every image size" in st.ratio.value
    st.set(objective="paper")
    assert "moves with the size" in st.ratio.value
    monkeypatch.setenv("NST_QUICK", "1")
    assert nst.StyleStudio("chelsea", "mondrian", device="cpu").settings()["size"] == 64

    st = make(size=96, steps=7, style_weight=30.0, tv_weight=0.01, seed=3, init="noise",
              content_layers=("relu3_1",), style_layer_weights={"relu1_1": 1.0}, preserve_color="luminance")
    s = st.settings()
    assert (s["size"], s["steps"], s["style_weight"], s["tv_weight"], s["seed"], s["init"]) == \
        (96, 7, 30.0, 0.01, 3, "noise")
    assert s["content_layers"] == ("relu3_1",) and s["preserve_color"] == "luminance"
    assert s["style_layer_weights"] == {"relu1_1": 1.0, **{n: 0.0 for n in O.STYLE_LAYERS[1:]}}
    with contextlib.redirect_stdout(io.StringIO()) as out:
        st.display()  # outside a notebook IPython's display prints the widget's repr
    assert "VBox" in out.getvalue()
    with pytest.raises(TypeError, match="colour_weight.*content_weight"):
        make(colour_weight=1)
    with pytest.raises(TypeError, match="callback"):
        make(callback=print)
    with pytest.raises(ValueError, match="one size"):
        make(size=(64, 128))
    with pytest.raises(ValueError, match="warm start"):
        make(init=torch.zeros(1, 3, 8, 8))
    with pytest.raises(TypeError, match="no control for 'colour'"):
        st.set(colour=1)


def test_run_refuses_bad_settings_at_the_door(monkeypatch):
    st = make()
    monkeypatch.setattr(RU, "stylize", lambda *a, **k: pytest.fail("stylize must not be called"))
    st.set(content_weight=0.0, style_weight=0.0)
    st.run_button.click()
    assert not st.running and "Cannot run" in st.status.value and "both 0" in st.status.value
    assert st.progress.value == 0 and not st.history and st.result is None


# --------------------------------------------------------------------------- runner

class Clock:
    """A fake clock that the fake engine moves on by ``step`` seconds per optimiser step."""

    def __init__(self, step=0.05):
        self.t, self.step = 0.0, step

    def __call__(self):
        return self.t

    def tick(self):
        self.t += self.step


def fake_engine(n_steps, gate=None, clock=None):
    """A stand-in for stylize: n_steps callbacks (waiting on ``gate`` before each if given)."""
    def run(content, style, *, callback, cache, progress, **options):
        assert progress is False and isinstance(cache, dict)
        done = 0
        for step in range(n_steps):
            if clock is not None:
                clock.tick()
            if gate is not None:
                gate.wait(5)
                gate.clear()
            done += 1
            if callback(step, torch.zeros(1, 3, 2, 2), {"step": step, "total": 1.0 / (step + 1)}) is False:
                break
        return nst.Result(image=torch.zeros(1, 3, 2, 2), history=[{}] * done,
                          stopped_reason="finished" if done == n_steps else "callback")
    return run


def test_runner_throttles_previews_and_plots_and_always_shows_the_last_step():
    steps, done, clock = [], [], Clock(0.0625)  # a binary fraction: the sums are exact
    r = RU.Runner(lambda n, img, rec, preview, plot: steps.append((n, preview, plot, r.rate())),
                  lambda res, err: done.append((res, err)), run=fake_engine(20, clock=clock),
                  preview_every=0.25, plot_every=0.5, clock=clock)
    assert r.start("c", "s", {"steps": 20}) and r.wait(10).stopped_reason == "finished"
    # 1/16 s a step: a preview at the first step, then every 4th step, and at the last
    assert [n for n, p, *_ in steps if p] == [1, 5, 9, 13, 17, 20]
    assert [n for n, _, p, _ in steps if p] == [1, 9, 17, 20]
    assert len(r.records) == 20 and done == [(r.result, None)]
    assert steps[0][3] == 0.0 and steps[-1][3] == 16.0
    assert r.start("c", "s", {"steps": 3}) and r.wait(10) and r.previous[-1]["step"] == 19


def test_runner_stops_after_the_current_step_and_runs_one_at_a_time():
    gate = threading.Event()
    seen = []
    r = RU.Runner(lambda n, *a: seen.append(n), lambda res, err: None, run=fake_engine(100, gate))
    assert r.start(None, None, {"steps": 100}) and r.running
    assert not r.start(None, None, {"steps": 100})  # one run at a time
    for _ in range(3):
        gate.set()
        while gate.is_set():
            time.sleep(0.001)
    while len(seen) < 3:
        time.sleep(0.001)
    assert r.stop()
    gate.set()
    res = r.wait(10)
    assert res.stopped_reason == "callback" and len(seen) == 4  # the step in flight, then no more
    assert not r.running and not r.stop()


def test_runner_reports_and_reraises_a_failing_run():
    done = []

    def broken(*a, **k):
        raise ValueError("size too small for this test")

    r = RU.Runner(lambda *a: None, lambda res, err: done.append((res, err)), run=broken)
    r.start(None, None, {"steps": 1})
    with pytest.raises(ValueError, match="too small"):
        r.wait(10)
    assert done[0][0] is None and isinstance(done[0][1], ValueError) and r.error is done[0][1]
    t = RU.Throttle(1.0, clock=iter([0.0, 0.5, 0.9, 1.0, 1.5]).__next__)
    assert [t(), t(), t(force=True), t(), t()] == [True, False, True, False, False]


# --------------------------------------------------------------------------- render

def test_render_functions_return_what_the_widgets_show():
    img = torch.rand(1, 3, 10, 16)
    big = pixels(R.png(img, 64))
    assert big.shape == (40, 64, 3) and np.array_equal(big[::4, ::4], pixels(R.png(img)))
    assert pixels(R.png(img, 8)).shape == (10, 16, 3)  # never shrunk
    empty = R.loss_plot([])
    recs = [{"total": 3.0 / (i + 1), "content": 1.0, "style": 2.0 / (i + 1), "tv": 0.0} for i in range(5)]
    drawn = R.loss_plot(recs, recs[:3], steps=10)
    assert pixels(empty).shape[1] == pixels(drawn).shape[1] == R.PLOT_PX and empty != drawn
    s = R.stats_html(3, 10, 1.25, 2.0, {"content": 0.5, "style": 0.25, "tv": 0.0})
    assert "3/10" in s and "1.2 s" in s and "2.00 it/s" in s and "content 0.5" in s and "tv" not in s
    assert "– it/s" in R.stats_html(1, 10, 0.1, 0.0)
    assert "α/β = 0.2" in R.ratio_html(1.0, 5.0, "relative", 0.2) and "α/β = ∞" in R.ratio_html(1, 0, "paper", 0)
    entry = {"content": "<b>me</b>.png", "style": "swirls", "warm_start": False, "loss": 0.5, "seconds": 2.0,
             "steps_run": 7, "stopped_reason": "callback", "terms": ["content", "style", "tv"],
             "settings": {"content_weight": 1.0, "style_weight": 5.0, "tv_weight": 0.0, "size": 64,
                          "optimizer": "lbfgs", "init": "content", "style_layer_weights": {"relu1_1": 0.5}}}
    lines = R.card_lines(entry, 2)
    assert lines[0] == "#2 &lt;b&gt;me&lt;/b&gt;.png × swirls" and "β 5" in lines[1]
    assert "7 steps · 64 px" in lines[2] and "stopped" in lines[3] and lines[4] == "layers 0.5"
    assert lines[1] == "α 1 · β 5 · tv 0"


def test_a_new_loss_term_shows_in_plot_stats_and_cards_without_a_change_here():
    # the names come from the run's records: an engine with an "edge" term needs nothing new here
    recs = [{"step": i, "seconds": 0.1 * i, "stage": 0, "content": 1.0, "style": 0.5, "tv": 0.0,
             "edge": 0.25, "total": 1.75} for i in range(4)]
    without = [{k: v for k, v in r.items() if k != "edge"} for r in recs]
    assert R.loss_plot(recs, steps=4) != R.loss_plot(without, steps=4)  # the edge line is drawn
    assert "edge 0.25" in R.stats_html(2, 4, 0.2, 1.0, recs[-1])
    entry = {"content": "cat", "style": "swirls", "warm_start": False, "loss": 1.75, "seconds": 0.4,
             "steps_run": 4, "stopped_reason": "finished", "terms": ["content", "style", "tv", "edge"],
             "settings": {"content_weight": 1.0, "style_weight": 3.0, "tv_weight": 0.0, "edge_weight": 2.0,
                          "size": 64, "optimizer": "lbfgs", "init": "content"}}
    assert R.card_lines(entry, 1)[1] == "α 1 · β 3 · tv 0 · edge 2"


# --------------------------------------------------------------------------- sources

def _png_bytes(size=(80, 60), colour=(200, 40, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="png")
    return buf.getvalue()


def test_fast_preview_only_where_the_net_has_a_code_and_never_an_error(shipped_mondrian, monkeypatch):
    nets = shipped_mondrian
    content = nst.load_image("chelsea", size=64, device="cpu")
    assert nets.shipped_styles() == ["mondrian"]
    assert SRC.fast_code("mondrian") == "mondrian" and SRC.fast_code("swirls") is None
    fitted = nets.Style("mine", nets.load_net("styles", "cpu").codes[0] * 0.5)
    assert SRC.fast_code("mine", {"mine": fitted}) is fitted
    out = SRC.fast_preview(content, "mondrian", 48, "cpu")
    assert out.shape == nst.load_image(content, size=48).shape and 0 <= out.min() and out.max() <= 1
    assert torch.equal(out, nets.fast_stylize(content, "mondrian", size=48, device="cpu"))
    mixed = SRC.fast_preview(content, "mondrian", 48, "cpu", mix=(fitted, 0.25))
    assert torch.equal(mixed, nets.fast_stylize(content, {"mondrian": 0.75, fitted: 0.25}, size=48, device="cpu"))
    assert SRC.fast_preview(content, None, 48, "cpu") is None  # no code for it
    monkeypatch.setattr(nets, "fast_stylize", lambda *a, **k: 1 / 0)
    assert SRC.fast_preview(content, "mondrian", 48, "cpu") is None  # a failing pass: no preview
    monkeypatch.setitem(sys.modules, "helpers.nets", None)  # the module missing altogether
    monkeypatch.delattr(nst, "nets")
    assert SRC.fast_code("mondrian") is None and SRC.fast_preview(content, "mondrian", 48, "cpu") is None


def test_fast_preview_follows_every_change_before_run(shipped_mondrian):
    nets = shipped_mondrian
    net = nets.load_net("styles", "cpu")
    st = make(steps=2)
    first = st.fast_preview.value
    assert st.fast_preview.layout.display == "" and st.fast_seconds is not None and not st.running
    assert first == R.png(nets.fast_stylize("chelsea", "mondrian", size=64, device="cpu"), 192)
    st.set(content="coffee")  # a new photo: a new preview, no Run needed
    assert st.fast_preview.value != first and st.result is None
    fitted = nets.Style("half", net.codes[0] * 0.5)
    st.fitted["half"] = fitted
    st.mix_with.options = [*st.mix_with.options, "half"]
    st.mix_with.value, before = "half", st.fast_preview.value
    assert st.fast_preview.value == before  # mix 0: the same picture
    st.mix.value = 0.5
    want = nets.fast_stylize("coffee", {"mondrian": 0.5, fitted: 0.5}, size=64, device="cpu")
    assert pixels(st.fast_preview.value).shape[0] == 3 * want.shape[-2]
    assert st.fast_preview.value == R.png(want, 192) and "50% mondrian + 50% half" in st.fast_note.value


def test_fit_learns_a_code_for_an_uploaded_style_in_the_background(shipped_mondrian, monkeypatch):
    nets = shipped_mondrian
    calls = []

    def fake_fit(src, **kw):  # the real one trains for minutes: check the wiring, not the training
        calls.append(kw)
        kw["callback"](1, None, {"seconds": 0.1, "total": 1.0})
        return nets.Style(kw["name"], nets.load_net("styles", "cpu").codes[0] * 0.9, meta={"seconds": 0.1, "steps": 1})

    monkeypatch.setattr("helpers.training.fit_style", fake_fit)
    st = make(steps=2)
    st.set(style=Image.new("RGB", (64, 64), (200, 30, 30)))
    label = st.pickers["style"].value
    assert st.fast_preview.layout.display == "none" and not st.fit_button.disabled
    assert "Fit" in st.fast_note.value
    st.fit_button.click()
    st.wait_fit(TIMEOUT)
    assert calls and calls[0]["seconds"] == APP.FIT_SECONDS and label in st.fitted
    assert st.fast_preview.layout.display == "" and st.fit_button.disabled
    assert "fitted" in st.fast_note.value and label in st.mix_with.options


def test_upload_adds_a_picture_in_either_ipywidgets_format():
    data = _png_bytes()
    v7 = {"red.png": {"metadata": {"name": "red.png", "type": "image/png"}, "content": data}}
    now = datetime.datetime.now(datetime.timezone.utc)
    v8 = ({"name": "red.png", "type": "image/png", "size": len(data), "content": memoryview(data),
           "last_modified": now},)
    assert SRC.uploaded_files(v7) == SRC.uploaded_files(v8) == [("red.png", data)]

    st = make(steps=2)
    thumb = st.thumbs["style"].value
    value = v7 if ipywidgets.__version__.startswith("7") else v8
    st.uploads["style"].set_trait("value", value)  # what the browser sends after a file pick
    assert st.pickers["style"].value == "upload: red.png" and st.thumbs["style"].value != thumb
    src = st._pickers["style"].source()
    assert isinstance(src, torch.Tensor) and src.shape == (1, 3, 60, 80)
    assert "Uploaded red.png" in st.status.value
    broken = {"bad.png": {"metadata": {}, "content": b"not a png"}} if isinstance(value, dict) else \
        ({**v8[0], "name": "bad.png", "content": memoryview(b"not a png")},)
    st.uploads["content"].set_trait("value", broken)
    assert "bad.png" in st.status.value and st.pickers["content"].value == "chelsea"
    res = run(st)
    assert res.stopped_reason == "finished" and st.history[0]["style"] == "upload: red.png"
    assert st.fast_preview.layout.display == "none" and not st.fit_button.disabled  # no code: Fit offered


def test_next_free_name(tmp_path):
    (tmp_path / "a.png").touch()
    (tmp_path / "a_2.png").touch()
    assert SRC.next_free_name(tmp_path / "a.png", "a.png") == "a_3.png"
    assert SRC.next_free_name(tmp_path / "a_2.png", str(tmp_path / "a_2.png")) == str(tmp_path / "a_3.png")
    assert SRC.next_free_name(tmp_path / "b.png", "b.png") == "b_2.png"


# --------------------------------------------------------------------------- the studio, running

def test_run_updates_preview_progress_plot_history_and_fast_preview(shipped_mondrian):
    st = make(steps=4)
    before, plot_before = st.preview.value, st.loss_plot.value
    frames, plots = [], []
    st.preview.observe(lambda ch: frames.append(ch["new"]), names="value")
    st.loss_plot.observe(lambda ch: plots.append(ch["new"]), names="value")
    higher = st.controls["style_weight"].options[-4][1]  # as a learner would: move a slider, click Run
    st.controls["style_weight"].value = higher
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
    fast = pixels(st.fast_preview.value)  # mondrian has a code: its one pass, at the run's size
    assert st.fast_preview.layout.display == "" and fast.shape[1] // res.image.shape[-1] == 3
    assert fast.shape[0] // 3 == res.image.shape[-2]
    h = st.history[0]
    assert len(st.history) == 1 and h["settings"]["style_weight"] == higher and h["steps_run"] == 4
    assert h["loss"] == res.loss and np.isfinite(res.loss) and len(st.strip.children) == 1

    res2 = run(st, style_weight=DEFAULTS["style_weight"])
    assert res2 is st.result and len(st.history) == 2 and len(st.strip.children) == 2
    assert [e["settings"]["style_weight"] for e in st.history] == [DEFAULTS["style_weight"], higher]
    st.strip.children[1].children[-1].click()  # the older run's "use settings" button
    assert st.controls["style_weight"].value == higher


def test_stop_mid_run_keeps_the_best_image_and_changes_wait_for_the_next_run():
    st = make(steps=300)
    st.run_button.click()
    while st.progress.value < 2 and st.running:
        time.sleep(0.02)
    runner_thread = st.runner._thread
    st.run_button.click()  # ignored: a run is in progress (the button is disabled in the page)
    assert st.runner._thread is runner_thread
    new = st.controls["style_weight"].options[-1][1]
    st.controls["style_weight"].value = new
    assert "next run" in st.status.value and "style_weight" in st.status.value
    at_click = st.progress.value
    st.stop_button.click()
    res = st.wait(TIMEOUT)

    assert res.stopped_reason == "callback" and at_click <= len(res.history) <= at_click + 1
    assert res.image.shape == nst.load_image("chelsea", size=64, device="cpu").shape
    assert torch.isfinite(res.image).all() and 0 <= res.image.min() and res.image.max() <= 1
    assert previews(st, res.image)
    assert st.progress.bar_style == "warning" and "(Stop pressed)" in st.status.value
    assert "style_weight" in st.status.value  # reminds that the change is still to be used
    assert st.history[0]["stopped_reason"] == "callback"
    assert st.history[0]["settings"]["style_weight"] == DEFAULTS["style_weight"]  # the run kept its settings
    assert st.settings()["style_weight"] == new  # the next run gets the new value
    assert not st.run_button.disabled and st.stop_button.disabled


def test_a_failing_run_and_a_failing_step_are_reported(monkeypatch):
    def broken(*a, **kw):
        raise ValueError("size too small for this test")

    st = make(steps=2)
    with monkeypatch.context() as m:
        m.setattr(RU, "stylize", broken)
        st.run_button.click()
        with pytest.raises(ValueError, match="too small"):
            st.wait(TIMEOUT)
    assert "too small" in st.status.value and st.progress.bar_style == "danger"
    assert not st.run_button.disabled and st.stop_button.disabled
    monkeypatch.setattr(st.runner, "on_step", lambda *a: 1 / 0)  # the studio's step callback fails
    with pytest.warns(UserWarning, match="callback raised ZeroDivisionError"):
        res = run(st)
    assert res.stopped_reason == "callback error" and isinstance(res.error, ZeroDivisionError)
    assert "step callback failed: ZeroDivisionError" in st.status.value
    assert st.history[0]["image"] is res.image and previews(st, res.image)  # the best image is kept


def test_targets_are_cached_when_only_weights_change(vgg_calls):
    def targets():
        n = sum(not c["grad"] for c in vgg_calls)
        vgg_calls.clear()
        return n

    st = make(steps=2)
    run(st)
    assert targets() == 2  # content features + style Grams
    run(st, content_weight=10.0, style_weight=1e3, tv_weight=1.0, steps=3,
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
    st.save_name.value = "no_suffix"
    st.save_button.click()
    assert "Could not save" in st.status.value and not (tmp_path / "no_suffix").exists()


@pytest.mark.slow
@pytest.mark.skipif(ipywidgets.__version__.startswith("7"), reason="this is the 7.7.1 run itself")
def test_same_tests_pass_on_ipywidgets_7(ipywidgets7_folder, tmp_path_factory):
    """Colab's ipywidgets 7.7.1: this file again, in a subprocess with 7.7.1 first on sys.path."""
    ipywidgets7, folder = ipywidgets7_folder
    env = ipywidgets7.env(folder)
    out = subprocess.run([sys.executable, "-c", "import ipywidgets; print(ipywidgets.__version__)"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == ipywidgets7.VERSION, out.stderr
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-W", "ignore::DeprecationWarning", __file__, "-k", "not ipywidgets_7"],
                          env=env, capture_output=True, text=True, timeout=900,
                          cwd=tmp_path_factory.mktemp("w7"))
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    tail = proc.stdout.strip().splitlines()[-1]
    others = sum(1 for name in globals() if name.startswith("test_")) - 1
    assert tail.startswith(f"{others} passed") and "skipped" not in tail, tail  # every test ran on 7.7.1
