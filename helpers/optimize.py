"""The optimisation engine: gradient descent on pixels (Gatys et al. 2016).

``stylize`` is the one entry point; ``reconstruct_content`` and ``synthesize_texture`` are
``stylize`` with the style or the content term switched off. The engine takes and returns
tensors, reports progress through a callback and never prints, plots or touches files. Its options
live in :mod:`helpers.options`.
"""
from __future__ import annotations

import contextlib
import hashlib
import math
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as nnf

from . import color
from .device import pick_device, resolve_precision, seed_everything
from .errors import ImageError, OptionError
from .images import check_image, load_image
from .lbfgs import BoxLBFGS, spectral_preconditioner
from .losses import (content_loss, gram_matrix, relative_content_scale, relative_style_weights,
                     style_loss, tv_loss)
from .options import STYLE_LAYERS, Options, as_list, signature
from .records import Result, Stage, StopReason
from .vgg import MIN_SIDE, load_vgg19

#: L-BFGS keeps 2 * history image-sized vectors: 20 costs 480 MB at 1024^2 (vs 2.4 GB for torch's
#: default 100) and reaches the same loss within 1% at 300 steps (benchmarks/engine.py).
LBFGS_HISTORY = 20
#: "noise" init: uniform in 0.5 +- NOISE_AMPLITUDE / 2. Full-strength noise (amplitude 1) leaves
#: RGB speckle that VGG19 barely sees and so never removes (lesson 01 measures it); a quarter of
#: that gives the optimiser the same random start with little left over.
NOISE_AMPLITUDE = 0.25


class _Stop(Exception):
    def __init__(self, reason: StopReason):
        self.reason = reason


@dataclass
class _Problem:
    """Everything a stage's loss needs: the network, the layers it reads, and the loss terms.

    ``terms``: (name, weight, term) in the order records list them; ``term(x, feats)`` returns
    the unweighted term (a float32 scalar) for image x and its features, and enters eq. 7's total
    times ``weight``; a term of weight 0 is not computed and records 0. The history records, the
    studio's plot and its stats read the names from here, so a new term is one entry of
    :func:`_problem`'s list (and its ``<name>_weight`` option).
    """

    vgg: torch.nn.Module
    layers: tuple
    dtype: torch.dtype
    terms: list  # (name, weight, term(x, feats) -> scalar)

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Weighted loss terms for image x (1,3,H,W), each as it enters eq. 7's total, then "total"."""
        ctx = (torch.autocast(x.device.type, dtype=self.dtype) if self.dtype != torch.float32
               else contextlib.nullcontext())
        with ctx:
            feats = self.vgg(x, self.layers)
        zero = x.new_zeros((), dtype=torch.float32)
        out = {name: weight * term(x, feats) if weight else zero for name, weight, term in self.terms}
        out["total"] = sum(out.values(), zero)
        return out


def _fingerprint(t: torch.Tensor | None) -> str | None:
    if t is None:
        return None
    return hashlib.blake2b(t.detach().cpu().contiguous().numpy().tobytes(), digest_size=12).hexdigest()


def _cached(cache: dict | None, key: tuple, compute: Callable):
    """Look ``key`` up in the caller's ``cache`` dict (the studio's), computing on a miss."""
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _resize(img: torch.Tensor, long_side: int | None) -> torch.Tensor:
    """An already-checked image (1,3,H,W) resized to ``long_side`` (None: unchanged)."""
    H, W = img.shape[-2:]
    if long_side is None or max(H, W) == long_side:
        return img
    s = long_side / max(H, W)
    size = (max(1, round(H * s)), max(1, round(W * s)))
    return nnf.interpolate(img, size=size, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def _initial(init, content: torch.Tensor | None, style: torch.Tensor, shape, gen: torch.Generator):
    H, W = shape
    if isinstance(init, torch.Tensor):
        x = check_image(init, "init")
        return nnf.interpolate(x, size=(H, W), mode="bicubic", antialias=True).clamp(0, 1)
    if init == "noise" or content is None:
        return 0.5 + NOISE_AMPLITUDE * (torch.rand(1, 3, H, W, generator=gen) - 0.5)
    if init == "content":
        return content.clone()
    if init == "style":
        return nnf.interpolate(style, size=(H, W), mode="bicubic", antialias=True).clamp(0, 1)
    from torchvision.transforms.functional import gaussian_blur  # lazy: keeps process start fast

    sigma = max(H, W) / 64  # "blurred": keeps the layout, removes the detail style will redraw
    return gaussian_blur(content, kernel_size=2 * math.ceil(3 * sigma) + 1, sigma=sigma)


def _mask(m, i: int, device) -> torch.Tensor | None:
    """A style mask as (1, 1, H, W) float in [0, 1] on ``device`` (None stays None)."""
    if m is None:
        return None
    if isinstance(m, (str, bytes)) or hasattr(m, "__fspath__"):  # a mask drawn in a file
        m = load_image(m).mean(dim=1, keepdim=True)
    m = torch.as_tensor(m, dtype=torch.float32)
    if m.dim() < 2 or m.shape[:-2].numel() != 1:
        raise ImageError(f"masks[{i}]: expected an (H, W) or (1, 1, H, W) mask, got {tuple(m.shape)}")
    m = m.reshape(1, 1, *m.shape[-2:])
    if not torch.isfinite(m).all() or m.min() < 0 or m.max() > 1 or m.sum() == 0:
        raise ImageError(f"masks[{i}]: values must be finite, in [0, 1] and not all 0")
    return m.to(device)


def _check_images(content, style, o: Options, styles: list) -> None:
    if content is None and style is None:
        raise OptionError("give a content image, a style image, or both")
    if content is None and o.content_weight:
        raise OptionError("content=None needs content_weight=0 (texture synthesis)")
    if style is None and o.style_weight:
        raise OptionError("style=None needs style_weight=0 (content reconstruction)")
    if style is not None and not styles:
        raise OptionError("style=[]: give at least one style image (or style=None with style_weight=0)")
    if o.style_blend is not None and len(o.style_blend) != len(styles):
        raise OptionError(f"style_blend={list(o.style_blend)!r} needs one weight >= 0 per style "
                          f"({len(styles)})")
    if o.masks is not None and len(o.masks) != len(styles):
        raise OptionError(f"masks: give one mask (or None) per style image ({len(styles)})")


def stylize(content, style, **options) -> Result:
    """Neural style transfer: minimise alpha L_content + beta L_style (+ tv) over the pixels (eq. 7).

    content, style: anything ``load_image`` accepts (path, URL, embedded name, PIL, ndarray,
    tensor). ``style`` may be a list of images, mixed by ``style_blend`` weights (default equal),
    or placed by ``masks`` (one (H,W)/(1,1,H,W) mask in [0,1] or a mask image file per style; the
    style's Gram is matched over its region only). ``size``: long side in px of the result, or a
    coarse-to-fine schedule like (256, 512, 1024) where each stage starts from the upsampled
    previous result; ``steps`` is per stage. Every option, its default and its allowed values:
    :class:`helpers.options.Options`.

    objective="relative" (default) divides each content layer's eq. 1 and each style layer's E_l
    (eq. 4) by its value for all-zero features, so the content/style balance is the same at every
    image size and every coarse-to-fine stage; objective="paper" uses eqs. 1-7 exactly.
    callback(step, image, record) is called after every step with the image just scored (1,3,H,W)
    and its history record; return False to stop. ``cache``: a dict the caller keeps between runs
    so content features and style Grams are computed once (the studio passes one).
    Pixels are kept in [0, 1]: the L-BFGS is a box-constrained one (:mod:`helpers.lbfgs`), Adam's
    steps are clamped. Ctrl-C, a False from the callback, a callback that raises or a non-finite
    loss stop the run and return the best image so far, with ``stopped_reason`` saying which.
    """
    o = Options(**options)
    styles = [] if style is None else as_list(style)
    _check_images(content, style, o, styles)
    sizes, steps_list = o.sizes, o.steps_per_stage
    device = pick_device(o.device)
    dtype = resolve_precision(o.precision, device)
    gen = seed_everything(o.seed)
    vgg = load_vgg19(o.weights, o.pooling, device, padding=o.padding)

    top = max((s for s in sizes if s is not None), default=None)
    content_full = None if content is None else load_image(content, size=top, device=device)
    styles_full = [load_image(s, device=device) for s in styles]
    mask_list = [_mask(m, i, device) for i, m in enumerate(o.masks or [None] * len(styles))]
    blend = None
    if o.masks is None and len(styles) > 1:
        b = o.style_blend or [1.0] * len(styles)
        blend = [w / sum(b) for w in b]

    layers = tuple(dict.fromkeys((*(o.content_layers if o.content_weight else ()),
                                  *(o.style_layers if o.style_weight else ()))))
    base = (o.weights, o.pooling, o.padding, str(device))
    result = Result(image=torch.empty(0))
    t0 = time.perf_counter()
    x, retried, stage = None, False, 0
    while stage < len(sizes):
        # --- this stage's images; the output takes the content's shape (the style's without one)
        content_s = None if content_full is None else _resize(content_full, sizes[stage])
        H, W = (content_s if content_s is not None else _resize(styles_full[0], sizes[stage])).shape[-2:]
        long_side = max(H, W)
        style_side = max(MIN_SIDE, round(long_side * o.style_scale))
        styles_s = [_resize(s, style_side) for s in styles_full]
        if o.preserve_color == "histogram" and content_s is not None:
            styles_s = [color.match_color(s, content_s) for s in styles_s]
        elif o.preserve_color == "luminance":
            ref_y = color.luminance(content_s) if content_s is not None else None
            styles_s = [color.luminance(s) if ref_y is None else color.match_luminance(color.luminance(s), ref_y)
                        for s in styles_s]
            content_s = ref_y if content_s is not None else None
        # --- targets (computed once per stage; reused across runs through the caller's cache)
        content_targets = {}
        if o.content_weight:
            content_targets = _cached(o.cache, ("content", _fingerprint(content_s),
                                                         o.content_layers, *base),
                                      lambda: _features(vgg, content_s, o.content_layers))
        style_targets = []
        if o.style_weight:
            grams = [_cached(o.cache, ("style", _fingerprint(s), o.style_layers, *base),
                             lambda s=s: {n: gram_matrix(F, normalize=True)
                                          for n, F in _features(vgg, s, o.style_layers).items()})
                     for s in styles_s]
            if blend is not None:
                # Matching the blended Gram has the same gradient as the blend of the style losses
                grams = [{n: sum(w * g[n] for w, g in zip(blend, grams)) for n in o.style_layers}]
            style_targets = grams
        problem = _problem(o, vgg, content_targets, style_targets,
                           mask_list if o.masks is not None else [None] * len(style_targets),
                           layers, dtype, (H, W))
        if x is None:
            x = _initial(o.init, content_s, styles_s[0] if styles_s else None, (H, W), gen).to(device)
        else:
            x = nnf.interpolate(x, size=(H, W), mode="bicubic", align_corners=False).clamp(0, 1)
        kept = (len(result.history), len(result.snapshots))
        try:
            x, reason = _run_stage(problem, x, steps_list[stage], o, result, t0, stage)
        except torch.cuda.OutOfMemoryError:
            if retried:
                raise RuntimeError(f"out of GPU memory at {H}x{W} px even after one retry; "
                                   "pass a smaller size or a coarse-to-fine schedule") from None
            retried = True
            smaller = max(MIN_SIDE, int(long_side * 0.75))
            warnings.warn(f"out of GPU memory at {H}x{W} px; retrying once at long side {smaller} px")
            torch.cuda.empty_cache()
            del result.history[kept[0]:], result.snapshots[kept[1]:]  # nothing of the failed try
            sizes[stage] = smaller
            x = None if stage == 0 else result.image.to(device)
            continue
        if reason != StopReason.FINISHED:
            result.stopped_reason = reason
            break
        stage += 1
    if o.preserve_color == "luminance" and content_full is not None and result.image.numel():
        chroma = {}  # the content's colours at each stage's size, resized once per size

        def recolour(im):
            key = max(im.shape[-2:])
            if key not in chroma:
                chroma[key] = _resize(content_full, key).cpu()
            return color.combine_luminance(im, chroma[key])

        result.image = recolour(result.image)
        result.snapshots = [(s, recolour(im)) for s, im in result.snapshots]
    result.seconds = time.perf_counter() - t0
    return result


def _problem(o: Options, vgg, content_targets, style_targets, masks, layers, dtype, shape):
    """The stage's loss terms, normalised by the objective.

    objective="relative" divides each content layer by 1/2 sum P^2 and each style layer's E_l by
    sum A^2 / (4 N^2) (their values for all-zero features, :mod:`helpers.losses`), so every term is
    a relative error that does not grow or shrink with the image's size, and tv is a mean over the
    pixel values; "paper" uses eqs. 1 and 3-5 as written.
    """
    relative = o.objective == "relative"
    content_scale = {n: relative_content_scale(P) if relative else 1.0
                     for n, P in content_targets.items()}
    style_weights = [relative_style_weights(A, o.style_layer_weights) if relative
                     else (o.style_layer_weights or {n: 1.0 / len(A) for n in A}) for A in style_targets]
    tv_scale = 1.0 / (3 * shape[0] * shape[1]) if relative else 1.0

    def content(x, feats):  # eq. 1, per content layer
        return sum(content_scale[n] * content_loss(feats[n], P) for n, P in content_targets.items())

    def style(x, feats):  # eqs. 3-5, per style (or one blended), each in its mask's region
        return sum(style_loss(feats, A, w, m) for A, w, m in zip(style_targets, style_weights, masks))

    def tv(x, feats):
        return tv_scale * tv_loss(x)

    terms = [("content", o.content_weight, content), ("style", o.style_weight, style),
             ("tv", o.tv_weight, tv)]
    return _Problem(vgg, layers, dtype, terms)


@torch.no_grad()
def _features(vgg, img, layers) -> dict:
    """Target features of a fixed image: no autograd graph kept (inference only)."""
    return {n: F.detach() for n, F in vgg(img, tuple(layers)).items()}


def _run_stage(problem: _Problem, x: torch.Tensor, steps: int, o: Options, result: Result,
               t0: float, stage: int):
    """Optimise ``x`` for ``steps`` steps; record into ``result``. Returns (x, stopped_reason)."""
    from tqdm.auto import tqdm

    t_stage = time.perf_counter()
    x = x.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
    if o.optimizer == "lbfgs":
        pre = spectral_preconditioner(x.shape, o.precondition_power) if o.precondition_power else None
        opt = BoxLBFGS(x, history=LBFGS_HISTORY, first_step=0.01 * o.step_size, precondition=pre)
    else:
        opt = torch.optim.Adam([x], lr=o.step_size)
    terms = {}

    def closure():
        opt.zero_grad(set_to_none=True)
        t = problem.losses(x)
        t["total"].backward()
        terms.update(t)
        return t["total"].detach()

    first = result.history[-1]["step"] + 1 if result.history else 0
    # the best image is the one whose loss we measured lowest; until a step scores one, it is x
    best = {"loss": math.inf, "image": x.detach().clone(), "step": first}
    bar = tqdm(total=steps, desc=f"stylize {x.shape[-1]}x{x.shape[-2]}", disable=not o.progress,
               leave=False)
    reason = StopReason.FINISHED
    try:
        for i in range(steps):
            step = first + i
            before = x.detach().clone()  # the image this step's loss is measured on
            opt.step(closure)  # evaluates the loss at `before`, then moves x
            entry = {"step": step, "seconds": time.perf_counter() - t0, "stage": stage,
                     **{k: float(v.detach()) for k, v in terms.items()}}
            if not math.isfinite(entry["total"]):
                raise _Stop(StopReason.NON_FINITE)
            result.history.append(entry)
            if entry["total"] < best["loss"]:
                best.update(loss=entry["total"], image=before, step=step)
            if o.optimizer != "lbfgs":
                with torch.no_grad():
                    x.clamp_(0, 1)  # projection onto the valid pixel box
            if o.snapshot_every and (i + 1) % o.snapshot_every == 0:
                result.snapshots.append((step, before.cpu()))
            bar.update(1)
            bar.set_postfix(loss=f"{entry['total']:.3g}", refresh=False)
            if o.callback is not None:
                try:
                    go_on = o.callback(step, before, entry)
                except (KeyboardInterrupt, _Stop):
                    raise
                except Exception as e:  # a broken callback must not cost the run, nor pass unseen
                    result.error = e
                    warnings.warn(f"callback raised {type(e).__name__}: {e}; the run stopped at step "
                                  f"{step} and kept its best image (result.error holds the "
                                  f"exception). The callback's traceback:\n{traceback.format_exc()}",
                                  stacklevel=2)
                    raise _Stop(StopReason.CALLBACK_ERROR) from None
                if go_on is False:
                    raise _Stop(StopReason.CALLBACK)
        # the image after the last update has not been scored yet: score it, keep it if better
        with torch.no_grad():
            final = float(problem.losses(x)["total"])
        if math.isfinite(final) and final <= best["loss"]:
            best.update(loss=final, image=x.detach().clone(), step=first + steps)
    except _Stop as s:
        reason = s.reason
    except KeyboardInterrupt:
        reason = StopReason.INTERRUPTED
    finally:
        bar.close()
    result.best_step = best["step"]
    result.image = best["image"].cpu()
    result.loss = best["loss"]
    ran = sum(1 for h in result.history if h["stage"] == stage)
    result.stages.append(Stage(tuple(x.shape[-2:]), ran, best["step"], best["loss"],
                               time.perf_counter() - t_stage))
    return best["image"], reason


stylize.__signature__ = signature(("content", "style"))  # help(stylize) lists every option


def reconstruct_content(image, layer: str = "relu4_2", **options) -> Result:
    """Reconstruct ``image`` from its features at ``layer`` alone, starting from noise.

    ``stylize`` with style_weight=0 and init="noise" (overridable); other options as stylize's.
    """
    options.setdefault("init", "noise")
    return stylize(image, None, **{**options, "content_layers": (layer,), "style_weight": 0.0})


def synthesize_texture(style, layers: Sequence[str] = STYLE_LAYERS, **options) -> Result:
    """Synthesise a texture matching ``style``'s Gram matrices at ``layers``, from noise.

    ``stylize`` with content_weight=0 and init="noise"; ``size`` is the output's long side (the
    output takes the style image's aspect ratio). Other options as stylize's.
    """
    options.setdefault("init", "noise")
    return stylize(None, style, **{**options, "style_layers": tuple(layers), "content_weight": 0.0})
