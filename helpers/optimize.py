"""The optimisation engine: gradient descent on pixels (Gatys et al. 2016).

``stylize`` is the one entry point; ``reconstruct_content`` and ``synthesize_texture`` are
``stylize`` with the style or the content term switched off. The engine takes and returns
tensors, reports progress through a callback and never prints, plots or touches files.
"""
from __future__ import annotations

import contextlib
import hashlib
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as nnf

from . import color
from .device import pick_device, resolve_precision, seed_everything
from .images import ImageError, check_image, load_image
from .losses import content_loss, gram_matrix, style_loss, tv_loss
from .vgg import LAYER_NAMES, MIN_SIDE, POOLING, WEIGHTS, load_vgg19

INITS = ("content", "noise", "style", "blurred")
OPTIMIZERS = ("lbfgs", "adam")
PRESERVE_COLOR = (None, "luminance", "histogram")
#: L-BFGS: step length 1 with no line search, as in Gatys' and Johnson's implementations: one
#: forward+backward per iteration. torch's strong-Wolfe search spends >= 2 evaluations per
#: iteration when driven one iteration at a time (benchmarks/engine.py measures both).
#: Adam: 0.02 in [0, 1] pixel units (about 5 grey levels a step) reaches L-BFGS's loss in ~3x steps.
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}
#: L-BFGS keeps 2 * history image-sized vectors: 20 costs 480 MB at 1024^2 (vs 2.4 GB for torch's
#: default 100) and reaches the same loss within 1% at 300 steps (benchmarks/engine.py).
LBFGS_HISTORY = 20
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYERS = ("relu4_2",)


@dataclass
class Result:
    """What a run returns. image: (1,3,H,W) in [0,1] on the CPU, the lowest-loss image seen."""

    image: torch.Tensor
    history: list[dict] = field(default_factory=list)  # per step: step, seconds, total, content, style, tv
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)  # (step, image)
    seconds: float = 0.0
    stopped_reason: str = "finished"  # finished | callback | interrupted | non-finite loss
    best_step: int = 0
    sizes: list[tuple[int, int]] = field(default_factory=list)  # (H, W) of each stage

    @property
    def loss(self) -> float:
        """Total loss of the returned image (nan if no step ran)."""
        return min((h["total"] for h in self.history), default=math.nan)


class _Stop(Exception):
    def __init__(self, reason: str):
        self.reason = reason


@dataclass
class _Problem:
    """Everything a stage's loss needs: targets on the device, weights and layers."""

    vgg: torch.nn.Module
    content_targets: dict  # layer -> P (1, C, H, W)
    style_targets: list  # one dict layer -> A (1, N, N) per style (or one blended)
    style_masks: list  # one mask (1,1,H,W) or None per entry of style_targets
    content_weight: float
    style_weight: float
    tv_weight: float
    style_layer_weights: dict | None
    layers: tuple
    dtype: torch.dtype

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Weighted loss terms for image x (1,3,H,W): each as it enters eq. 1's total."""
        ctx = (torch.autocast(x.device.type, dtype=self.dtype) if self.dtype != torch.float32
               else contextlib.nullcontext())
        with ctx:
            feats = self.vgg(x, self.layers)
        zero = x.new_zeros((), dtype=torch.float32)
        lc = sum((content_loss(feats[n], P) for n, P in self.content_targets.items()), zero)
        ls = sum((style_loss(feats, A, self.style_layer_weights, m)
                  for A, m in zip(self.style_targets, self.style_masks)), zero)
        lt = tv_loss(x) if self.tv_weight else zero
        terms = {"content": self.content_weight * lc, "style": self.style_weight * ls,
                 "tv": self.tv_weight * lt}
        terms["total"] = terms["content"] + terms["style"] + terms["tv"]
        return terms


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
    return img if long_side is None else load_image(img, size=long_side, device=img.device)


def _initial(init, content: torch.Tensor | None, style: torch.Tensor, shape, gen: torch.Generator):
    H, W = shape
    if isinstance(init, torch.Tensor):
        x = check_image(init, "init")
        return nnf.interpolate(x, size=(H, W), mode="bicubic", antialias=True).clamp(0, 1)
    if init == "noise" or content is None:
        return torch.rand(1, 3, H, W, generator=gen)
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
    m = torch.as_tensor(m, dtype=torch.float32)
    if m.dim() < 2 or m.shape[:-2].numel() != 1:
        raise ImageError(f"masks[{i}]: expected an (H, W) or (1, 1, H, W) mask, got {tuple(m.shape)}")
    m = m.reshape(1, 1, *m.shape[-2:])
    if not torch.isfinite(m).all() or m.min() < 0 or m.max() > 1 or m.sum() == 0:
        raise ImageError(f"masks[{i}]: values must be finite, in [0, 1] and not all 0")
    return m.to(device)


def _check_options(content, style, init, optimizer, preserve_color, weights, pooling, content_layers,
                   style_layers, steps, content_weight, style_weight, tv_weight, style_scale):
    """Refuse bad options at the door, naming the argument and the allowed values."""
    def allowed(name, value, choices):
        if value not in choices:
            raise ValueError(f"{name}={value!r} is not one of {choices}")
    if not isinstance(init, torch.Tensor):
        allowed("init", init, INITS)
    allowed("optimizer", optimizer, OPTIMIZERS)
    allowed("preserve_color", preserve_color, PRESERVE_COLOR)
    allowed("weights", weights, WEIGHTS)
    allowed("pooling", pooling, POOLING)
    for name, layers in (("content_layers", content_layers), ("style_layers", style_layers)):
        bad = [n for n in layers if n not in LAYER_NAMES]
        if bad:
            raise ValueError(f"{name}: unknown layer(s) {bad}; names are {', '.join(LAYER_NAMES)}")
    for name, v in (("content_weight", content_weight), ("style_weight", style_weight),
                    ("tv_weight", tv_weight)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise ValueError(f"{name}={v!r} must be a finite number >= 0")
    if not (isinstance(style_scale, (int, float)) and 0 < style_scale <= 8):
        raise ValueError(f"style_scale={style_scale!r} must be a number in (0, 8]")
    if any(not isinstance(s, int) or s < 0 for s in steps):
        raise ValueError(f"steps={steps!r} must be a whole number >= 0 (or one per size stage)")
    if content is None and content_weight:
        raise ValueError("content=None needs content_weight=0 (texture synthesis)")
    if style is None and style_weight:
        raise ValueError("style=None needs style_weight=0 (content reconstruction)")
    if content is None and style is None:
        raise ValueError("give a content image, a style image, or both")


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def stylize(content, style, *, content_weight: float = 1.0, style_weight: float = 1e3,
            tv_weight: float = 0.0, content_layers: Sequence[str] = CONTENT_LAYERS,
            style_layers: Sequence[str] = STYLE_LAYERS, style_layer_weights: dict | None = None,
            size: int | Sequence[int] | None = None, style_scale: float = 1.0,
            style_blend: Sequence[float] | None = None, masks: Sequence | None = None,
            init="content", optimizer: str = "lbfgs", steps: int | Sequence[int] = 300,
            lr: float | None = None, weights: str = "caffe", pooling: str = "max",
            preserve_color: str | None = None, precision: str | None = None, seed: int = 0,
            device=None, callback: Callable | None = None, snapshot_every: int = 0,
            progress: bool = True, cache: dict | None = None) -> Result:
    """Neural style transfer: minimise alpha L_content + beta L_style (+ tv) over the pixels (eq. 1).

    content, style: anything ``load_image`` accepts (path, URL, embedded name, PIL, ndarray,
    tensor). ``style`` may be a list of images, mixed by ``style_blend`` weights (default equal),
    or placed by ``masks`` (one (H,W)/(1,1,H,W) mask in [0,1] per style; the style's Gram is matched
    over its region only). ``size``: long side in px of the result, or a coarse-to-fine schedule
    like (256, 512, 1024) where each stage starts from the upsampled previous result; ``steps`` is
    per stage (an int or one per stage). None keeps the content's size. ``style_scale`` sizes the
    style image relative to the content (0.5 -> strokes half as big).
    init: "content" | "noise" (seeded uniform) | "style" | "blurred" (blurred content) | a tensor.
    optimizer: "lbfgs" | "adam"; lr None -> DEFAULT_LR. preserve_color: None | "luminance" (transfer
    on luma, keep content chroma) | "histogram" (recolour the style to the content's colour
    statistics first). precision: None (per-device default) | "fp32" | "bf16" | "fp16" for the VGG
    pass; losses and Grams stay float32.
    callback(step, image, losses) is called after every step with the current image (1,3,H,W) and
    that step's history entry; return False to stop. ``cache``: a dict the caller keeps between runs
    so content features and style Grams are computed once (the studio passes one).
    Pixels are kept in [0, 1] by projecting (clamping) after every optimiser step.
    Ctrl-C, a False from the callback or a non-finite loss stop the run and return the best image
    so far, with ``stopped_reason`` saying which.
    """
    sizes = _as_list(size)
    steps_list = _as_list(steps)
    if len(steps_list) == 1:
        steps_list = steps_list * len(sizes)
    if len(steps_list) != len(sizes):
        raise ValueError(f"steps={steps!r} must be one number or one per size stage ({len(sizes)})")
    styles = [] if style is None else _as_list(style)
    _check_options(content, style, init, optimizer, preserve_color, weights, pooling, content_layers,
                   style_layers, steps_list, content_weight, style_weight, tv_weight, style_scale)
    if any(s is not None and (not isinstance(s, int) or s < MIN_SIDE) for s in sizes):
        raise ImageError(f"size={size!r}: each size must be a whole number of pixels >= {MIN_SIDE}")
    if style_blend is not None and (len(style_blend) != len(styles) or min(style_blend) < 0
                                    or sum(style_blend) <= 0):
        raise ValueError(f"style_blend={style_blend!r} needs one weight >= 0 per style ({len(styles)})")
    if masks is not None and len(masks) != len(styles):
        raise ValueError(f"masks: give one mask (or None) per style image ({len(styles)})")
    device = pick_device(device)
    dtype = resolve_precision(precision, device)
    gen = seed_everything(seed)
    vgg = load_vgg19(weights, pooling, device)
    lr = DEFAULT_LR[optimizer] if lr is None else lr

    top = max((s for s in sizes if s is not None), default=None)
    content_full = None if content is None else load_image(content, size=top, device=device)
    styles_full = [load_image(s, device=device) for s in styles]
    mask_list = [_mask(m, i, device) for i, m in enumerate(masks or [None] * len(styles))]
    blend = None
    if style_blend is not None and masks is None:
        blend = [b / sum(style_blend) for b in style_blend]

    layers = tuple(dict.fromkeys((*(content_layers if content_weight else ()),
                                  *(style_layers if style_weight else ()))))
    if not layers:
        raise ValueError("content_weight and style_weight are both 0: nothing to optimise")
    base = (weights, pooling, str(device))
    result = Result(image=torch.empty(0))
    t0 = time.perf_counter()
    x, retried, stage = None, False, 0
    while stage < len(sizes):
        # --- this stage's images; the output takes the content's shape (the style's without one)
        content_s = None if content_full is None else _resize(content_full, sizes[stage])
        H, W = (content_s if content_s is not None else _resize(styles_full[0], sizes[stage])).shape[-2:]
        long_side = max(H, W)
        style_side = max(MIN_SIDE, round(long_side * style_scale))
        styles_s = [_resize(s, style_side) for s in styles_full]
        if preserve_color == "histogram" and content_s is not None:
            styles_s = [color.match_color(s, content_s) for s in styles_s]
        elif preserve_color == "luminance":
            ref_y = color.luminance(content_s) if content_s is not None else None
            styles_s = [color.luminance(s) if ref_y is None else color.match_luminance(color.luminance(s), ref_y)
                        for s in styles_s]
            content_s = ref_y if content_s is not None else None
        # --- targets (computed once per stage; reused across runs through the caller's cache)
        content_targets = {}
        if content_weight:
            content_targets = _cached(cache, ("content", _fingerprint(content_s), tuple(content_layers), *base),
                                      lambda: _features(vgg, content_s, content_layers))
        style_targets = []
        if style_weight:
            grams = [_cached(cache, ("style", _fingerprint(s), tuple(style_layers), *base),
                             lambda s=s: {n: gram_matrix(F, normalize=True)
                                          for n, F in _features(vgg, s, style_layers).items()})
                     for s in styles_s]
            if blend is not None or (masks is None and len(grams) > 1):
                b = blend or [1 / len(grams)] * len(grams)
                # Matching the blended Gram has the same gradient as the blend of the style losses
                grams = [{n: sum(w * g[n] for w, g in zip(b, grams)) for n in style_layers}]
            style_targets = grams
        problem = _Problem(vgg, content_targets, style_targets,
                           mask_list if masks is not None else [None] * len(style_targets),
                           content_weight, style_weight, tv_weight, style_layer_weights, layers, dtype)
        if x is None:
            x = _initial(init, content_s, styles_s[0] if styles_s else None, (H, W), gen).to(device)
        else:
            x = nnf.interpolate(x, size=(H, W), mode="bicubic", align_corners=False).clamp(0, 1)
        try:
            x, reason = _run_stage(problem, x, steps_list[stage], optimizer, lr, result, t0,
                                   callback, snapshot_every, progress, stage)
        except torch.cuda.OutOfMemoryError:
            if retried:
                raise RuntimeError(f"out of GPU memory at {H}x{W} px even after one retry; "
                                   "pass a smaller size or a coarse-to-fine schedule") from None
            retried = True
            smaller = max(MIN_SIDE, int(long_side * 0.75))
            warnings.warn(f"out of GPU memory at {H}x{W} px; retrying once at long side {smaller} px")
            torch.cuda.empty_cache()
            sizes[stage] = smaller
            x = None if stage == 0 else x
            continue
        result.sizes.append((H, W))
        if reason != "finished":
            result.stopped_reason = reason
            break
        stage += 1
    if preserve_color == "luminance" and content_full is not None and result.image.numel():
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


@torch.no_grad()
def _features(vgg, img, layers) -> dict:
    """Target features of a fixed image: no autograd graph kept (inference only)."""
    return {n: F.detach() for n, F in vgg(img, tuple(layers)).items()}


def _run_stage(problem: _Problem, x: torch.Tensor, steps: int, optimizer: str, lr: float,
               result: Result, t0: float, callback, snapshot_every: int, progress: bool, stage: int):
    """Optimise ``x`` for ``steps`` steps; record into ``result``. Returns (x, stopped_reason)."""
    from tqdm.auto import tqdm

    x = x.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
    if optimizer == "lbfgs":
        opt = torch.optim.LBFGS([x], lr=lr, max_iter=1, history_size=LBFGS_HISTORY,
                                tolerance_grad=0.0, tolerance_change=0.0)
    else:
        opt = torch.optim.Adam([x], lr=lr)
    terms, scale = {}, []

    def closure():
        opt.zero_grad(set_to_none=True)
        t = problem.losses(x)
        if not scale:
            # L-BFGS sees the objective divided by its first value. On the raw Caffe-scale loss
            # (~1e13) float32 L-BFGS with step length 1 diverges from a content init; scaled to
            # ~1 it converges (benchmarks/engine.py). Adam is scale-invariant: it gets the raw loss.
            scale.append(1.0 / max(float(t["total"].detach()), 1e-30) if optimizer == "lbfgs" else 1.0)
        (t["total"] * scale[0]).backward()
        terms.update(t)
        return t["total"].detach() * scale[0]

    first = result.history[-1]["step"] + 1 if result.history else 0
    # the best image is the one whose loss we measured lowest; until a step scores one, it is x
    best = {"loss": math.inf, "image": x.detach().clone(), "step": first}
    bar = tqdm(total=steps, desc=f"stylize {x.shape[-1]}x{x.shape[-2]}", disable=not progress,
               leave=False)
    reason = "finished"
    try:
        for i in range(steps):
            step = first + i
            before = x.detach().clone()  # the image this step's loss is measured on
            opt.step(closure)  # evaluates the loss at `before`, then moves x
            entry = {"step": step, "seconds": time.perf_counter() - t0, "stage": stage,
                     **{k: float(v.detach()) for k, v in terms.items()}}
            if not math.isfinite(entry["total"]):
                raise _Stop("non-finite loss")
            result.history.append(entry)
            if entry["total"] < best["loss"]:
                best.update(loss=entry["total"], image=before, step=step)
            with torch.no_grad():
                x.clamp_(0, 1)  # projection onto the valid pixel box
            if snapshot_every and (i + 1) % snapshot_every == 0:
                result.snapshots.append((step, before.cpu()))
            bar.update(1)
            bar.set_postfix(loss=f"{entry['total']:.3g}", refresh=False)
            if callback is not None and callback(step, before, entry) is False:
                raise _Stop("callback")
        # the image after the last update has not been scored yet: score it, keep it if better
        with torch.no_grad():
            final = float(problem.losses(x)["total"])
        if math.isfinite(final) and final <= best["loss"]:
            best.update(loss=final, image=x.detach().clone(), step=first + steps)
    except _Stop as s:
        reason = s.reason
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        bar.close()
    result.best_step = best["step"]
    result.image = best["image"].cpu()
    return best["image"], reason


def reconstruct_content(image, layer: str = "relu4_2", **options) -> Result:
    """Reconstruct ``image`` from its features at ``layer`` alone, starting from white noise.

    ``stylize`` with style_weight=0 and init="noise" (overridable); other options as stylize's.
    """
    options.setdefault("init", "noise")
    return stylize(image, None, content_layers=(layer,), style_weight=0.0, **options)


def synthesize_texture(style, layers: Sequence[str] = STYLE_LAYERS, **options) -> Result:
    """Synthesise a texture matching ``style``'s Gram matrices at ``layers``, from white noise.

    ``stylize`` with content_weight=0 and init="noise"; ``size`` is the output's long side (the
    output takes the style image's aspect ratio). Other options as stylize's.
    """
    options.setdefault("init", "noise")
    return stylize(None, style, style_layers=tuple(layers), content_weight=0.0, **options)
