"""The engine: targets, optimisers, inits, pixel range, styles, colour, schedules, robustness."""
import math

import pytest
import torch

import helpers as nst
from helpers import color, measures, options
from helpers import optimize as O

S = 64  # every test image's long side: VGG19 to relu5_1 takes ~20 ms here


@pytest.fixture(scope="module")
def content():
    return nst.load_image("chelsea", size=S, device="cpu")


@pytest.fixture(scope="module")
def style():
    return nst.load_image("mondrian", size=S, device="cpu")


def run(content, style, **kw):
    kw.setdefault("steps", 5)
    kw.setdefault("progress", False)
    kw.setdefault("device", "cpu")
    return nst.stylize(content, style, **kw)


def test_targets_once_truncated_and_frozen(content, style, vgg_calls):
    r = run(content, style, steps=6, style_layers=("relu1_1", "relu2_1"), content_layers=("relu3_1",))
    targets = [c for c in vgg_calls if not c["grad"]]
    # 1 content + 1 style target pass (no grad), then 6 steps + 1 final scoring of the last image
    assert len(vgg_calls) == 2 + 6 + 1 and len(targets) == 2
    assert [c["layers"] for c in targets] == [("relu3_1",), ("relu1_1", "relu2_1")]
    assert all(set(c["layers"]) == {"relu1_1", "relu2_1", "relu3_1"} for c in vgg_calls[2:])
    assert all(p.grad is None for p in nst.load_vgg19(device="cpu").parameters())
    assert r.image.shape == content.shape


def test_network_stops_at_deepest_layer(content, style):
    vgg = nst.load_vgg19(device="cpu")
    called = set()
    hooks = [getattr(vgg, n).register_forward_hook(lambda m, i, o, n=n: called.add(n)) for n in nst.LAYER_NAMES]
    try:
        run(content, style, steps=2, style_layers=("relu1_1", "relu2_1"), content_layers=("relu2_2",))
    finally:
        for h in hooks:
            h.remove()
    assert "relu2_2" in called and "pool2" not in called and "conv3_1" not in called


@pytest.mark.parametrize("optimizer", options.OPTIMIZERS)
def test_optimizers_reduce_the_loss(content, style, optimizer):
    r = run(content, "swirls", steps=30, optimizer=optimizer, init="noise")
    first, last = r.history[0]["total"], r.loss
    assert last < first / 3, (optimizer, first, last)  # the optimum is near 1 here: no 10x to have
    assert set(r.history[0]) >= {"step", "seconds", "total", "content", "style", "tv"}
    h = r.history[-1]
    assert h["total"] == pytest.approx(h["content"] + h["style"] + h["tv"], rel=1e-5)


def test_lbfgs_beats_adam_per_step(content, style):
    lb = run(content, "swirls", steps=30, optimizer="lbfgs").loss
    ad = run(content, "swirls", steps=30, optimizer="adam").loss
    # from the content photo the optimum is near; measured lb/ad 0.88 (48 px) on both AVX-512 and
    # SSE4.1 kernels. From noise, where the gap is large, see test_lbfgs_ends_at_least_as_low_as_adam
    assert lb < ad, (lb, ad)


def test_inits(content, style):
    c = run(content, style, steps=0, init="content")
    assert torch.equal(c.image, content)
    n1 = run(content, style, steps=0, init="noise", seed=1).image
    assert not torch.equal(n1, run(content, style, steps=0, init="noise", seed=2).image)
    assert 0.45 < float(n1.mean()) < 0.55  # uniform noise around mid-grey
    assert float(n1.max() - n1.min()) <= O.NOISE_AMPLITUDE + 1e-6  # not full-strength: no speckle
    st = run(content, style, steps=0, init="style").image
    assert st.shape == content.shape and abs(float(st.mean() - style.mean())) < 0.05
    bl = run(content, style, steps=0, init="blurred").image
    assert float(nst.tv_loss(bl)) < 0.5 * float(nst.tv_loss(content))  # smoother,
    assert abs(float(bl.mean() - content.mean())) < 0.02  # same layout and colour
    given = torch.full_like(content, 0.25)
    assert torch.allclose(run(content, style, steps=0, init=given).image, given)


def test_pixels_stay_in_range_and_snapshots(content, style):
    r = run(content, style, steps=8, style_weight=1e6, optimizer="adam", lr=0.3, snapshot_every=2)
    assert [s for s, _ in r.snapshots] == [1, 3, 5, 7]
    for img in [r.image] + [im for _, im in r.snapshots]:
        assert img.min() >= 0 and img.max() <= 1 and torch.isfinite(img).all()


def test_same_seed_same_image(content, style):
    a = run(content, style, steps=4, init="noise", seed=7).image
    b = run(content, style, steps=4, init="noise", seed=7).image
    assert torch.equal(a, b)


def test_layer_choice_and_layer_weights(content, style):
    only1 = run(content, style, steps=1, style_layer_weights={"relu1_1": 1.0})
    all5 = run(content, style, steps=1)
    assert only1.history[0]["style"] != pytest.approx(all5.history[0]["style"])
    conv = run(content, style, steps=3, content_layers=("conv2_2",), style_layers=("conv1_1", "pool3"))
    assert conv.loss < conv.history[0]["total"]


def test_style_scale_sizes_the_style_image(content, style, vgg_calls):
    run(content, style, steps=0, style_scale=2.0)
    run(content, style, steps=0, style_scale=0.5)
    sides = [max(c["shape"]) for c in vgg_calls if not c["grad"] and "relu5_1" in c["layers"]]
    assert 2 * S in sides and 32 in sides  # 0.5 * 64 = 32, the smallest side VGG takes


def test_style_blend(content, style):
    other = nst.load_image("op_art", size=S, device="cpu")
    only_a = run(content, style, steps=3).image
    blend_a = run(content, [style, other], style_blend=[1.0, 0.0], steps=3).image
    assert torch.allclose(only_a, blend_a, atol=1e-5)
    mixed = run(content, [style, other], style_blend=[0.5, 0.5], steps=3).image
    assert not torch.allclose(mixed, only_a, atol=1e-3)


def chroma(img):  # mean over pixels of the spread between a pixel's R, G, B values
    return float(img.std(dim=1).mean())


def test_masks_put_each_style_in_its_region(content):
    colourful = nst.load_image("mondrian", size=S, device="cpu")
    black_white = nst.load_image("op_art", size=S, device="cpu")
    left = torch.zeros(S, S)
    left[:, : S // 2] = 1
    a = run(content, [colourful, black_white], masks=[left, 1 - left], steps=40, content_weight=1e-2)
    b = run(content, [colourful, black_white], masks=[1 - left, left], steps=40, content_weight=1e-2)
    halves = lambda r: (r.image[..., : S // 2 - 4], r.image[..., S // 2 + 4:])  # noqa: E731
    (aL, aR), (bL, bR) = halves(a), halves(b)
    # each half is more colourful where the Mondrian mask was than where the op-art mask was
    assert chroma(aL) > 1.3 * chroma(bL) and chroma(bR) > 1.3 * chroma(aR), (chroma(aL), chroma(bL))
    assert a.loss < a.history[0]["total"] / 5


def test_preserve_color(content):
    style = nst.load_image("swirls", size=S, device="cpu")
    plain = run(content, style, steps=15)
    hist = run(content, style, steps=15, preserve_color="histogram")
    lum = run(content, style, steps=15, preserve_color="luminance")
    d = {k: measures.color_distance(r.image, content) for k, r in (("plain", plain), ("hist", hist), ("lum", lum))}
    assert d["hist"] < d["plain"] and d["lum"] < d["plain"], d
    # luminance-only transfer keeps the content's chroma exactly
    assert torch.allclose(color.to_yiq(lum.image)[:, 1:], color.to_yiq(content)[:, 1:], atol=2e-2)


def test_coarse_to_fine(content, style):
    r = run(content, style, size=[48, 64], steps=[3, 2])
    assert r.sizes == [(32, 48), tuple(content.shape[-2:])]
    assert max(r.image.shape[-2:]) == 64
    assert [h["stage"] for h in r.history] == [0, 0, 0, 1, 1]
    assert [h["step"] for h in r.history] == list(range(5))


def test_callback_stop_and_progress(content, style, capsys):
    seen = []

    def cb(step, image, losses):
        seen.append((step, tuple(image.shape), losses["total"]))
        return step < 2

    r = run(content, style, steps=10, callback=cb, progress=True)
    assert r.stopped_reason == "callback" and len(r.history) == 3 and len(seen) == 3
    assert seen[0][1] == tuple(content.shape)


def test_keyboard_interrupt_keeps_best(content, style):
    def cb(step, image, losses):
        if step == 3:
            raise KeyboardInterrupt

    r = run(content, style, steps=10, init="noise", callback=cb)
    assert r.stopped_reason == "interrupted" and len(r.history) == 4
    assert r.best_step == 3 and r.image.shape == content.shape and r.image.max() <= 1


def test_a_new_loss_term_is_one_entry_and_reaches_the_records(content, style, monkeypatch):
    problem = O._problem

    def with_edge(*args):  # a term that pulls the mean grey level up, weighted 0.5
        p = problem(*args)
        p.terms.append(("edge", 0.5, lambda x, feats: 1 - x.mean()))
        return p

    monkeypatch.setattr(O, "_problem", with_edge)
    r = run(content, style, steps=2)
    h = r.history[0]
    assert list(h) == ["step", "seconds", "stage", "content", "style", "tv", "edge", "total"]
    assert h["edge"] == pytest.approx(0.5 * (1 - float(content.mean())), rel=1e-5)  # step 0 scores the start
    assert h["total"] == pytest.approx(h["content"] + h["style"] + h["tv"] + h["edge"], rel=1e-6)


def test_non_finite_loss_keeps_best(content, style, monkeypatch):
    losses = O._Problem.losses
    n = {"calls": 0}

    def flaky(self, x):
        n["calls"] += 1
        t = losses(self, x)
        if n["calls"] > 4:
            t = {k: v * math.nan for k, v in t.items()}
        return t

    monkeypatch.setattr(O._Problem, "losses", flaky)
    r = run(content, style, steps=10, init="noise")
    assert r.stopped_reason == "non-finite loss" and len(r.history) == 4
    assert torch.isfinite(r.image).all() and r.best_step == 3


def test_out_of_memory_retries_once_smaller(content, style, monkeypatch):
    real = O._run_stage
    calls = []

    def oom_once(problem, x, *a, **k):
        calls.append(tuple(x.shape[-2:]))
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(problem, x, *a, **k)

    monkeypatch.setattr(O, "_run_stage", oom_once)
    with pytest.warns(UserWarning, match="retrying once at long side 48"):
        r = run(content, style, steps=2, size=64)
    assert max(calls[0]) == 64 and max(calls[1]) == 48 and max(r.image.shape[-2:]) == 48

    def oom_always(*a, **k):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(O, "_run_stage", oom_always)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="out of GPU memory .* even after one retry"):
        run(content, style, steps=2, size=64)


def test_target_cache_reused_when_only_weights_change(content, style, vgg_calls):
    cache = {}
    run(content, style, steps=2, cache=cache)
    assert sum(not c["grad"] for c in vgg_calls) == 2  # content features + style Grams
    vgg_calls.clear()
    run(content, style, steps=2, cache=cache, style_weight=10.0, content_weight=3.0, tv_weight=1.0)
    assert sum(not c["grad"] for c in vgg_calls) == 0 and len(vgg_calls) == 2 + 1


def test_reconstruct_and_synthesize(content, style):
    rec = nst.reconstruct_content(content, layer="relu2_2", steps=20, progress=False, device="cpu")
    assert rec.history[0]["style"] == 0 and rec.loss < rec.history[0]["total"] / 20
    assert nst.psnr(rec.image, content) > 12
    tex = nst.synthesize_texture("swirls", layers=("relu1_1", "relu2_1"), size=48, steps=60,
                                 progress=False, device="cpu")
    assert max(tex.image.shape[-2:]) == 48 and tex.history[0]["content"] == 0
    assert tex.loss < tex.history[0]["total"] / 20


def test_random_weights_run(content, style):
    r = run(content, style, steps=3, weights="random", pooling="avg")
    assert r.loss < r.history[0]["total"]


@pytest.mark.parametrize("kw, match", [
    ({"init": "zeros"}, r"init='zeros' is not one of \('content', 'noise', 'style', 'blurred'\)"),
    ({"optimizer": "sgd"}, "optimizer='sgd' is not one of"),
    ({"preserve_color": "yes"}, "preserve_color='yes'"),
    ({"style_weight": -1.0}, "style_weight=-1.0 must be a finite number >= 0"),
    ({"style_layers": ("relu9_1",)}, "style_layers: unknown layer"),
    ({"steps": [3, 4]}, "one per size stage"),
    ({"style_blend": [1.0, 2.0]}, "style_blend"),
    ({"style_scale": 0}, "style_scale=0"),
])
def test_bad_options_are_named(content, style, kw, match):
    with pytest.raises(nst.OptionError, match=match):
        run(content, style, **kw)


def test_too_small_images_are_refused(style):
    with pytest.raises(nst.ImageError, match="too small"):
        run(torch.rand(1, 3, 20, 64), style)
    with pytest.raises(nst.OptionError, match="size=16"):
        run(torch.rand(1, 3, 64, 64), style, size=16)


def test_reduced_precision_keeps_losses_in_float32(content, style, monkeypatch):
    # bf16 autocast on the CPU runs the code path a GPU run takes with precision="bf16"
    seen = []
    style_layer_loss = O.style_loss

    def spy(feats, targets, *a, **k):
        seen.append({n: f.dtype for n, f in feats.items()})
        out = style_layer_loss(feats, targets, *a, **k)
        seen.append(out.dtype)
        return out

    monkeypatch.setattr(O, "style_loss", spy)
    lo = run(content, style, steps=6, precision="bf16")
    monkeypatch.setattr(O, "style_loss", style_layer_loss)
    hi = run(content, style, steps=6, precision="fp32")
    assert seen[0]["relu1_1"] == torch.bfloat16 and seen[1] == torch.float32
    assert all(math.isfinite(h["total"]) for h in lo.history)
    # the same loss definition scores both images: bf16 costs little quality, and it moves
    # (measured at 48 and 64 px, AVX-512 and SSE4.1 kernels: -21 to -23 % in 6 steps, improving at
    # every step, between 5 % better and 0.8 % worse than fp32 - the paths part after a few steps;
    # the bug this guards against stalled at step 1, 42 % worse than fp32)
    assert lo.best_step == 6 and lo.loss < 0.9 * lo.history[0]["total"], lo.history
    assert lo.loss < 1.1 * hi.loss, (lo.loss, hi.loss)


# --------------------------------------------------------------------------- the objective

def terms_at(side, objective):
    c = nst.load_image("chelsea", size=side, device="cpu")
    r = run(c, "swirls", steps=1, init="noise", objective=objective)
    return r.history[0]["content"], r.history[0]["style"]


def test_content_style_balance_does_not_depend_on_size():
    rel = [terms_at(side, "relative") for side in (64, 128)]
    pap = [terms_at(side, "paper") for side in (64, 128)]
    balance = lambda t: t[0] / t[1]  # noqa: E731
    # from the same noise: measured relative 1.08x (64 -> 128 px) and 1.04x (128 -> 256 px); paper
    # 4.2x and 3.5x (4x the positions). (A blurred start is no referee: VGG's receptive fields are
    # fixed in pixels, so a blur of the same relative width hides more detail at a larger size.)
    assert 0.8 < balance(rel[1]) / balance(rel[0]) < 1.25, rel
    assert balance(pap[1]) / balance(pap[0]) > 2.5, pap


def test_relative_terms_are_relative_errors(content):
    # all-zero features score exactly 1 per term: a black image is "100 % wrong" at relu1_1
    vgg = nst.load_vgg19(device="cpu")
    r = run(content, None, steps=0, style_weight=0.0, content_layers=("relu1_1",))
    P = vgg(content, ["relu1_1"])["relu1_1"]
    black = torch.zeros_like(content)
    F = vgg(black, ["relu1_1"])["relu1_1"]
    expected = float((F - P).pow(2).sum() / P.pow(2).sum())
    got = run(content, None, steps=1, style_weight=0.0, content_layers=("relu1_1",), init=black,
              precision="fp32")  # compared with an fp32 reference: the CPU default may be bf16
    assert got.history[0]["content"] == pytest.approx(expected, rel=1e-4)
    assert r.image.shape == content.shape


# ------------------------------------------- the optimiser on VGG losses (alone: test_lbfgs.py)

def binary_texture(seed, side=64):
    # two sines plus one random binary channel: the texture on which torch's L-BFGS sat flat
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, side), torch.linspace(0, 1, side), indexing="ij")
    img = torch.stack([0.5 + 0.5 * torch.sin(18 * xx), 0.5 + 0.5 * torch.sin(11 * yy + 7 * xx),
                       (torch.rand(side, side, generator=g) > 0.5).float()])
    return img[None]


#: (layers, the fall in 30 steps the test wants). Measured with mirrored padding at 48 and 64 px,
#: seeds 0-2, AVX-512 and SSE4.1 kernels: relu1_1 580x-3600x; relu1_1+relu2_1 60x-600x; the five
#: default layers 11x-22x (Adam, at its default rate: 8x-20x). With the adaptive trust region and
#: bf16 emulated on AVX2 kernels (ATEN_CPU_CAPABILITY=avx2) the binary texture on the five layers fell
#: 4.9x (seed 1), so that cell asks for 4x. Before the trust region one cell (relu1_1, binary,
#: seed 1) fell 2x-4x: a stall.
STALL_CASES = [(("relu1_1",), 100), (("relu1_1", "relu2_1"), 20), (options.STYLE_LAYERS, 4)]


@pytest.mark.parametrize("layers, fall", STALL_CASES, ids=["relu1_1", "relu1+2", "default"])
@pytest.mark.parametrize("image", ["smooth", "binary"])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_texture_from_noise_never_stalls(layers, fall, image, precision):
    style = nst.load_image("swirls", size=64, device="cpu") if image == "smooth" else binary_texture(1)
    for seed in (0, 1):
        r = nst.synthesize_texture(style, layers=layers, size=48, steps=30, seed=seed,
                                   precision=precision, progress=False, device="cpu")
        assert r.loss < r.history[0]["total"] / fall, (seed, r.history[0]["total"], r.loss)


@pytest.mark.parametrize("layer", ["conv1_2", "conv3_2", "conv5_2"])
def test_reconstruction_never_stalls(content, layer):
    r = nst.reconstruct_content(content, layer=layer, steps=30, progress=False, device="cpu")
    assert r.loss < r.history[0]["total"] / 10, (layer, r.history[0]["total"], r.loss)


@pytest.mark.parametrize("init", ["content", "noise", "blurred"])
def test_lbfgs_ends_at_least_as_low_as_adam(content, init):
    # At the default beta (15) from noise, L-BFGS / Adam after 60 steps was 1.01-1.04 (AVX-512 fp32
    # and bf16, AVX2 fp32), after 100 steps 0.988 (AVX-512) and 0.998 (AVX2): 100 steps, 2 % margin.
    lb = run(content, "swirls", steps=100, init=init).loss
    ad = run(content, "swirls", steps=100, init=init, optimizer="adam").loss
    assert lb <= 1.02 * ad, (init, lb, ad)


# --------------------------------------------------------------------------- a truthful Result

def fresh_loss(r, content, style, **kw):
    """Score r.image from scratch: a zero-step run from it, with the same options."""
    again = run(content, style, steps=1, init=r.image, **kw)
    return again.history[0]["total"]


@pytest.mark.parametrize("size", [None, [48, 64]])
def test_result_loss_is_the_returned_images_loss(content, style, size):
    r = run(content, style, steps=[6, 4] if size else 6, size=size)
    assert r.loss == pytest.approx(fresh_loss(r, content, style, size=max(size) if size else None),
                                   rel=1e-4)
    assert r.history[-1]["total"] >= r.loss and r.stages[-1].best_loss == r.loss
    assert [s.steps for s in r.stages] == ([6, 4] if size else [6])
    assert all(s.seconds > 0 for s in r.stages)


def test_out_of_memory_retry_keeps_nothing_of_the_failed_try(content, style, monkeypatch):
    real = O._run_stage
    calls = []

    def oom_after_recording(problem, x, steps, o, result, *a):
        calls.append(1)
        if len(calls) == 1:
            result.history.append({"step": 0, "total": -1.0, "stage": 0})
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(problem, x, steps, o, result, *a)

    monkeypatch.setattr(O, "_run_stage", oom_after_recording)
    with pytest.warns(UserWarning):
        r = run(content, style, steps=3, size=64)
    assert len(r.history) == 3 and all(h["total"] > 0 for h in r.history)


def test_no_unstyled_border_strip():
    # 127 px high: with floor pooling relu5_1 never saw the last row and those rows stayed photo
    c = nst.load_image("chelsea", size=96, device="cpu")[..., :63, :]  # (1, 3, 63, 95): odd sides
    r = run(c, "swirls", steps=40)
    d = (r.image - c).abs().mean(dim=1)[0]  # (H, W)
    interior = float(d[4:-4, 4:-4].mean())
    rows, cols = float(d[-2:].mean()), float(d[:, -2:].mean())
    # measured 0.9-1.2x with ceil-mode pooling (0.70 and 0.56 before, on a 127x170 transfer)
    assert rows > 0.8 * interior and cols > 0.8 * interior, (rows, cols, interior)


# --------------------------------------------------------------------------- the door

@pytest.mark.parametrize("kw, match", [
    ({"style_layer_weights": {"relu9_9": 1.0}}, "style_layer_weights"),
    ({"style_blend": [math.nan]}, r"style_blend\[0\]=nan"),
    ({"snapshot_every": -1}, "snapshot_every=-1"),
    ({"lr": math.nan}, "lr=nan"),
    ({"lr": -1.0}, "lr=-1.0"),
    ({"style_weight": math.inf}, "style_weight=inf"),
    ({"objective": "mse"}, "objective='mse' is not one of"),
    ({"content_weight": 0.0, "style_weight": 0.0}, "nothing to optimise"),
    ({"seed": 1.5}, "seed=1.5"),
])
def test_more_bad_options_are_named(content, style, kw, match):
    with pytest.raises(nst.OptionError, match=match):
        run(content, style, **kw)


@pytest.mark.parametrize("weights, fix", [
    ({"relu4_2": 1.0}, r"add them to style_layers \(style_layers=\('relu1_1', 'relu2_1', 'relu3_1', "
                       r"'relu4_1', 'relu5_1', 'relu4_2'\)\) or drop them from style_layer_weights"),
    ({"relu4_l": 1.0}, r"'relu4_l' is no VGG19 layer; did you mean 'relu4_1'.*drop them from style_layer_weights"),
])
def test_a_layer_weight_outside_style_layers_says_the_fix(content, style, weights, fix):
    with pytest.raises(nst.OptionError, match=fix):
        run(content, style, style_layer_weights=weights)


def test_style_list_checks(content, style):
    with pytest.raises(nst.OptionError, match=r"style=\[\]"):
        run(content, [])
    with pytest.raises(nst.OptionError, match="style_blend and masks"):
        run(content, [style, style], style_blend=[1, 1], masks=[None, None])
    with pytest.raises(nst.OptionError, match="give a content image, a style image, or both"):
        run(None, None)


def test_a_failing_callback_keeps_the_best_image(content, style):
    def cb(step, image, record):
        if step == 2:
            raise ZeroDivisionError("oops")

    with pytest.warns(UserWarning, match="callback raised ZeroDivisionError") as caught:
        r = run(content, style, steps=10, callback=cb)
    assert r.stopped_reason == "callback error" and isinstance(r.error, ZeroDivisionError)
    assert len(r.history) == 3 and r.image.shape == content.shape
    # the warning carries the callback's own traceback: the learner sees the line that failed
    text = str(caught[0].message)
    assert "stopped at step 2 and kept its best image" in text
    assert "Traceback (most recent call last)" in text and 'raise ZeroDivisionError("oops")' in text


def test_signature_comes_from_the_options():
    import inspect

    from helpers import options
    params = inspect.signature(nst.stylize).parameters
    assert list(params)[:2] == ["content", "style"]
    assert {n: p.default for n, p in list(params.items())[2:]} == options.defaults()


def test_preconditioner_reaches_a_lower_loss_in_the_same_steps(content):
    # swirls, 20 steps: 0.51-0.58 of plain L-BFGS's loss at 64 px under the three kernel sets, 0.40
    # at 96 px; the gain depends on the style (helpers.options' precondition has the figures)
    swirls = nst.load_image("swirls", size=S, device="cpu")
    plain = run(content, swirls, steps=20, precondition=0.0)
    damped = run(content, swirls, steps=20, precondition=0.5)
    assert damped.loss < 0.75 * plain.loss, (damped.loss, plain.loss)
    assert damped.history[0]["total"] == pytest.approx(plain.history[0]["total"])  # same start


def test_preconditioner_is_on_by_default_and_off_with_masks(content, style, monkeypatch):
    from helpers import optimize, options
    powers = []
    real = optimize.spectral_preconditioner
    monkeypatch.setattr(optimize, "spectral_preconditioner",
                        lambda shape, power: powers.append(power) or real(shape, power))
    default = run(content, style, steps=4)
    assert powers == [options.DEFAULT_PRECONDITION] == [0.5]
    explicit = run(content, style, steps=4, precondition=0.5)
    assert torch.equal(default.image, explicit.image)
    left = torch.zeros(S, S)
    left[:, : S // 2] = 1
    masked = run(content, [style, content], masks=[left, 1 - left], steps=4)
    plain = run(content, [style, content], masks=[left, 1 - left], steps=4, precondition=0)
    assert powers == [0.5, 0.5] and torch.equal(masked.image, plain.image)
    run(content, [style, content], masks=[left, 1 - left], steps=1, precondition=1.0)  # asked for: on
    assert powers == [0.5, 0.5, 1.0]
    assert options.Options(masks=(left,)).precondition_power == 0.0
    assert options.Options(optimizer="adam", precondition=0.5).precondition_power == 0.0


@pytest.mark.parametrize("bad", [-0.5, float("nan"), 5.0, "1"])
def test_bad_precondition_is_refused(content, style, bad):
    with pytest.raises(nst.OptionError, match="precondition"):
        run(content, style, steps=1, precondition=bad)
