"""Training the feed-forward nets on the perceptual losses: the multi-style net, a new style, x4 SR.

Every loop here is Adam on a network's weights over random crops of photos, with the losses of
:mod:`helpers.losses` computed through VGG19 (Johnson et al. 2016). The style loss is the
engine's own *relative* objective (:func:`helpers.losses.relative_style_weights`), so a style
weight that works for :func:`helpers.stylize` on one photo is a fair first guess for a net.

Long runs survive being stopped: :class:`Checkpoint` keeps the net, Adam's moments, the step and
the history in one file written atomically; ``train_styles(..., checkpoint=path)`` resumes from
it, and saves it every ``save_every`` steps, at the end, and when the process gets SIGTERM or
Ctrl-C. VGG and the net run under bf16 autocast where the device computes bf16 natively
(``precision=None``); Gram matrices and losses stay fp32.
"""
from __future__ import annotations

import contextlib
import math
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
import torch.nn.functional as nnf

from .device import default_precision, pick_device, resolve_precision, seed_everything
from .errors import OptionError
from .images import load_image
from .losses import (content_loss, gram_matrix, relative_content_scale, relative_style_weights,
                     style_loss, tv_loss)
from .nets import STYLE_NET, CondInstanceNorm, SRNet, Style, StyleNet, _whole, downsample, load_net
from .vgg import load_vgg19

CONTENT_LAYER = "relu2_2"  # Johnson et al.'s: keeps layout and edges, frees colour and texture
#: Style loss to relu4_1, as Johnson et al., texture nets and AdaIN: relu5_1 costs a third of the
#: VGG pass and its receptive field is larger than a training crop.
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
SR_LOSSES = ("pixel", "feature")
#: SR feature loss: relu2_2 as Johnson et al., taken *before* its ReLU (conv2_2) as ESRGAN does:
#: a ReLU zeroes the negative half, whose gradient would otherwise pull detail back.
SR_LAYER = "conv2_2"


def _autocast(device: torch.device, precision):
    dtype = resolve_precision(precision if precision is not None else default_precision(device), device)
    return (torch.autocast(device.type, dtype=dtype) if dtype != torch.float32
            else contextlib.nullcontext())


def photos_of(photos, device) -> list[torch.Tensor]:
    """Training photos as a list of (1,3,H,W) tensors in [0,1] (anything load_image accepts)."""
    if isinstance(photos, (str, torch.Tensor)) or not len(photos):
        raise OptionError("photos must be a non-empty list of images (paths, embedded names, tensors ...)")
    return [load_image(p, device=device) for p in photos]


def random_crops(photos: Sequence[torch.Tensor], n: int, size: int, gen: torch.Generator,
                 long_side: tuple[int, int] = (256, 512)) -> torch.Tensor:
    """``n`` random ``size``-px crops, each from a random photo resized to a random long side, maybe flipped.

    photos: (1,3,H,W) in [0,1]. ``long_side``: the range the photo's long side is drawn from, the
    sizes the nets are meant to be used at: a crop then holds as much of a scene as the same
    square of a photo of that size does (never below the crop). -> (n, 3, size, size)
    """
    out = []
    for _ in range(n):
        p = photos[int(torch.randint(len(photos), (1,), generator=gen))]
        H, W = p.shape[-2:]
        s = float(torch.empty(1).uniform_(*long_side, generator=gen)) / max(H, W)
        s = max(s, size / min(H, W))
        h, w = max(size, round(H * s)), max(size, round(W * s))
        q = nnf.interpolate(p, size=(h, w), mode="bilinear", antialias=s < 1, align_corners=False)
        y = int(torch.randint(h - size + 1, (1,), generator=gen))
        x = int(torch.randint(w - size + 1, (1,), generator=gen))
        q = q[..., y:y + size, x:x + size]
        if torch.rand(1, generator=gen) < 0.5:
            q = q.flip(-1)
        out.append(q)
    return torch.cat(out).clamp(0, 1)  # (n, 3, size, size)


class StyleTargets:
    """One style's targets: Grams per position of the style image and their relative weights."""

    def __init__(self, vgg, style, size: int, weight: float, layers=STYLE_LAYERS, device=None):
        img = load_image(style, size=size, device=device)
        with torch.no_grad():
            self.A = {n: gram_matrix(F, normalize=True) for n, F in vgg(img, tuple(layers)).items()}
        self.w = relative_style_weights(self.A)
        self.weight = float(weight)

    def loss(self, feats) -> torch.Tensor:
        """Relative L_style (eqs. 3-5), averaged over the batch."""
        B = next(iter(feats.values())).shape[0]
        return style_loss({n: feats[n] for n in self.A}, self.A, self.w) / B


def perceptual_losses(vgg, net_out, photo_feats, targets: StyleTargets, *, content_weight=1.0,
                      tv_weight=0.0, content_layer=CONTENT_LAYER, autocast=None) -> dict:
    """The training loss of a style net: content (relative eq. 1 at ``content_layer``) + style + TV.

    net_out: (B,3,H,W) the net's output; photo_feats: the photos' features at content_layer.
    """
    layers = tuple(dict.fromkeys([content_layer, *targets.A]))
    with autocast or contextlib.nullcontext():
        feats = vgg(net_out, layers)
    P = photo_feats
    lc = content_loss(feats[content_layer], P) * relative_content_scale(P)
    ls = targets.loss(feats)
    lt = tv_loss(net_out) / net_out.numel()
    total = content_weight * lc + targets.weight * ls + tv_weight * lt
    return {"total": total, "content": lc, "style": ls, "tv": lt}


class PeakPenalty:
    """The *droplet* penalty: how far a net's normalised features stick out beyond ``tau`` std devs.

    Instance norm divides each feature map by its own standard deviation, so a net can shrink
    everything else a norm layer sees by growing one sharp peak: the peak dominates the variance.
    Karras et al. (2020, StyleGAN2) traced the "droplets" in StyleGAN's pictures to this; in the
    style net the peak grows through the residual blocks until it shows as a round spot in the
    output. While the context is open, every :class:`CondInstanceNorm` of ``net`` but the first
    (the photo's own edges) and the skip adds ``mean(relu(|z| - tau)^2)`` of its normalised input
    z; :attr:`value` is their mean over layers (0 when no feature passes tau).
    """

    def __init__(self, net: StyleNet, tau: float = 5.0):
        self.tau, self.terms, self.hooks = float(tau), [], []
        self.layers = [m for m in net.modules() if isinstance(m, CondInstanceNorm)
                       and m is not net.skip and m is not net.down[0].norm]

    def _hook(self, module, inputs, output):
        z = nnf.instance_norm(inputs[0].float())  # (B, C, H, W), each map to mean 0, std 1
        self.terms.append((z.abs() - self.tau).relu().pow(2).mean())

    def __enter__(self):
        self.terms = []
        self.hooks = [m.register_forward_hook(self._hook) for m in self.layers]
        return self

    def __exit__(self, *exc):
        for h in self.hooks:
            h.remove()

    @property
    def value(self) -> torch.Tensor:
        return torch.stack(self.terms).mean() if self.terms else torch.zeros(())


def train_step(net, opt, x: torch.Tensor, code: torch.Tensor, targets: StyleTargets, vgg, *,
               content_weight: float = 1.0, tv_weight: float = 0.0, autocast=None,
               peak_weight: float = 0.0, peak_tau: float = 5.0) -> dict:
    """One training step of a style net: forward, perceptual loss, backward, update.

    x: (B,3,H,W) photo crops in [0,1]; code: the style's code (D,), a row of ``net.codes`` or a
    free tensor (``fit_style``); ``opt`` holds whatever is being trained. ``peak_weight`` > 0 adds
    :class:`PeakPenalty` (term "peak"). Returns the loss terms (tensors, detached). Lesson 06 has
    the learner write this function (without the penalty) and compares it with this one.
    """
    with torch.no_grad(), autocast or contextlib.nullcontext():
        P = vgg(x, (CONTENT_LAYER,))[CONTENT_LAYER]  # the photos' own features: the content target
    peaks = PeakPenalty(net, peak_tau) if peak_weight > 0 else contextlib.nullcontext()
    with autocast or contextlib.nullcontext(), peaks:
        y = net(x, code)
    terms = perceptual_losses(vgg, y.float(), P, targets, content_weight=content_weight,
                              tv_weight=tv_weight, autocast=autocast)
    if peak_weight > 0:
        terms["peak"] = peaks.value
        terms["total"] = terms["total"] + peak_weight * terms["peak"]
    opt.zero_grad(set_to_none=True)
    terms["total"].backward()
    opt.step()
    return {k: v.detach() for k, v in terms.items()}


class Checkpoint:
    """A training run's state in one file: net, optimiser, step, history, data RNG; atomic writes."""

    def __init__(self, path):
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.is_file()

    def save(self, net, opt, step: int, history: list, gen: torch.Generator, meta: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        torch.save({"class": type(net).__name__, "config": net.config, "net": net.state_dict(),
                    "opt": opt.state_dict(), "step": step, "history": history,
                    "rng": gen.get_state(), "meta": meta}, tmp)
        tmp.replace(self.path)

    def load(self) -> dict:
        try:
            return torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as e:
            raise OptionError(f"{str(self.path)!r} is not a readable training checkpoint "
                              f"({type(e).__name__}: {e}); delete it or pass another path") from None


class _StopSignal:
    """Turns SIGTERM (and SIGINT) into a flag the loop checks between steps, so it can save first."""

    def __init__(self):
        self.stop, self.old = False, {}

    def __enter__(self):
        try:
            for sig in (signal.SIGTERM, signal.SIGINT):
                self.old[sig] = signal.signal(sig, self._set)
        except ValueError:  # not the main thread: no handlers; Ctrl-C still raises
            pass
        return self

    def _set(self, *_):
        self.stop = True

    def __exit__(self, *exc):
        for sig, h in self.old.items():
            signal.signal(sig, h)


def _phases(old: dict | None, meta: dict, start: int) -> list[dict]:
    """The run's settings over its life: one entry per change of settings, each with its first step.

    A resumed run may change crop, batch, learning rate or style weights; the record keeps every
    phase so the shipped net says how it was really trained.
    """
    settings = {k: v for k, v in meta.items() if k != "phases"}
    if old is None:
        return [{"from_step": 0, **settings}]
    phases = list(old.get("phases") or [{"from_step": 0, **{k: v for k, v in old.items() if k != "phases"}}])
    last = {k: v for k, v in phases[-1].items() if k != "from_step"}
    return phases if last == settings else [*phases, {"from_step": start, **settings}]


def train_styles(styles: Mapping[str, dict], photos, *, steps: int, checkpoint=None,
                 save_every: int = 200, seconds: float | None = None, batch: int = 4, size: int = 128,
                 lr: float = 1e-3, content_weight: float = 1.0, tv_weight: float = 0.0,
                 channels=(16, 32, 64), n_res: int = 5, long_side=(256, 512), precision=None,
                 seed: int = 0, device=None, callback: Callable | None = None,
                 on_save: Callable | None = None, net: StyleNet | None = None,
                 peak_weight: float = 0.0, peak_tau: float = 5.0) -> StyleNet:
    """Train one :class:`StyleNet` for several styles at once (Dumoulin et al. 2017), resumably.

    styles: name -> {"image": anything load_image takes, "size": the style image's long side in
    px, "weight": its style weight}. Each step takes ``batch`` crops of ``photos`` and one style, in
    rotation, and minimises :func:`perceptual_losses` with Adam. ``steps``: the total to reach
    (a resumed run continues from its checkpoint's step). ``checkpoint``: a file saved every
    ``save_every`` steps, at the end and on SIGTERM/Ctrl-C, and resumed from when it exists.
    ``seconds``: stop after this much wall time (then save). ``callback(step, net, record)``:
    return False to stop; ``on_save(net, history)`` runs after each save (e.g. to export the net).
    ``net``: start from this net's weights (a copy; its styles and widths win over ``channels``
    and ``n_res``) instead of a fresh one. ``peak_weight``, ``peak_tau``: the droplet penalty
    (:class:`PeakPenalty`), off by default. Returns the net in eval mode with ``net.history``, one
    record per step: step, seconds, style_name, total, content, style, tv (and peak, with the penalty).
    """
    _whole("steps", steps, 0), _whole("batch", batch, 1), _whole("size", size, 32)
    device = pick_device(device)
    vgg = load_vgg19(device=device).requires_grad_(False)  # before seeding: a first load draws from the RNG
    gen = seed_everything(seed)
    names = list(styles)
    targets = [StyleTargets(vgg, s["image"], s["size"], s["weight"], device=device) for s in styles.values()]
    imgs = photos_of(photos, device)
    if net is not None:
        start_from = net
        net = StyleNet(**start_from.config)
        net.load_state_dict(start_from.state_dict())
        if net.styles != names:
            raise OptionError(f"net carries styles {net.styles}, training asks for {names}: give the same, in order")
    else:
        net = StyleNet(names, channels, n_res)
    net = net.to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    ckpt = Checkpoint(checkpoint) if checkpoint else None
    start, history, elapsed, state = 0, [], 0.0, None
    if ckpt is not None and ckpt.exists():
        state = ckpt.load()
        if state["config"] != net.config:
            raise OptionError(f"checkpoint {str(ckpt.path)!r} is of a net with {state['config']}, not "
                              f"{net.config}: resume with the same styles and widths, or another path")
        net.load_state_dict(state["net"]), opt.load_state_dict(state["opt"])
        for group in opt.param_groups:  # Adam's saved state carries the old rate: this phase's wins
            group["lr"] = lr
        start, history = int(state["step"]), list(state["history"])
        gen.set_state(state["rng"])
        elapsed = history[-1]["seconds"] if history else 0.0
    meta = {"styles": {n: {"size": s["size"], "weight": s["weight"]} for n, s in styles.items()},
            "batch": batch, "crop": size, "lr": lr, "long_side": list(long_side),
            "content_weight": content_weight, "tv_weight": tv_weight}
    if peak_weight > 0:  # recorded only when used, so earlier phases' records stay as they were
        meta.update(peak_weight=peak_weight, peak_tau=peak_tau)
    meta["phases"] = _phases(state.get("meta") if state else None, meta, start)
    net.training_meta = meta  # what on_save may record beside the net
    cast = _autocast(device, precision)

    def save(step):
        if ckpt is not None:
            ckpt.save(net, opt, step, history, gen, meta)
        if on_save is not None:
            on_save(net, history)

    t0 = time.perf_counter() - elapsed
    step = start
    net.train()
    with _StopSignal() as stop:
        while step < steps and not stop.stop and not (seconds and time.perf_counter() - t0 - elapsed > seconds):
            k = step % len(names)
            x = random_crops(imgs, batch, size, gen, long_side).to(device)  # (B, 3, size, size)
            terms = train_step(net, opt, x, net.codes[k], targets[k], vgg, content_weight=content_weight,
                               tv_weight=tv_weight, autocast=cast, peak_weight=peak_weight, peak_tau=peak_tau)
            if not math.isfinite(float(terms["total"])):  # Adam has stepped on it: keep the last save
                raise FloatingPointError(f"step {step}: loss {float(terms['total'])} for {names[k]!r}; "
                                         f"{ckpt.path if ckpt else 'no checkpoint'} keeps the last good "
                                         f"state: lower lr and resume")
            step += 1
            record = {"step": step, "seconds": round(time.perf_counter() - t0, 2), "style_name": names[k],
                      **{key: float(v) for key, v in terms.items()}}
            history.append(record)
            if step % save_every == 0:
                save(step)
            if callback is not None and callback(step, net, record) is False:
                break
        save(step)
    net.eval()
    net.history = history
    return net


def fit_style(style, *, steps: int = 300, seconds: float | None = 150.0, weight: float = 10.0,
              style_size: int = 384, photos=None, net=STYLE_NET, batch: int = 2, size: int = 128,
              lr: float = 0.02, name: str | None = None, precision=None, seed: int = 0, device=None,
              progress: bool = True, callback: Callable | None = None) -> Style:
    """A new style for the shipped multi-style net: learn its code (gamma, beta) with the trunk frozen.

    Dumoulin et al. (2017): the trunk trained on many styles already knows how to paint; a new
    style only needs its ~1.6 k scale-and-shift numbers. style: the style image (anything
    load_image takes), read at ``style_size`` px (long side). Starts from the mean of the net's
    codes and runs Adam for ``steps`` or ``seconds`` (whichever ends first) on crops of ``photos``
    (default: the embedded photos). Returns a :class:`Style` for ``fast_stylize`` (alone or mixed).
    """
    from tqdm.auto import tqdm

    from .catalog import names as embedded

    _whole("steps", steps, 1)
    device = pick_device(device)
    vgg = load_vgg19(device=device).requires_grad_(False)  # before seeding: a first load draws from the RNG
    gen = seed_everything(seed)
    target = StyleTargets(vgg, style, style_size, weight, device=device)
    base = load_net(net, device)
    if not isinstance(base, StyleNet):
        raise OptionError(f"net={net!r} is a {type(base).__name__}, not a style net")
    imgs = photos_of(photos if photos is not None else embedded("content"), device)
    code = base.codes.detach().mean(0).clone().requires_grad_(True)  # (D,)
    opt = torch.optim.Adam([code], lr=lr)
    cast = _autocast(device, precision)
    t0, history = time.perf_counter(), []
    with tqdm(total=steps, desc="fit style", disable=not progress) as bar:
        for step in range(1, steps + 1):
            x = random_crops(imgs, batch, size, gen).to(device)
            terms = train_step(base, opt, x, code, target, vgg, autocast=cast)
            history.append({"step": step, "seconds": time.perf_counter() - t0,
                            **{k: float(v) for k, v in terms.items()}})
            bar.update(1)
            bar.set_postfix(loss=f"{history[-1]['total']:.3g}", refresh=False)
            if callback is not None and callback(step, code.detach(), history[-1]) is False:
                break
            if seconds is not None and time.perf_counter() - t0 > seconds:
                break
    label = name or (style if isinstance(style, str) else "fitted")
    return Style(label, code.detach().cpu(), str(net) if isinstance(net, (str, Path)) else STYLE_NET,
                 {"steps": len(history), "seconds": round(time.perf_counter() - t0, 1),
                  "style_size": style_size, "weight": weight, "history": history})


def train_sr(photos, *, loss: str = "feature", steps: int = 2000, seconds: float | None = None,
             size: int = 96, batch: int = 4, lr: float = 1e-3, layer: str = SR_LAYER,
             pixel_weight: float = 0.0, net: SRNet | None = None, precision=None, seed: int = 0,
             device=None, callback: Callable | None = None) -> SRNet:
    """Train an :class:`SRNet` for x4 super-resolution of ``size``/4-px crops of ``photos``.

    loss="pixel": mean squared error against the high-resolution crop (what PSNR rewards).
    loss="feature": Johnson et al.'s feature reconstruction loss at ``layer``, relative (sum (F - P)^2
    / sum P^2, scale-free), + ``pixel_weight`` x the pixel loss; start it from a pixel-loss
    net (``net=``): from scratch a feature loss stalls, as SRGAN and ESRGAN found.
    """
    if loss not in SR_LOSSES:
        raise OptionError(f"loss={loss!r} is not one of {SR_LOSSES}")
    _whole("steps", steps, 1), _whole("batch", batch, 1), _whole("size", size, 16)
    if size % 4:
        raise OptionError(f"size={size} must be a multiple of 4 (the net upsamples x4)")
    device = pick_device(device)
    vgg = load_vgg19(device=device).requires_grad_(False) if loss == "feature" else None  # then seed
    gen = seed_everything(seed)
    imgs = photos_of(photos, device)
    net = (net or SRNet()).to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    cast = _autocast(device, precision)
    t0, history = time.perf_counter(), []
    for step in range(1, steps + 1):
        hr = random_crops(imgs, batch, size, gen, long_side=(size * 2, size * 6)).to(device)
        y = net(downsample(hr))
        pixel = (y - hr).pow(2).mean()
        main = pixel
        if loss == "feature":
            with torch.no_grad(), cast:
                P = vgg(hr, (layer,))[layer]
            with cast:
                F = vgg(y, (layer,))[layer]
            main = content_loss(F, P) * relative_content_scale(P) + pixel_weight * pixel
        opt.zero_grad(set_to_none=True)
        main.backward()
        opt.step()
        history.append({"step": step, "seconds": time.perf_counter() - t0, "total": float(main.detach()),
                        "pixel": float(pixel.detach())})
        if callback is not None and callback(step, net, history[-1]) is False:
            break
        if seconds is not None and time.perf_counter() - t0 > seconds:
            break
    net.eval()
    net.history = history
    return net
