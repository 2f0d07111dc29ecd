"""Lesson 08's checkers: the capstone loop against nst.stylize, and the objective exercise.

The loop below is the capstone's solution; each mistake is one a learner makes. A correct loop must
pass (torch.optim.LBFGS lands within ~1 % of the engine's own L-BFGS here), each broken one must
fail with a message that says what to fix.
"""
import pytest
import torch

import helpers as nst
from helpers import lessons

SIZE, STEPS = 64, 10
#: eq. 7's weights, pinned (the engine's defaults when this was written): the diagnoses below are
#: measured at them; every check passes them on to stylize, as the lesson's settings would be
WEIGHTS = {"content_weight": 1.0, "style_weight": 15.0}
CONTENT_LAYER = "relu4_2"
STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


@pytest.fixture(scope="module")
def images():
    return nst.load_image("chelsea", size=SIZE, device="cpu"), nst.load_image("swirls", size=SIZE, device="cpu")


def make_objective(content, style, mistake=None, weights=WEIGHTS):
    """Eq. 7 with the engine's relative terms (the capstone's first exercise), or with one mistake."""
    vgg = nst.load_vgg19(device="cpu")
    alpha = 0.0 if mistake == "no content weight" else weights["content_weight"]
    beta = weights["style_weight"]
    per_position = mistake != "gram per image"
    with torch.no_grad():
        P = vgg(content, [CONTENT_LAYER])[CONTENT_LAYER]
        A = {n: nst.gram_matrix(F, normalize=True) for n, F in vgg(style, STYLE_LAYERS).items()}

    def objective(x):
        feats = vgg(x, [CONTENT_LAYER, *STYLE_LAYERS])
        L_content = (feats[CONTENT_LAYER] - P).pow(2).sum() / P.pow(2).sum()
        L_style = sum((nst.gram_matrix(feats[n], normalize=per_position) - A[n]).pow(2).sum() / A[n].pow(2).sum()
                      for n in STYLE_LAYERS) / len(STYLE_LAYERS)
        return alpha * L_content + beta * L_style

    return objective


def style_transfer(objective, start, steps, clamp=True):
    x = start.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, max_iter=1, history_size=20)

    def closure():
        opt.zero_grad()
        loss = objective(x)
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
        if clamp:
            with torch.no_grad():
                x.clamp_(0, 1)
    return x.detach()


def test_a_correct_loop_passes_and_says_by_how_much(images):
    content, style = images
    image = style_transfer(make_objective(content, style), content, STEPS)
    out = lessons.check_capstone(image, content, style, steps=STEPS, **WEIGHTS)
    assert out.startswith("capstone: correct") and "nst.stylize's" in out and "%" in out


def test_an_unanswered_loop_gets_a_nudge_and_runs_nothing(images, monkeypatch):
    import helpers.optimize

    monkeypatch.setattr(helpers.optimize, "stylize", lambda *a, **k: pytest.fail("ran the engine"))
    assert "not answered yet" in lessons.check_capstone(None, *images, steps=STEPS, **WEIGHTS)
    assert "not answered yet" in lessons.check_capstone(..., *images, steps=STEPS, **WEIGHTS)


def test_pixels_outside_the_box_fail_before_the_engine_runs(images, monkeypatch):
    import helpers.optimize

    content, style = images
    image = style_transfer(make_objective(content, style), content, STEPS, clamp=False)
    assert image.min() < 0 or image.max() > 1  # the unclamped run leaves the box
    monkeypatch.setattr(helpers.optimize, "stylize", lambda *a, **k: pytest.fail("ran the engine"))
    with pytest.raises(AssertionError, match=r"outside \[0, 1\].*x\.clamp_\(0, 1\)"):
        lessons.check_capstone(image, content, style, steps=STEPS, **WEIGHTS)


def test_a_missing_content_weight_is_named(images):
    content, style = images
    image = style_transfer(make_objective(content, style, "no content weight"), content, STEPS)
    with pytest.raises(AssertionError, match=r"gave up more of the photo.*alpha \* L_content"):
        lessons.check_capstone(image, content, style, steps=STEPS, **WEIGHTS)


def test_a_gram_matrix_not_per_position_fails(images):
    # the painting's Gram per position, x's summed over its positions: M times too large
    content, style = images
    image = style_transfer(make_objective(content, style, "gram per image"), content, STEPS)
    with pytest.raises(AssertionError, match=r"more than 5% above it.*Gram.*per position") as info:
        lessons.check_capstone(image, content, style, steps=STEPS, **WEIGHTS)
    assert "content term" in str(info.value) and "style term" in str(info.value)  # the numbers, to compare


def test_too_few_steps_leave_too_little_style_and_say_so(images):
    content, style = images
    image = style_transfer(make_objective(content, style), content, 2)
    with pytest.raises(AssertionError, match="per position.*did the loop run all the steps"):
        lessons.check_capstone(image, content, style, steps=STEPS, **WEIGHTS)


def test_the_photo_unchanged_and_wrong_shapes_say_what_to_do(images):
    content, style = images
    with pytest.raises(AssertionError, match="still the photo"):
        lessons.check_capstone(content.clone(), content, style, steps=STEPS, **WEIGHTS)
    with pytest.raises(AssertionError, match="shape"):
        lessons.check_capstone(content[..., :32], content, style, steps=STEPS, **WEIGHTS)
    with pytest.raises(AssertionError, match="not an image"):
        lessons.check_capstone(0.7, content, style, steps=STEPS, **WEIGHTS)


def test_the_objective_exercise(images):
    content, style = images
    probe = content.flip(-1)
    defaults = nst.options.defaults()  # the exercise is eq. 7 at the engine's default weights
    right = float(make_objective(content, style, weights=defaults)(probe))
    assert lessons.quiz("08.objective", right, content, style, probe) == "objective: correct"
    assert "not answered" in lessons.quiz("08.objective", None, content, style, probe)
    wrong = float(make_objective(content, style, "gram per image", weights=defaults)(probe))
    with pytest.raises(AssertionError, match="normalize=True"):
        lessons.quiz("08.objective", wrong, content, style, probe)


def test_the_zero_features_exercise():
    d = nst.options.defaults()
    right = d["content_weight"] + d["style_weight"]
    assert lessons.quiz("08.zero", right) == "objective at zero features: correct"
    with pytest.raises(AssertionError, match="sum of squares"):
        lessons.quiz("08.zero", 0.0)


def test_a_closure_that_keeps_old_gradients_is_pointed_at(images):
    content, style = images
    objective = make_objective(content, style)
    x = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, max_iter=1, history_size=20)

    def closure():  # no opt.zero_grad(): each call adds to the last one's gradient
        loss = objective(x)
        loss.backward()
        return loss

    for _ in range(STEPS):
        opt.step(closure)
        with torch.no_grad():
            x.clamp_(0, 1)
    with pytest.raises(AssertionError, match=r"opt\.zero_grad\(\)"):
        lessons.check_capstone(x.detach(), content, style, steps=STEPS, **WEIGHTS)
