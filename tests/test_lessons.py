"""Lesson helpers: quick mode, exercise checks, receptive fields, feature-map and loss plots."""
import matplotlib
import pytest
import torch

import helpers as nst
from helpers import lessons

matplotlib.use("Agg")


def test_receptive_fields_match_the_recurrence_and_known_values():
    rf = lessons.receptive_fields()
    assert list(rf) == list(nst.LAYER_NAMES)
    assert rf["conv1_1"] == (3, 1) and rf["relu1_1"] == (3, 1) and rf["conv1_2"] == (5, 1)
    assert rf["pool1"] == (6, 2) and rf["conv2_1"] == (10, 2)
    assert rf["conv4_2"] == (84, 8) and rf["conv5_1"] == (156, 16) and rf["pool5"] == (268, 32)


@pytest.mark.parametrize("layer", ["conv1_2", "conv2_1", "conv3_1"])
def test_receptive_field_is_where_the_gradient_reaches(layer):
    # independent check by autograd: the centre unit's gradient is non-zero on exactly its field
    vgg = nst.load_vgg19(pooling="avg", device="cpu")
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    F = vgg(x, [layer])[layer]
    F[0, :, F.shape[2] // 2, F.shape[3] // 2].sum().backward()
    rows = (x.grad[0].abs().sum(0).sum(1) > 0).nonzero()
    assert int(rows.max() - rows.min() + 1) == lessons.receptive_fields()[layer][0]


def test_show_feature_maps_picks_the_most_active_channels():
    feats = {"a": torch.zeros(1, 5, 4, 4), "b": torch.zeros(1, 3, 2, 2)}
    feats["a"][0, 3] = 2.0
    feats["a"][0, 1] = 1.0
    fig = lessons.show_feature_maps(feats, channels=2)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 4 and titles[:2] == ["a #3", "a #1"]
    fig = lessons.show_feature_maps(feats, channels={"a": [0], "b": [2, 1]})
    assert [ax.get_title() for ax in fig.axes] == ["a #0", "", "b #2", "b #1"]


def test_plot_losses_log_axis_and_both_x_axes():
    hist = [{"step": i, "seconds": 0.1 * i, "total": 10.0 ** -i} for i in range(4)]
    ax = lessons.plot_losses({"run": hist}, x="seconds")
    assert ax.get_yscale() == "log" and list(ax.lines[0].get_xdata()) == [0.0, 0.1, 0.2, 0.30000000000000004]
    res = nst.Result(image=torch.zeros(1, 3, 2, 2), history=hist)
    assert lessons.plot_losses({"r": res}).get_xlabel() == "iteration"
    with pytest.raises(ValueError, match="step"):
        lessons.plot_losses({"r": res}, x="time")


def test_check_answers():
    assert "not answered" in lessons.check("q", ..., 1.0)
    assert lessons.check("q", 6.5, torch.tensor(6.5)) == "q: correct"
    assert lessons.check("q", (1, 64, 56, 56), (1, 64, 56, 56)) == "q: correct"
    assert lessons.check("q", [[5, 2], [2, 1]], torch.tensor([[5.0, 2.0], [2.0, 1.0]])) == "q: correct"
    with pytest.raises(AssertionError, match="hint"):
        lessons.check("q", 7, 6.5, hint="hint")


def test_lesson_settings(monkeypatch):
    monkeypatch.delenv("NST_MODE", raising=False)
    monkeypatch.delenv("NST_SIZE_SCALE", raising=False)
    monkeypatch.setenv("NST_QUICK", "1")
    assert nst.lesson_settings(size=256, steps=100, quick_size=80, quick_steps=7) == \
        {"size": 80, "steps": 7, "quick": True, "mode": "quick"}
    monkeypatch.setenv("NST_QUICK", "0")
    assert nst.lesson_settings(size=256, steps=100, device="cpu") == \
        {"size": 256, "steps": 100, "quick": False, "mode": "full"}


@pytest.fixture
def env(monkeypatch):
    for name in ("NST_QUICK", "NST_MODE", "NST_SIZE_SCALE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_one_switch_chooses_quick_demo_or_full(env):
    kw = dict(size=256, steps=100, quick_size=64, quick_steps=10, device="cpu")
    assert lessons.mode() == "full" and lesson_settings_of(**kw) == (256, 100, "full")
    env.setenv("NST_MODE", "demo")
    assert lesson_settings_of(**kw) == (256, 50, "demo")  # demo: the CPU size, half the steps
    assert lesson_settings_of(**kw, demo_size=160, demo_steps=30) == (160, 30, "demo")
    assert lesson_settings_of(**kw, gpu_scale=4) == (256, 50, "demo")  # no GPU here: gpu_scale is idle
    env.setenv("NST_MODE", "Quick ")
    assert lesson_settings_of(**kw) == (64, 10, "quick") and lessons.quick()
    env.setenv("NST_MODE", "full")
    env.setenv("NST_QUICK", "yes")  # the tests' switch wins over NST_MODE
    assert lessons.mode() == "quick" and lesson_settings_of(**kw) == (64, 10, "quick")


def lesson_settings_of(**kw):
    s = nst.lesson_settings(**kw)
    assert s["quick"] == (s["mode"] == "quick")
    return s["size"], s["steps"], s["mode"]


def test_full_mode_grows_on_a_gpu_only(env, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    env.setenv("NST_DEVICE", "cuda")
    assert nst.lesson_settings(size=192, steps=100, gpu_scale=2)["size"] == 384
    assert nst.lesson_settings(size=192, steps=100, gpu_scale=8 / 3)["size"] == 512  # rounded to 8
    assert nst.lesson_settings(size=192, steps=100, gpu_scale=2, device="cpu")["size"] == 192


def test_demo_mode_grows_on_a_gpu_too_and_quick_never(env, monkeypatch):
    # a class on a Colab GPU sees projector-sized pictures: demo takes gpu_scale as full mode does
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    env.setenv("NST_DEVICE", "cuda")
    env.setenv("NST_MODE", "demo")
    kw = dict(size=256, steps=100, quick_size=64, quick_steps=10, demo_size=160, demo_steps=30)
    assert lesson_settings_of(**kw, gpu_scale=2) == (320, 30, "demo")
    assert lesson_settings_of(**kw, gpu_scale=8 / 3) == (424, 30, "demo")  # rounded to 8
    assert lesson_settings_of(**kw) == (160, 30, "demo")  # gpu_scale 1: the demo size as given
    assert lesson_settings_of(**kw, gpu_scale=2, device="cpu") == (160, 30, "demo")
    env.setenv("NST_MODE", "quick")
    assert lesson_settings_of(**kw, gpu_scale=2) == (64, 10, "quick")  # the tests' sizes everywhere


def test_size_scale_multiplies_every_mode_and_rounds_to_8(env):
    env.setenv("NST_SIZE_SCALE", "1.5")
    assert nst.lesson_settings(size=256, steps=100, device="cpu")["size"] == 384
    env.setenv("NST_QUICK", "1")
    assert nst.lesson_settings(size=256, steps=100, quick_size=64)["size"] == 96
    env.setenv("NST_SIZE_SCALE", "0.25")
    assert nst.lesson_settings(size=256, steps=100, quick_size=64)["size"] == 32  # never below VGG's 32 px


@pytest.mark.parametrize("name, value, match", [("NST_MODE", "fast", "NST_MODE='fast' is not one of"),
                                                ("NST_SIZE_SCALE", "big", "NST_SIZE_SCALE='big'"),
                                                ("NST_SIZE_SCALE", "0", "from 0.25 to 8")])
def test_bad_switches_are_clear_errors(env, name, value, match):
    env.setenv(name, value)
    with pytest.raises(ValueError, match=match):
        nst.lesson_settings(size=256, steps=100, device="cpu")


@pytest.mark.parametrize("m, says", [("quick", "Quick mode"), ("demo", "Demo setting"), ("full", "Full setting")])
def test_setup_shows_the_setting_and_how_to_change_it(env, capsys, m, says):
    env.setenv("NST_MODE", m)
    assert lessons.setup("cpu") == torch.device("cpu")
    out = capsys.readouterr().out
    assert "torch " in out and "device: cpu" in out and says in out and "%env NST_MODE=" in out
    assert ("Quick mode" in out) == (m == "quick")  # the committed full-mode outputs never say it


def _closure_problem():
    target = torch.rand(1, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    x = torch.zeros(1, 3, 6, 6, requires_grad=True)
    opt = torch.optim.LBFGS([x], max_iter=1)
    return target, x, opt, lambda img: 0.5 * ((img - target) ** 2).sum()


def test_check_closure_accepts_the_idiom_and_explains_the_classic_bugs():
    target, x, opt, loss_fn = _closure_problem()

    def closure():
        opt.zero_grad()
        loss = loss_fn(x)
        loss.backward()
        return loss

    assert lessons.check_closure("closure", closure, x, loss_fn) == "closure: correct"
    for _ in range(5):
        opt.step(closure)  # the checked closure drives torch's L-BFGS
    assert float(loss_fn(x).detach()) < 1e-6

    target, x, opt, loss_fn = _closure_problem()

    def forgets_zero_grad():
        loss = loss_fn(x)
        loss.backward()
        return loss

    with pytest.raises(AssertionError, match="twice the true one"):
        lessons.check_closure("closure", forgets_zero_grad, x, loss_fn)

    def forgets_backward():
        opt.zero_grad()
        return loss_fn(x)

    with pytest.raises(AssertionError, match="backward"):
        lessons.check_closure("closure", forgets_backward, x, loss_fn)

    def not_yet():
        ...

    assert "not answered" in lessons.check_closure("closure", not_yet, x, loss_fn)
    with pytest.raises(AssertionError, match="not a function"):
        lessons.check_closure("closure", 3.0, x, loss_fn)


def test_the_lab_extra_installs_what_jupyter_lab_notebooks_needs():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    names = lambda reqs: {r.split(">")[0].split("=")[0].split("<")[0].strip().lower() for r in reqs}
    lab = names(project["optional-dependencies"]["lab"])
    assert {"jupyterlab", "ipykernel"} <= lab and "ipywidgets" in names(project["dependencies"])
    test_jlab = [r for r in project["optional-dependencies"]["test"] if r.startswith("jupyterlab")]
    assert [r for r in project["optional-dependencies"]["lab"] if r.startswith("jupyterlab")] == test_jlab


def _step(net, opt, x, code, targets, vgg, *, backward=True, zero=True):
    """A learner's training step for lesson 06, right or with one of two classic mistakes."""
    with torch.no_grad():
        P = vgg(x, ["relu2_2"])["relu2_2"]
    y = net(x, code)
    feats = vgg(y, ["relu2_2", *targets.A])
    loss = nst.content_loss(feats["relu2_2"], P) * 2 / P.pow(2).sum() \
        + targets.weight * nst.style_loss(feats, targets.A, targets.w) / len(x)
    if zero:
        opt.zero_grad()
    if backward:
        loss.backward()
        opt.step()
    return float(loss.detach())


def test_check_train_step_accepts_a_right_step_and_names_the_mistakes():
    from helpers import lessons
    assert lessons.check_train_step("step", _step) == "step: correct"
    assert "not answered" in lessons.check_train_step("step", lambda *a: None)
    with pytest.raises(AssertionError, match="did not move"):
        lessons.check_train_step("step", lambda *a: _step(*a, backward=False))
    with pytest.raises(AssertionError, match="loss is"):
        lessons.check_train_step("step", lambda *a: 2 * _step(*a))


def test_quiz_holds_the_answers():
    from helpers import lessons
    assert lessons.quiz("06.norm", " Instance ") == "06.norm: correct"
    assert "not answered" in lessons.quiz("07.psnr", ...)
    with pytest.raises(AssertionError, match="PSNR"):
        lessons.quiz("07.psnr", "feature")
    with pytest.raises(KeyError, match="06.norm"):
        lessons.quiz("99.none", 1)


def test_quiz_computes_an_answer_from_the_notebooks_inputs_only_once_answered(monkeypatch):
    from helpers import answers
    calls = []
    table = answers.exercises()
    table["99.probe"] = answers.Exercise("probe", lambda *given: calls.append(given) or 2.0)
    monkeypatch.setattr(answers, "exercises", lambda: table)
    assert lessons.quiz("99.probe", ..., torch.ones(1)) == \
        "probe: not answered yet - replace the ... above, or open the solution below"
    assert calls == []  # an expensive answer (lesson 03 runs the engine) is not computed for nothing
    assert lessons.quiz("99.probe", 2.0, "given") == "probe: correct" and calls == [("given",)]


F_SMALL, P_SMALL = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[1.0, 0.0], [1.0, 4.0]])
PSNR = {"conv1_2": 30.1, "conv2_2": 25.0, "conv5_2": 11.2}
C2F = type("Run", (), {"sizes": [(64, 96), (128, 192), (256, 384)]})()
RF = lessons.receptive_fields()
POOL_W = torch.tensor([[[[4.0, 1.0], [2.0, 3.0]]]], requires_grad=True)


@pytest.mark.parametrize("key, given, right, wrong", [
    ("00.mean_grad", (), [1 / 16, 0.0], [1 / 48, 0.0]),
    ("01.content", (F_SMALL, P_SMALL), 4.0, 8.0),
    ("01.grad", (F_SMALL, P_SMALL), [[0.0, 2.0], [2.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]]),
    ("01.depth", (PSNR,), ["conv1_2", "conv5_2"], ["conv5_2", "conv1_2"]),
    ("02.gram", (torch.tensor([[1.0, 2.0], [0.0, 1.0]]),), [[5, 2], [2, 1]], [[5, 0], [0, 1]]),
    ("02.E", (torch.tensor([[1.0, 2.0], [0.0, 1.0]]), torch.tensor([[4.0, 2.0], [2.0, 2.0]])), 2 / 64, 2 / 16),
    ("04.primary", (), ("green", 0.587), ("red", 0.299)),
    ("04.pixels", (C2F,), 16, 4),
    ("05.layout", ({("trained", "conv4_2"): 0.41, ("random", "conv4_2"): 0.05},), "trained", "random"),
    ("05.rf", (RF, torch.zeros(1, 3, 100, 150)), "conv5_1", "conv4_4"),
    ("05.pool", (POOL_W,), [[[1.0, 0.0], [0.0, 0.0]], [[0.25] * 2] * 2], [[[0.25] * 2] * 2] * 2),
])
def test_quiz_answers_of_lessons_00_to_05(key, given, right, wrong):
    # the solution cells' answers (worked out by hand) pass, a plausible mistake does not
    assert lessons.quiz(key, right, *given).endswith(": correct")
    with pytest.raises(AssertionError, match="is not right"):
        lessons.quiz(key, wrong, *given)


def test_quiz_answers_read_the_learners_network():
    vgg = nst.load_vgg19(device="cpu")
    assert lessons.quiz("00.relu3_1", (1, 256, 64, 64), vgg) == "relu3_1 shape: correct"
    assert lessons.quiz("00.grey", [127.5 - 103.939, 127.5 - 116.779, 127.5 - 123.68], vgg) == "grey pixel: correct"
    with pytest.raises(AssertionError, match="B, G, R"):
        lessons.quiz("00.grey", [127.5 - 123.68, 127.5 - 116.779, 127.5 - 103.939], vgg)
    assert lessons.quiz("02.NM", (256, 64 * 64), vgg) == "N and M at relu3_1: correct"


def test_quiz_eq7_is_the_engines_total_at_the_starting_image():
    # lesson 03's solution: alpha L_content + beta L_style at x by hand, against the engine's first entry
    vgg = nst.load_vgg19(device="cpu")
    content = nst.load_image("chelsea", size=64, device="cpu")
    style = nst.load_image("swirls", size=64, device="cpu")
    x = (0.8 * content + 0.1).requires_grad_(True)
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    with torch.no_grad():
        P = vgg(content, ["relu4_2"])["relu4_2"]
        A = {n: nst.gram_matrix(f, normalize=True) for n, f in vgg(style, layers).items()}
        feats = vgg(x, ["relu4_2", *layers])
        total = float(nst.content_loss(feats["relu4_2"], P) + 1e4 * nst.style_loss(feats, A))
    assert lessons.quiz("03.eq7", total, content, style, x) == "eq. 7 at x: correct"
    with pytest.raises(AssertionError, match="alpha"):
        lessons.quiz("03.eq7", 2 * total, content, style, x)


def test_quiz_layer_reads_the_grid_at_its_most_content_heavy_ratio():
    photo = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    noise = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    runs = {("conv2_2", 1e-2): nst.Result(image=photo * 0.9), ("conv2_2", 1e-5): nst.Result(image=noise),
            ("conv4_2", 1e-2): nst.Result(image=noise), ("conv4_2", 1e-5): nst.Result(image=photo)}
    assert lessons.quiz("03.layer", "conv2_2", runs, photo) == "layer that keeps the photo: correct"


def test_check_takes_an_absolute_tolerance_for_entries_near_zero():
    # lesson 00's Preprocess: 255 x - mean and (x - mean / 255) * 255 differ by ~1e-5 in float32
    x = torch.rand(2, 3, 5, 7, generator=torch.Generator().manual_seed(3))
    mean = torch.tensor([123.68, 116.779, 103.939]).view(1, 3, 1, 1)
    a, b = 255 * x - mean, (x - mean / 255) * 255
    assert lessons.check("q", a, b, rtol=1e-5, atol=1e-3) == "q: correct"
    with pytest.raises(AssertionError):
        lessons.check("q", a + 0.01, b, rtol=1e-5, atol=1e-3)
