"""Small things the lessons share: the lesson mode, self-checking exercises, lesson plots.

The numbers lessons measure results with live in :mod:`helpers.measures`.
"""
from __future__ import annotations

import math
import os

import torch

#: The three lesson settings, smallest first. quick: tiny images and few steps, for the tests
#: (seconds per lesson); demo: for a live class, every cell within about a minute on a laptop CPU
#: (and far less on a GPU); full: the sizes a learner reads the lessons at (bigger on a GPU).
MODES = ("quick", "demo", "full")
_TRUE = ("1", "true", "yes")


def mode() -> str:
    """The lesson setting, from the environment: ``NST_MODE=quick|demo|full`` (default full).

    ``NST_QUICK=1`` (what the test command sets) means quick whatever ``NST_MODE`` says.
    """
    if os.environ.get("NST_QUICK", "").strip().lower() in _TRUE:
        return "quick"
    raw = os.environ.get("NST_MODE", "").strip().lower()
    if raw == "":
        return "full"
    if raw not in MODES:
        raise ValueError(f"NST_MODE={raw!r} is not one of {MODES}; set it to one of them, or unset it")
    return raw


def quick() -> bool:
    """True in quick mode (``NST_QUICK=1`` or ``NST_MODE=quick``): tests and CI run every lesson small."""
    return mode() == "quick"


def size_scale() -> float:
    """Env ``NST_SIZE_SCALE`` (default 1): multiplies every lesson size, in every mode.

    The tests use it to run each lesson at a second size (asserts must not depend on size); a
    teacher can use it for bigger or smaller pictures without editing a notebook.
    """
    raw = os.environ.get("NST_SIZE_SCALE", "").strip()
    if raw == "":
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0.25 <= value <= 8):
        raise ValueError(f"NST_SIZE_SCALE={raw!r} must be a number from 0.25 to 8 (1 keeps the sizes)")
    return value


def lesson_settings(size: int = 512, steps: int = 300, *, quick_size: int = 64,
                    quick_steps: int = 10, demo_size: int | None = None, demo_steps: int | None = None,
                    gpu_scale: float = 1.0, device=None) -> dict:
    """Sizes and step counts for a lesson cell: the one place the lesson mode is decided.

    full (the default): ``size`` and ``steps``, the size times ``gpu_scale`` when a GPU is present
    (for cells that can afford bigger images there). demo (``NST_MODE=demo``): ``demo_size``
    (default ``size``) and ``demo_steps`` (default half of ``steps``), the size also times
    ``gpu_scale`` on a GPU, so each cell takes about a minute at most on a laptop CPU and a class on a
    GPU sees pictures big enough for a projector. quick (``NST_QUICK=1`` or ``NST_MODE=quick``):
    ``quick_size`` and ``quick_steps`` on every device, seconds per lesson under the tests.
    ``NST_SIZE_SCALE`` multiplies the size in every mode. Notebooks never branch on the mode
    themselves: they call this. -> {"size", "steps", "quick", "mode"}.
    """
    from .device import pick_device
    from .vgg import MIN_SIDE

    m = mode()
    if m == "quick":
        side, n = quick_size, quick_steps
    elif m == "demo":
        side = size if demo_size is None else demo_size
        n = max(quick_steps, steps // 2) if demo_steps is None else demo_steps
    else:
        side, n = size, steps
    grow = m != "quick" and gpu_scale != 1.0 and pick_device(device).type == "cuda"
    if grow:
        side *= gpu_scale
    k = size_scale()
    if not grow and m != "full" and k == 1.0:
        side = int(side)  # quick and demo sizes are used exactly as given (on a CPU)
    else:
        side = max(MIN_SIDE, int(round(side * k / 8)) * 8)
    return {"size": side, "steps": int(n), "quick": m == "quick", "mode": m}


def check(name: str, answer, expected, *, rtol: float = 1e-4, atol: float = 1e-8, hint: str = "") -> str:
    """Check an exercise answer: numbers, tensors or sequences close to ``expected`` (``rtol``, and
    ``atol`` for entries near zero: float32 sums on a 0-255 scale round at about 1e-5).

    An answer still left as ``...`` (or None) gets a nudge, not an error, so a lesson runs top to
    bottom before the learner has tried; a wrong answer raises AssertionError with the hint; a
    right one returns a short "correct" line. Solution cells call it too, so tests prove them.
    """
    def close(x, y):
        if isinstance(y, torch.Tensor) or isinstance(x, torch.Tensor):
            x, y = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
            return x.shape == y.shape and bool(torch.allclose(x.cpu(), y.cpu(), rtol=rtol, atol=atol))
        if isinstance(y, (list, tuple)):
            return isinstance(x, (list, tuple)) and len(x) == len(y) and all(map(close, x, y))
        if isinstance(y, (int, float)) and not isinstance(y, bool):
            return isinstance(x, (int, float)) and math.isclose(x, y, rel_tol=rtol, abs_tol=atol)
        return x == y

    if answer is None or answer is Ellipsis:
        return f"{name}: not answered yet - replace the ... above, or open the solution below"
    if not close(answer, expected):
        raise AssertionError(f"{name}: {answer!r} is not right. {hint}".strip())
    return f"{name}: correct"


def check_closure(name: str, closure, x: torch.Tensor, loss_fn, *, rtol: float = 1e-4,
                  hint: str = "") -> str:
    """Check an optimiser closure for the image ``x`` against ``loss_fn(x)`` (lesson 01).

    A closure for ``torch.optim.LBFGS`` must clear the old gradient, compute the loss, back-propagate
    it and return it. This calls ``closure`` twice and compares the returned loss with ``loss_fn(x)``
    and ``x.grad`` with the gradient autograd computes independently: a closure that forgets to
    zero the gradient doubles it on the second call. A closure that still returns None (its body
    is ``...``) gets a nudge, as ``check`` does.
    """
    if not callable(closure):
        raise AssertionError(f"{name}: {closure!r} is not a function; define it with def closure(): ...")
    if not x.requires_grad:
        raise ValueError(f"{name}: x must require gradients (x.requires_grad_(True)) for a closure to fill x.grad")
    with torch.enable_grad():
        want = loss_fn(x)
        (want_grad,) = torch.autograd.grad(want, x)
    x.grad = None
    got = [closure() for _ in range(2)]
    if any(g is None or g is Ellipsis for g in got):
        x.grad = None
        return f"{name}: not answered yet - the closure returns nothing; fill it in, or open the solution below"
    if x.grad is None:
        raise AssertionError(f"{name}: x.grad is still empty after the closure: call .backward() on the loss. {hint}".strip())
    value = float(got[-1].detach() if isinstance(got[-1], torch.Tensor) else got[-1])
    if not math.isclose(value, float(want.detach()), rel_tol=rtol):
        raise AssertionError(f"{name}: the closure returned {value:.6g}, the loss at x is {float(want.detach()):.6g}. {hint}".strip())
    scale = want_grad.norm().clamp_min(1e-30)
    err = float((x.grad - want_grad).norm() / scale)
    doubled = float((x.grad - 2 * want_grad).norm() / scale) < 1e-3
    x.grad = None
    if err > 1e-3:
        why = " It is twice the true one: clear the old gradient first (opt.zero_grad())." if doubled else ""
        raise AssertionError(f"{name}: x.grad is off by {err:.0%} of the true gradient.{why} {hint}".strip())
    return f"{name}: correct"


def setup(device=None) -> "torch.device":
    """The first cell of every lesson: versions, the device found, the lesson setting and how to change it."""
    import platform

    import torchvision

    from .device import pick_device

    dev = pick_device(device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or dev.type
    print(f"python {platform.python_version()} | torch {torch.__version__} | "
          f"torchvision {torchvision.__version__} | device: {dev} ({name})")
    if dev.type == "cpu":
        print("No GPU found: everything runs on the CPU, with lesson sizes chosen for that. "
              "On Colab: Runtime -> Change runtime type -> GPU.")
    m, k = mode(), size_scale()
    about = {"quick": "Quick mode (NST_QUICK=1 or NST_MODE=quick): tiny images and few steps, for tests - "
                      "pictures will look rough.",
             "demo": "Demo setting (NST_MODE=demo): every cell within about a minute on a laptop CPU, "
                     "seconds on a GPU - for a live class.",
             "full": "Full setting: the lessons' own sizes, bigger on a GPU."}[m]
    print(about + (f" Sizes x{k:g} (NST_SIZE_SCALE)." if k != 1 else ""))
    print("Change it with %env NST_MODE=quick|demo|full in a cell (or in the shell before starting "
          "Jupyter), then run the notebook again from the top.")
    return dev


def receptive_fields() -> dict[str, tuple[int, int]]:
    """Receptive field and stride, in input pixels, of every VGG19 layer (lesson 00).

    Walking forward: a 3x3 convolution (stride 1) widens the field by 2 * stride; a 2x2 pooling
    widens it by 1 * stride and then doubles the stride (the step, in pixels, between neighbouring
    units); ReLUs change neither. -> {"conv1_1": (3, 1), ..., "pool1": (6, 2), ..., "pool5": (268, 32)}.
    Centre units only: units near the border see zero padding for part of their field.
    """
    from .vgg import LAYER_NAMES

    rf, stride, out = 1, 1, {}
    for name in LAYER_NAMES:
        if name.startswith("conv"):
            rf += 2 * stride
        elif name.startswith("pool"):
            rf, stride = rf + stride, stride * 2
        out[name] = (rf, stride)
    return out


def show_feature_maps(feats, channels=4, size: float = 1.6):
    """A matplotlib Figure: one row per layer of ``feats``, one picture per channel.

    feats: layer name -> activations (1, C, H, W), as ``vgg(img, layers)`` returns them.
    channels: an int k (each layer's k channels with the largest mean activation) or a dict
    layer -> list of channel indices. Each picture is scaled to its own min..max (viridis).
    """
    import matplotlib.pyplot as plt

    picks = {}
    for name, F in feats.items():
        if isinstance(channels, int):
            picks[name] = F[0].float().mean(dim=(1, 2)).topk(min(channels, F.shape[1])).indices.tolist()
        else:
            picks[name] = list(channels[name])
    ncols = max(len(p) for p in picks.values())
    fig, axes = plt.subplots(len(picks), ncols, figsize=(size * ncols, size * len(picks)), squeeze=False)
    for row, (name, idx) in zip(axes, picks.items()):
        fmap = feats[name][0].detach().float().cpu()  # (C, H, W)
        for ax, c in zip(row, idx + [None] * (ncols - len(idx))):
            ax.set_axis_off()
            if c is not None:
                ax.imshow(fmap[c].numpy(), cmap="viridis")
                ax.set_title(f"{name} #{c}", fontsize=8)
    fig.tight_layout()
    return fig


def plot_losses(runs, x: str = "step", key: str = "total", ax=None, title: str | None = None):
    """Loss curves on a log axis: ``runs`` maps a label to a Result (or its ``history`` list).

    x: "step" or "seconds" (wall time on this device). key: a history entry ("total", "content",
    "style", "tv"). Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    if x not in ("step", "seconds"):
        raise ValueError(f"x={x!r} is not one of ('step', 'seconds')")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    for label, run in runs.items():
        history = getattr(run, "history", run)
        ax.plot([h[x] for h in history], [h[key] for h in history], label=label)
    ax.set_yscale("log")
    ax.set_xlabel("iteration" if x == "step" else "seconds on this device")
    ax.set_ylabel(f"{key} loss")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def paper_style_weight(ratio: float, image, reference: int = 512) -> float:
    """beta (with alpha = 1) that gives alpha/beta = ``ratio`` the balance it has at ``reference``^2 px.

    Gatys et al. quote alpha/beta for images of about 512 x 512 px. L_content (eq. 1) sums over
    the M_l positions of its layer, so it grows with the pixel count, while E_l (eq. 4) divides by
    M_l^2 and does not. An image with H * W pixels therefore needs beta = (H W / reference^2) / ratio
    for the same balance (lessons 03, 04). image: a tensor (..., H, W).
    """
    if not (isinstance(ratio, (int, float)) and ratio > 0):
        raise ValueError(f"ratio={ratio!r} must be a number > 0 (alpha/beta, e.g. 1e-3)")
    H, W = image.shape[-2:]
    return H * W / reference**2 / ratio


def reachable(url: str, timeout: float = 3.0) -> bool:
    """True when a TCP connection to ``url``'s host opens within ``timeout`` seconds (lesson 05).

    For sections that download something when online (Colab) and skip in one line offline (CI, a
    laptop on a train): the name lookup and the connection run in a daemon thread, so a machine
    whose network drops packets, or whose resolver never answers, waits ``timeout`` and no longer.
    """
    import socket
    import threading
    from urllib.parse import urlsplit

    parts = urlsplit(url if "//" in url else f"//{url}")
    if not parts.hostname:
        raise ValueError(f"url={url!r} names no host (e.g. 'https://download.pytorch.org')")
    port = parts.port or (80 if parts.scheme == "http" else 443)
    ok = threading.Event()

    def attempt():
        try:
            socket.create_connection((parts.hostname, port), timeout=timeout).close()
            ok.set()
        except OSError:
            pass

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(timeout)
    return ok.is_set()


def check_train_step(name: str, fn, *, rtol: float = 1e-3, hint: str = "") -> str:
    """Check a learner's style-net training step against :func:`helpers.training.train_step` (lesson 06).

    ``fn(net, opt, x, code, targets, vgg)`` must run the net on the crops ``x`` with the style code,
    compute the relative content loss at relu2_2 plus ``targets.weight`` times the relative style
    loss, back-propagate, update the weights and return the loss. Both versions take one step from
    the same small net on the same crops; the returned losses and the updated weights must agree.
    A function whose body is still ``...`` gets a nudge, as :func:`check` does.
    """
    from .images import load_image
    from .nets import StyleNet
    from .training import StyleTargets, train_step
    from .vgg import load_vgg19

    if not callable(fn):
        raise AssertionError(f"{name}: {fn!r} is not a function; define it with def train_step(...): ...")
    vgg = load_vgg19(device="cpu")
    x = torch.cat([load_image(p, size=64, device="cpu")[..., :40, :40] for p in ("coffee", "rocket")])
    targets = StyleTargets(vgg, "swirls", 96, 10.0, device="cpu")
    nets, losses = [], []
    for step in (fn, train_step):
        torch.manual_seed(0)
        net = StyleNet(["swirls"], channels=(8, 16, 16), n_res=1)
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        out = step(net, opt, x, net.codes[0], targets, vgg)
        nets.append(net)
        losses.append(out["total"] if isinstance(out, dict) else out)
    if losses[0] is None or losses[0] is Ellipsis:
        return f"{name}: not answered yet - fill in the function, or open the solution below"
    got, want = float(losses[0]), float(losses[1])
    if not math.isclose(got, want, rel_tol=rtol):
        raise AssertionError(f"{name}: your step's loss is {got:.5g}, the reference's {want:.5g}. {hint}".strip())
    moved = [float((a - b).detach().abs().max()) for a, b in zip(nets[0].parameters(), nets[1].parameters())]
    if max(moved) > 1e-4:
        torch.manual_seed(0)
        fresh = StyleNet(["swirls"], channels=(8, 16, 16), n_res=1)
        untouched = all(torch.equal(a, b) for a, b in zip(nets[0].parameters(), fresh.parameters()))
        why = " The weights did not move: call loss.backward() and opt.step()." if untouched else ""
        raise AssertionError(f"{name}: the loss is right but the weights differ from the reference's "
                             f"after the step (by up to {max(moved):.2g}).{why} {hint}".strip())
    return f"{name}: correct"


def quiz(key: str, answer, *given, rtol: float | None = None) -> str:
    """Check the answer to a lesson exercise ``key`` ("02.gram") whose answer the checker holds.

    The answers live in :mod:`helpers.answers`, so a notebook never shows one before the learner
    has tried. given: the notebook's inputs an answer depends on (the tensors an exercise names, a
    measurement the lesson printed); the checker computes the answer from them, and only once an
    answer is given. rtol overrides the exercise's own tolerance for numbers.
    """
    from .answers import exercises

    table = exercises()
    if key not in table:
        raise KeyError(f"no exercise {key!r}; known: {', '.join(sorted(table))}")
    ex = table[key]
    if answer is None or answer is Ellipsis:
        return check(ex.label, answer, None)
    expected = ex.answer(*given) if callable(ex.answer) else ex.answer
    if isinstance(answer, str):
        answer = answer.strip().lower()
    return check(ex.label, answer, expected, rtol=ex.rtol if rtol is None else rtol, atol=ex.atol,
                 hint=ex.hint)


def check_capstone(image, content, style, *, rtol: float = 0.05, name: str = "capstone",
                   **settings) -> str:
    """Check a hand-written style transfer against :func:`helpers.stylize` at the same settings (lesson 08).

    image: the result of the learner's loop, (1, 3, H, W) in [0, 1]; content, style: the tensors the
    loop used (the content at the result's size). settings: the ``stylize`` options the loop matched
    (``steps``, ``content_weight``, ``style_weight``, ...; otherwise the engine's defaults, so the
    relative objective). The checker runs ``stylize`` itself, in fp32 as a hand-written loop computes
    and as plain L-BFGS (``precondition=0``, as ``torch.optim.LBFGS`` is, whatever the engine's
    default), then scores both images under the engine's objective (the first history entry of a run
    started at each). It passes when the learner's total is at most ``1 + rtol`` times the engine's
    (a lower one passes too); otherwise it names the term that is off (content or style) and what to
    look at.
    Pixels outside [0, 1] fail before anything runs. An image still None (the loop's body is ``...``)
    gets a nudge, as :func:`check` does, and nothing runs: the engine's result is not shown before
    the learner has tried.
    """
    from .optimize import stylize

    if image is None or image is Ellipsis:
        return f"{name}: not answered yet - fill in the loop so that it returns the image, or open the solution below"
    if not isinstance(image, torch.Tensor):
        raise AssertionError(f"{name}: got {type(image).__name__}, not an image: return x.detach(), the "
                             "(1, 3, H, W) tensor your loop optimised")
    img = image.detach()
    if img.shape != content.shape:
        raise AssertionError(f"{name}: your image has shape {tuple(img.shape)}, the photo {tuple(content.shape)}: "
                             "optimise a copy of the photo, x = content.clone().requires_grad_(True)")
    if not bool(torch.isfinite(img).all()):
        raise AssertionError(f"{name}: your image holds NaN or inf: a step ran away - is the loss a single "
                             "finite number, and did you keep lr=1 with max_iter=1?")
    outside = (img < -1e-6) | (img > 1 + 1e-6)
    if bool(outside.any()):
        raise AssertionError(f"{name}: {float(outside.float().mean()):.1%} of the pixels lie outside [0, 1] "
                             f"(from {float(img.min()):.3f} to {float(img.max()):.3f}): after each opt.step, "
                             "clamp them back, with torch.no_grad(): x.clamp_(0, 1)")
    opts = {"precision": "fp32", "precondition": 0.0, "progress": False, "device": img.device, **settings}
    if opts.get("init", "content") == "content" and float((img - content.to(img.device)).abs().max()) < 1e-4:
        raise AssertionError(f"{name}: your image is still the photo: no step moved the pixels - does the loop "
                             "call opt.step(closure), and does the closure call loss.backward()?")
    reference = stylize(content, style, **opts)

    def terms(x):  # eq. 7's weighted terms at x, as the engine computes them
        first = stylize(content, style, **{**opts, "init": x, "steps": 1}).history[0]
        return first["content"], first["style"], first["total"]

    (cy, sy, ty), (cr, sr, tr) = terms(img), terms(reference.image.to(img.device))
    numbers = (f"your image scores {ty:.4g} under the engine's objective, nst.stylize's {tr:.4g} "
               f"({ty / tr - 1:+.1%}); content term {cy:.3g} vs {cr:.3g}, style term {sy:.3g} vs {sr:.3g}")
    if ty <= (1 + rtol) * tr:
        return f"{name}: correct - {numbers}"
    rc, rs = cy / max(cr, 1e-12), sy / max(sr, 1e-12)  # each term against the engine's
    start = reference.history[0]["total"] if reference.history else math.inf  # the loss at the start image
    if ty > start:
        why = (f"It is even above the loss at the start of the run ({start:.4g}): the steps went astray, or the "
               "loss you minimise is not the engine's objective. Does the closure clear the old gradient "
               "(opt.zero_grad()) before loss.backward()? Are the Gram matrices per position on both sides "
               "(nst.gram_matrix(F, normalize=True)), each term divided by its target's sum of squares?")
    elif rc > 1.1 and rc >= 1.3 * rs:
        why = ("Your picture gave up more of the photo than the engine's: is alpha * L_content in your "
               "total, divided by sum P^2, with P the photo's relu4_2 features?")
    elif rs > 1.1 and rs >= 1.3 * rc:
        why = ("Your picture carries less of the style: are the Gram matrices per position on both sides "
               "(nst.gram_matrix(F, normalize=True) for the painting's targets and for x's features), each "
               "layer's error divided by sum A^2, averaged over the five style layers, times beta?")
        if cy < 0.5 * cr:  # it also stayed much nearer the photo: perhaps it stopped early
            why += " It also stayed much nearer the photo: did the loop run all the steps?"
    elif rc > 1.1 and rs > 1.1:
        why = ("Both terms are well above the engine's: either the loss you minimise is not its objective "
               "(compare yours with section 1's formulas term by term - the Gram per position on both sides, "
               "each term divided by its target's sum of squares, alpha and beta as given), or the steps went "
               "astray (does the closure clear the old gradient, opt.zero_grad(), before loss.backward()?).")
    else:
        why = ("Both terms are a little higher: the optimisation did not get as far. Start from the photo, zero "
               "the gradient in the closure, and run as many opt.step(closure) calls as the engine's steps "
               "(torch.optim.LBFGS with lr=1, max_iter=1).")
    raise AssertionError(f"{name}: {numbers} - more than {rtol:.0%} above it. {why}")
