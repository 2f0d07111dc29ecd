"""Feed-forward networks trained on the perceptual losses: fast style transfer and x4 super-resolution.

Johnson, Alahi & Fei-Fei (2016) train an *image transformation network* f_W once, on many photos,
to minimise the same loss that :func:`helpers.stylize` minimises per image; afterwards stylising
a new photo is one forward pass, ``nst.fast_stylize(photo, "swirls")``, instead of hundreds of
optimisation steps. The same recipe with a content (feature) loss against the high-resolution
photo gives perceptual super-resolution.

Checkpoints are plain files: ``{"state_dict": ..., "meta": {...}}`` with fp16 tensors and
primitive metadata, read back with ``torch.load(weights_only=True)``. Shipped nets for the
embedded styles live in ``assets/nets/<style>.pt`` (trained by ``scripts/train_fast.py``).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as nnf
from torch import nn

from .catalog import asset_dir
from .device import pick_device, seed_everything
from .errors import ImageError
from .images import check_image, load_image
from .losses import content_loss, gram_matrix, style_loss, tv_loss
from .vgg import load_vgg19

CONTENT_LAYER = "relu2_2"  # Johnson et al.'s choice: keeps layout and edges, frees colour and texture
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
#: Loss weights of :func:`train_transformer` for its *relative* terms (each a squared error divided
#: by its value for all-zero features, like the engine's objective="relative"), so one balance can
#: serve every style; set from short CPU runs (a few hundred steps) on the embedded styles.
CONTENT_WEIGHT, STYLE_WEIGHT, TV_WEIGHT = 1.0, 10.0, 1.0
SR_LOSSES = ("pixel", "feature")
SR_LAYER = "relu2_2"  # the SR feature loss of Johnson et al.


class ConvLayer(nn.Sequential):
    """Reflection-padded conv (+ instance norm + ReLU): borders get real neighbours, not zeros."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, norm: bool = True,
                 relu: bool = True):
        layers = [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(c_in, c_out, kernel, stride)]
        if norm:
            layers.append(nn.InstanceNorm2d(c_out, affine=True))
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    """x + conv-IN-ReLU-conv-IN(x): learns a correction of x, so stacking many stays easy to train."""

    def __init__(self, channels: int, norm: bool = True):
        super().__init__()
        self.body = nn.Sequential(ConvLayer(channels, channels, 3, norm=norm),
                                  ConvLayer(channels, channels, 3, norm=norm, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsampleConv(nn.Sequential):
    """x2 nearest-neighbour resize, then a conv: a transposed conv with stride 2 overlaps its kernels
    unevenly and paints a checkerboard (Odena et al. 2016); resize-then-conv cannot."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, norm: bool = True):
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"), ConvLayer(c_in, c_out, kernel, norm=norm))


class TransformerNet(nn.Module):
    """Johnson et al.'s image transformation network, slimmed for a CPU: (B,3,H,W) -> (B,3,H,W) in [0,1].

    9x9 conv, two stride-2 convs (H/4), ``n_res`` residual blocks, two resize-convs back up, 9x9 conv
    to RGB, sigmoid. Every conv but the last is followed by *instance* normalisation (Ulyanov et al.
    2016): each image's feature maps are normalised by their own mean and variance, per channel. That
    removes the content photo's contrast and brightness before the net paints, so a dim photo and a
    bright one get the same stylisation, and it trains far better than batch norm, whose statistics
    mix the images of a batch (and differ between training and a single test image). H, W any size:
    :func:`fast_stylize` pads to a multiple of 4.

    Our departure, ``skip=True``: the instance-normalised photo is added to the last conv's output
    before the sigmoid, and that conv starts small, so an untrained net already returns the photo
    (contrast-normalised) and a few hundred steps go into the style instead of into learning to draw
    the photo at all. Johnson et al. train for 40,000 steps and need no such help.
    """

    def __init__(self, channels: Sequence[int] = (16, 32, 64), n_res: int = 4, skip: bool = True):
        super().__init__()
        c1, c2, c3 = channels
        self.config = {"kind": "transformer", "channels": [c1, c2, c3], "n_res": n_res, "skip": skip}
        self.down = nn.Sequential(ConvLayer(3, c1, 9), ConvLayer(c1, c2, 3, 2), ConvLayer(c2, c3, 3, 2))
        self.res = nn.Sequential(*[ResidualBlock(c3) for _ in range(n_res)])
        self.up = nn.Sequential(UpsampleConv(c3, c2), UpsampleConv(c2, c1))
        self.out = ConvLayer(c1, 3, 9, norm=False, relu=False)
        self.skip = nn.InstanceNorm2d(3, affine=True) if skip else None
        if skip:  # sigmoid(z) of a standardised photo z has about a photo's contrast (std ~0.2)
            with torch.no_grad():
                self.out[1].weight.mul_(0.1), self.out[1].bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.out(self.up(self.res(self.down(x))))  # (B, 3, H', W'): H' = H rounded up to a multiple of 4
        if self.skip is not None:
            z = z[..., : x.shape[-2], : x.shape[-1]] + self.skip(x)
        return torch.sigmoid(z)


class SRNet(nn.Module):
    """x4 super-resolution net after Johnson et al.: (B,3,h,w) -> (B,3,4h,4w) in [0,1].

    Residual blocks at the low resolution (cheap), two resize-convs up, a 9x9 conv to RGB. It
    predicts a correction of the bicubic upsampling, times a learnt ``gain`` that starts at 0
    (ReZero, Bachlechner et al. 2020), so an untrained net already gives bicubic. A zero-initialised
    last conv would do the same, but Adam's first step then moves all its 9*9*32 weights together,
    the correction overshoots, and undoing it drives every ReLU before it dead; a zero gain makes the
    first steps small. No normalisation: SR must keep the photo's own contrast, which instance norm removes.
    """

    def __init__(self, channels: int = 32, n_res: int = 4):
        super().__init__()
        self.config = {"kind": "sr", "channels": channels, "n_res": n_res}
        c = channels
        self.head = ConvLayer(3, c, 9, norm=False)
        self.res = nn.Sequential(*[ResidualBlock(c, norm=False) for _ in range(n_res)])
        self.up = nn.Sequential(UpsampleConv(c, c, norm=False), UpsampleConv(c, c, norm=False))
        self.out = ConvLayer(c, 3, 9, norm=False, relu=False)
        self.gain = nn.Parameter(torch.zeros(1))  # start at bicubic

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = nnf.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)  # (B, 3, 4h, 4w)
        return (base + self.gain * self.out(self.up(self.res(self.head(x))))).clamp(0, 1)


def downsample(img: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """The low-resolution input of SR: area-average ``factor`` x ``factor`` blocks. (B,3,H,W) -> (B,3,H/f,W/f)."""
    return nnf.avg_pool2d(img, factor)


# --------------------------------------------------------------------------- training data

def random_crops(photos: Sequence[torch.Tensor], n: int, size: int, gen: torch.Generator,
                 scale: tuple[float, float] = (0.6, 1.4)) -> torch.Tensor:
    """``n`` random ``size``-px square crops, each from a random photo at a random scale, maybe flipped.

    photos: (1,3,H,W) in [0,1]. scale multiplies the photo's size before cropping (never below
    the crop). -> (n, 3, size, size).
    """
    out = []
    for _ in range(n):
        p = photos[int(torch.randint(len(photos), (1,), generator=gen))]
        H, W = p.shape[-2:]
        s = float(torch.empty(1).uniform_(*scale, generator=gen))
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


def _photos(photos, device) -> list[torch.Tensor]:
    if isinstance(photos, (str, torch.Tensor)) or not len(photos):
        raise ImageError("photos must be a non-empty list of images (paths, embedded names, tensors ...)")
    return [load_image(p, device=device) for p in photos]


def _check_steps(steps, size, batch):
    for name, v, low in (("steps", steps, 0), ("size", size, 32), ("batch", batch, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ValueError(f"{name}={v!r} must be a whole number >= {low}")


def _loop(net, steps, seconds, losses_fn, lr, callback, progress, desc):
    """Adam on the net's weights until ``steps`` or ``seconds`` (if given) run out, whichever first.

    The learning rate warms up over the first 10 % of the run and then follows a cosine down to
    5 % of ``lr``; "the run" is measured in steps or in seconds, whichever is further along, so a
    time budget still ends on a small learning rate. ``losses_fn(step)`` -> dict with a "total".
    """
    import math

    from tqdm.auto import tqdm

    opt = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    t0, history = time.perf_counter(), []
    bar = tqdm(total=steps, desc=desc, disable=not progress)
    for step in range(steps):
        frac = step / steps
        if seconds:
            frac = max(frac, (time.perf_counter() - t0) / seconds)
        if frac >= 1:
            break
        for group in opt.param_groups:
            group["lr"] = lr * min(1.0, (frac + 0.02) / 0.1) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        opt.zero_grad(set_to_none=True)
        losses = losses_fn(step)
        losses["total"].backward()
        opt.step()
        entry = {"step": step + 1, "seconds": time.perf_counter() - t0,
                 **{k: float(v.detach()) for k, v in losses.items()}}
        history.append(entry)
        bar.update(1)
        bar.set_postfix(loss=f"{entry['total']:.3g}")
        if callback is not None and callback(step + 1, net, entry) is False:
            break
    bar.close()
    net.eval()
    net.history = history
    return net


def train_transformer(style, photos, *, steps: int = 1000, seconds: float | None = None,
                      size: int = 128, batch: int = 1, style_size: int = 256, lr: float = 3e-3, content_weight: float = CONTENT_WEIGHT,
                      style_weight: float = STYLE_WEIGHT, tv_weight: float = TV_WEIGHT,
                      content_layer: str = CONTENT_LAYER, style_layers: Sequence[str] = STYLE_LAYERS,
                      net: TransformerNet | None = None, seed: int = 0, device=None,
                      callback: Callable | None = None, progress: bool = True) -> TransformerNet:
    """Train a :class:`TransformerNet` to stylise any photo like ``style`` (Johnson et al. 2016).

    Each step takes ``batch`` random crops (``size`` px) of ``photos``, passes them through the net
    and minimises, with Adam, content_weight * sum (F - P)^2 / sum P^2 at ``content_layer`` (eq. 2,
    relative) + style_weight * L_style / L_style(zero features) (eqs. 3-4 relative, vs the Grams
    of ``style`` at ``style_size`` px) + tv_weight * TV per pixel value. ``seconds``: a time budget
    that ends training before ``steps`` (the learning-rate schedule follows whichever runs out first). ``net``: start from these
    weights (e.g. a net trained before). ``callback(step, net, losses)``: return False to stop.
    Returns the net in eval mode, with ``net.history`` (one dict per step).
    """
    _check_steps(steps, size, batch)
    device = pick_device(device)
    gen = seed_everything(seed)
    vgg = load_vgg19(device=device)
    imgs = _photos(photos, device)
    with torch.no_grad():
        A = {k: gram_matrix(v, normalize=True) for k, v in
             vgg(load_image(style, size=style_size, device=device), style_layers).items()}
    # L_style / (its value for all-zero features): the styles' Grams differ in size by 300x (a
    # muted low-poly cat vs a black-and-white op-art), so raw eq. 3 would need a weight per style.
    # One divisor for all layers keeps eq. 3's emphasis on the deep, texture-making relu4_1.
    zero = sum(float(a.pow(2).sum()) / (4 * a.shape[-1] ** 2) for a in A.values()) / len(A)
    w = {k: 1 / len(A) / max(zero, 1e-30) for k in A}
    net = (net or TransformerNet()).to(device)
    layers = list(dict.fromkeys([content_layer, *style_layers]))

    def losses(step):
        x = random_crops(imgs, batch, size, gen).to(device)  # (B, 3, size, size)
        with torch.no_grad():
            P = vgg(x, [content_layer])[content_layer]
        y = net(x)
        feats = vgg(y, layers)
        lc = content_loss(feats[content_layer], P) * 2 / P.pow(2).sum().clamp_min(1e-12)
        ls = style_loss({k: feats[k] for k in style_layers}, A, layer_weights=w) / batch
        ltv = tv_loss(y) / y.numel()
        return {"total": content_weight * lc + style_weight * ls + tv_weight * ltv,
                "content": lc, "style": ls, "tv": ltv}

    return _loop(net, steps, seconds, losses, lr, callback, progress, "train transformer")


def train_sr(photos, *, loss: str = "feature", steps: int = 500, seconds: float | None = None,
             size: int = 128, batch: int = 4,
             lr: float = 2e-3, layer: str = SR_LAYER, tv_weight: float = 0.0,
             net: SRNet | None = None, seed: int = 0, device=None, callback: Callable | None = None,
             progress: bool = True) -> SRNet:
    """Train an :class:`SRNet` for x4 super-resolution of ``size``/4-px crops of ``photos``.

    loss="pixel": mean squared error against the high-resolution crop (what PSNR rewards);
    loss="feature": Johnson et al.'s feature reconstruction loss, mean (F - P)^2 at ``layer`` of
    VGG19 (eq. 2 per element) between output and target. The same crops for both (same seed).
    """
    if loss not in SR_LOSSES:
        raise ValueError(f"loss={loss!r} is not one of {SR_LOSSES}")
    _check_steps(steps, size, batch)
    if size % 4:
        raise ValueError(f"size={size} must be a multiple of 4 (the net upsamples x4)")
    device = pick_device(device)
    gen = seed_everything(seed)
    vgg = load_vgg19(device=device) if loss == "feature" else None
    imgs = _photos(photos, device)
    net = (net or SRNet()).to(device)

    def losses(step):
        hr = random_crops(imgs, batch, size, gen).to(device)  # (B, 3, size, size)
        y = net(downsample(hr))
        if loss == "pixel":
            main = (y - hr).pow(2).mean()
        else:
            with torch.no_grad():
                P = vgg(hr, [layer])[layer]
            main = content_loss(vgg(y, [layer])[layer], P) * 2 / P.numel()
        ltv = tv_loss(y) / y.numel()
        return {"total": main + tv_weight * ltv, loss: main, "tv": ltv}

    return _loop(net, steps, seconds, losses, lr, callback, progress, f"train SR ({loss} loss)")


# --------------------------------------------------------------------------- checkpoints

_KINDS = {"transformer": TransformerNet, "sr": SRNet}
_CACHE: dict[tuple[str, str], nn.Module] = {}  # (checkpoint file, device) -> loaded net


def nets_dir() -> Path:
    """The folder of the shipped checkpoints (``assets/nets``)."""
    return asset_dir() / "nets"


def shipped_names(kind: str = "transformer") -> list[str]:
    """Names of the shipped nets of ``kind`` ("transformer": the styles; "sr": "sr_pixel", "sr_feature")."""
    files = sorted(nets_dir().glob("*.pt"))
    return [p.stem for p in files if p.stem.startswith("sr_") == (kind == "sr")]


def save_net(net: nn.Module, path, **meta) -> Path:
    """Write ``net`` as {"state_dict" (fp16), "meta" (its config + ``meta``)}; return the Path.

    meta values must be str, int, float, bool or lists/dicts of them (weights_only loading).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().half() if v.is_floating_point() else v.cpu()
             for k, v in net.state_dict().items()}
    # str subclasses (torch.__version__ is one) would not load with weights_only: store plain str
    meta = {k: str(v) if isinstance(v, str) else v for k, v in {**net.config, **meta}.items()}
    torch.save({"state_dict": state, "meta": meta}, path)
    return path


def load_net(net, device=None) -> nn.Module:
    """A net in eval mode on ``device``: from a module, a checkpoint path or a shipped name."""
    device = pick_device(device)
    if isinstance(net, nn.Module):
        return net.to(device).eval()
    if not isinstance(net, (str, Path)):
        raise ValueError(f"net={net!r}: pass a trained network, a checkpoint path or one of the "
                         f"shipped names {shipped_names()} / {shipped_names('sr')}")
    path = Path(net)
    if not path.suffix:
        path = nets_dir() / f"{net}.pt"
    if not path.is_file():
        raise ValueError(f"net={str(net)!r} is neither a checkpoint file nor a shipped net; shipped "
                         f"style nets: {shipped_names()}, SR nets: {shipped_names('sr')}")
    key = (str(path.resolve()), str(device))
    if key not in _CACHE:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        meta = dict(ckpt["meta"])
        kind = meta.pop("kind")
        cls = _KINDS[kind]
        args = {k: meta[k] for k in ("channels", "n_res", "skip") if k in meta}
        model = cls(**args)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v
                               for k, v in ckpt["state_dict"].items()})
        model.meta = ckpt["meta"]
        _CACHE[key] = model.to(device).eval().requires_grad_(False)
    return _CACHE[key]


# --------------------------------------------------------------------------- one pass

def _prepare(image, device) -> torch.Tensor:
    img = image if isinstance(image, torch.Tensor) else load_image(image, device=device)
    return check_image(img, "image").to(device)


@torch.no_grad()
def fast_stylize(image, net="swirls", *, size: int | None = None, device=None) -> torch.Tensor:
    """Stylise ``image`` in one forward pass of a trained :class:`TransformerNet`. -> (1,3,H,W) in [0,1].

    image: anything ``load_image`` accepts, any size (``size`` resizes its long side first).
    net: a trained net, a checkpoint path, or a shipped style name (``shipped_names()``).
    device: None -> the image's device if it is a tensor, else ``pick_device()``.
    """
    if device is None and isinstance(image, torch.Tensor):
        device = image.device
    device = pick_device(device)
    x = load_image(image, size=size, device=device) if size is not None else _prepare(image, device)
    model = load_net(net, device)
    if not isinstance(model, TransformerNet):
        raise ValueError(f"net={net!r} is a {type(model).__name__}, not a style net; shipped: {shipped_names()}")
    H, W = x.shape[-2:]
    ph, pw = -H % 4, -W % 4  # the net halves twice: pad to a multiple of 4, crop after
    xp = nnf.pad(x, (0, pw, 0, ph), mode="reflect") if ph or pw else x
    return model(xp)[..., :H, :W].contiguous()


@torch.no_grad()
def super_resolve(image, net="sr_feature", *, device=None) -> torch.Tensor:
    """x4 upscale ``image`` (1,3,h,w) with a trained :class:`SRNet` -> (1,3,4h,4w) in [0,1]."""
    if device is None and isinstance(image, torch.Tensor):
        device = image.device
    device = pick_device(device)
    x = _prepare(image, device)
    model = load_net(net, device)
    if not isinstance(model, SRNet):
        raise ValueError(f"net={net!r} is a {type(model).__name__}, not an SR net; shipped: {shipped_names('sr')}")
    return model(x)


# --------------------------------------------------------------------------- measures

@torch.no_grad()
def feature_distance(img: torch.Tensor, ref: torch.Tensor, layer: str = "relu4_2", vgg=None) -> float:
    """Relative feature distance sum (F - P)^2 / sum P^2 at ``layer`` (eq. 2 without the 1/2, scale-free).

    img, ref: (1,3,H,W) in [0,1] of one size. relu4_2 measures how much of the photo's layout a
    stylised image keeps (content distance); relu2_2 is a perceptual measure for super-resolution.
    """
    if img.shape != ref.shape:
        raise ImageError(f"feature_distance needs images of one shape, got {tuple(img.shape)} and {tuple(ref.shape)}")
    vgg = load_vgg19(device=img.device) if vgg is None else vgg
    F, P = vgg(img, [layer])[layer], vgg(ref.to(img.device), [layer])[layer]
    return float((F - P).pow(2).sum() / P.pow(2).sum().clamp_min(1e-12))


def sharpness(img: torch.Tensor) -> float:
    """Mean squared difference between neighbouring pixels (TV per pixel): blur lowers it."""
    return float(tv_loss(img) / img.numel())
