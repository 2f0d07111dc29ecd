"""Feed-forward networks: the multi-style transformer, x4 super-resolution, checkpoints, one pass.

Johnson, Alahi & Fei-Fei (2016) train an *image transformation network* once, on many photos, to
minimise the loss :func:`helpers.stylize` minimises per image; stylising a new photo is then one
forward pass. Dumoulin, Shlens & Kudlur (2017) showed that one such network can carry many styles:
every normalisation layer keeps a scale and a shift (gamma, beta) *per style* and everything else is
shared. Here the (gamma, beta) of all the layers of one style form one vector, its *style code*;
mixing styles is mixing codes, and a new style is a new code learnt with the trunk frozen
(:func:`helpers.training.fit_style`).

Checkpoints are plain files ``{"state_dict": fp16 tensors, "meta": {"class": ..., "config": {...},
...}}`` read with ``torch.load(weights_only=True)``; :func:`load_net` rebuilds any net from its
class name and stored config. The training loops live in :mod:`helpers.training`.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as nnf
from torch import nn

from .catalog import asset_dir
from .device import pick_device
from .errors import ImageError, OptionError
from .images import check_image, load_image

#: The shipped nets' files in ``assets/nets``.
STYLE_NET, SR_NETS = "styles", ("sr_pixel", "sr_feature")


# --------------------------------------------------------------------------- building blocks

class CondInstanceNorm(nn.Module):
    """Instance norm whose scale and shift come from the style code (Dumoulin et al. 2017).

    Each image's feature maps are normalised by their own mean and variance, per channel (Ulyanov
    et al. 2016): the photo's contrast and brightness are removed before the net paints, so a dim
    photo and a bright one get the same stylisation. Then ``gamma * x + beta``, where gamma and
    beta are this layer's slice ``[offset, offset + 2C)`` of the code (B, D).
    """

    def __init__(self, channels: int, offset: int):
        super().__init__()
        self.channels, self.offset = channels, offset

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        C, o = self.channels, self.offset
        if code.shape[0] == 1:  # one code for the batch: instance_norm scales and shifts in the same pass
            return nnf.instance_norm(x, weight=code[0, o:o + C], bias=code[0, o + C:o + 2 * C])
        gamma, beta = code[:, o:o + C, None, None], code[:, o + C:o + 2 * C, None, None]  # (B, C, 1, 1)
        return nnf.instance_norm(x) * gamma + beta


class ConvNorm(nn.Module):
    """Reflection-padded conv, then conditional instance norm and ReLU: borders get real neighbours."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, offset: int, relu: bool = True):
        super().__init__()
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride)
        self.norm = CondInstanceNorm(c_out, offset)
        self.relu = relu

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.conv(self.pad(x)), code)
        return nnf.relu(x, inplace=not torch.is_grad_enabled()) if self.relu else x


class Residual(nn.Module):
    """x + convnorm(relu(convnorm(x))): a correction of x, so a deep stack stays easy to train."""

    def __init__(self, c: int, offset: int):
        super().__init__()
        self.a = ConvNorm(c, c, 3, 1, offset)
        self.b = ConvNorm(c, c, 3, 1, offset + 2 * c, relu=False)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return x + self.b(self.a(x, code), code)


class UpConv(ConvNorm):
    """x2 nearest-neighbour resize, then a conv. A stride-2 transposed conv overlaps its kernels
    unevenly and paints a checkerboard (Odena et al. 2016); resize-then-conv cannot."""

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return super().forward(nnf.interpolate(x, scale_factor=2, mode="nearest"), code)


# --------------------------------------------------------------------------- the style net

class StyleNet(nn.Module):
    """Johnson et al.'s transformation net with one (gamma, beta) code per style: (B,3,H,W) -> (B,3,H,W).

    9x9 conv, two stride-2 convs (H/4), ``n_res`` residual blocks, two resize-convs back up, a 9x9
    conv to RGB, sigmoid; every conv but the last is followed by conditional instance norm.
    ``styles``: the names of the codes, rows of ``self.codes`` (S, D). ``forward(x, code)`` takes
    a code (D,) or (B, D), e.g. ``net.code("swirls")`` or :meth:`mix`'s blend. Any H, W:
    :func:`fast_stylize` pads to a multiple of 4.

    Our departure, the *skip*: the photo, instance-normalised with the code's own (gamma, beta),
    is added to the last conv's output before the sigmoid, and that conv starts small, so an
    untrained net already returns the photo and training goes into the style, not into learning
    to draw the photo at all.
    """

    def __init__(self, styles: Sequence[str] = ("style",), channels: Sequence[int] = (16, 32, 64),
                 n_res: int = 5):
        super().__init__()
        if not styles or len(set(styles)) != len(styles):
            raise OptionError(f"styles={list(styles)!r}: give at least one name, each once")
        c1, c2, c3 = channels
        self.config = {"styles": list(styles), "channels": [c1, c2, c3], "n_res": n_res}
        self.styles = list(styles)
        D = 0

        def at(c):  # the next slice of the code: (gamma, beta) for c channels
            nonlocal D
            D += 2 * c
            return D - 2 * c

        self.down = nn.ModuleList([ConvNorm(3, c1, 9, 1, at(c1)), ConvNorm(c1, c2, 3, 2, at(c2)),
                                   ConvNorm(c2, c3, 3, 2, at(c3))])
        self.res = nn.ModuleList()
        for _ in range(n_res):
            self.res.append(Residual(c3, at(c3)))
            at(c3)  # the block's second norm
        self.up = nn.ModuleList([UpConv(c3, c2, 3, 1, at(c2)), UpConv(c2, c1, 3, 1, at(c1))])
        self.out = nn.Sequential(nn.ReflectionPad2d(4), nn.Conv2d(c1, 3, 9))
        self.skip = CondInstanceNorm(3, at(3))
        self.code_size = D
        self.codes = nn.Parameter(self.neutral_code().repeat(len(styles), 1))  # (S, D)
        with torch.no_grad():  # sigmoid(z) of a standardised photo z has about a photo's contrast
            self.out[1].weight.mul_(0.1), self.out[1].bias.zero_()

    def neutral_code(self) -> torch.Tensor:
        """gamma = 1, beta = 0 everywhere: plain instance norm. (D,)"""
        code = torch.zeros(self.code_size)
        for m in self.modules():
            if isinstance(m, CondInstanceNorm):
                code[m.offset:m.offset + m.channels] = 1
        return code

    def code(self, style: str) -> torch.Tensor:
        """The code (D,) of a style this net was trained on."""
        if style not in self.styles:
            raise OptionError(unknown_style(style, self.styles))
        return self.codes[self.styles.index(style)]

    def mix(self, weights: Mapping) -> torch.Tensor:
        """The code (D,) of a blend: ``{"swirls": 0.7, "mondrian": 0.3}`` (names or codes (D,) as keys).

        Weights must be finite and >= 0 with a positive sum; they are divided by their sum, so the
        blend of gamma and beta stays between the styles' own.
        """
        codes, w = [], []
        for key, v in weights.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise OptionError(f"mix weight {v!r} for {_label(key)} must be a finite number >= 0")
            codes.append(self.code(key) if isinstance(key, str) else _code_of(key, self.code_size))
            w.append(float(v))
        if not w or sum(w) <= 0:
            raise OptionError(f"mix={dict(weights)!r}: at least one weight must be > 0")
        return sum(c * (v / sum(w)) for c, v in zip(codes, w))

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        code = code.to(x.dtype).expand(x.shape[0], -1) if code.dim() == 1 else code.to(x.dtype)  # (B, D)
        h = x
        for layer in self.down:
            h = layer(h, code)
        for block in self.res:
            h = block(h, code)
        for layer in self.up:
            h = layer(h, code)
        z = self.out(h)  # (B, 3, H', W'), H' = H rounded up to a multiple of 4
        return torch.sigmoid(z[..., : x.shape[-2], : x.shape[-1]] + self.skip(x, code))


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: usable as a key of a mix
class Style:
    """A style fitted to a trained :class:`StyleNet`'s trunk (:func:`helpers.training.fit_style`).

    ``code`` (D,) is its (gamma, beta) for every norm layer; ``net`` names the checkpoint it
    belongs to. Pass it to :func:`fast_stylize` alone or as a key of a mix; :meth:`save` and
    :meth:`load` keep it in a file of a few kB.
    """

    name: str
    code: torch.Tensor
    net: str = STYLE_NET
    meta: dict | None = None

    def save(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"name": self.name, "code": self.code.detach().cpu().float(), "net": self.net,
                    "meta": dict(self.meta or {})}, path)
        return path

    @classmethod
    def load(cls, path) -> Style:
        try:
            d = torch.load(path, map_location="cpu", weights_only=True)
            return cls(str(d["name"]), d["code"].float(), str(d["net"]), d.get("meta"))
        except FileNotFoundError:
            raise ImageError(f"style file {str(path)!r} does not exist") from None
        except Exception as e:
            raise ImageError(f"{str(path)!r} is not a saved style ({type(e).__name__}: {e}); "
                             f"make one with nst.fit_style(image).save(path)") from None


def _whole(name: str, v, low: int, what: str = "") -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise OptionError(f"{name}={v!r} must be a whole number >= {low}{' ' + what if what else ''}")
    return v


def _label(key) -> str:
    return repr(key) if isinstance(key, str) else f"style {getattr(key, 'name', '?')!r}"


def _code_of(style, size: int) -> torch.Tensor:
    code = style.code if isinstance(style, Style) else style
    if not isinstance(code, torch.Tensor) or tuple(code.shape) != (size,):
        raise OptionError(f"{_label(style)}: a style code must be a tensor of shape ({size},) for "
                          f"this net; got {getattr(code, 'shape', type(code).__name__)}")
    return code


def unknown_style(name, known) -> str:
    return (f"style {name!r} has no code in the shipped net; known styles: {', '.join(known)}. "
            f"For another style image, fit a code in minutes: style = nst.fit_style(image), then "
            f"nst.fast_stylize(photo, style)")


# --------------------------------------------------------------------------- super-resolution

class SRNet(nn.Module):
    """x4 super-resolution after Johnson et al.: (B,3,h,w) -> (B,3,4h,4w) in [0,1].

    Residual blocks at the low resolution (cheap), two x2 pixel-shuffle stages, a 3x3 conv to RGB.
    It predicts a correction of the bicubic upsampling, times a learnt ``gain`` that starts at 0
    (ReZero, Bachlechner et al. 2020), so an untrained net is exactly bicubic. A zero last conv
    would do the same, but Adam's first step then moves all its weights together, the correction
    overshoots and undoing it kills the ReLUs behind it; a zero gain keeps the first steps small.
    No normalisation: SR must keep the photo's own contrast, which instance norm removes.
    """

    def __init__(self, channels: int = 32, n_res: int = 4):
        super().__init__()
        self.config = {"channels": channels, "n_res": n_res}
        c = channels
        conv = lambda a, b: nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(a, b, 3))  # noqa: E731
        self.head = conv(3, c)
        self.res = nn.ModuleList([nn.Sequential(conv(c, c), nn.ReLU(), conv(c, c)) for _ in range(n_res)])
        self.up = nn.Sequential(conv(c, 4 * c), nn.PixelShuffle(2), nn.ReLU(),
                                conv(c, 4 * c), nn.PixelShuffle(2), nn.ReLU())
        self.out = conv(c, 3)
        self.gain = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = nnf.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)  # (B, 3, 4h, 4w)
        h = nnf.relu(self.head(x))
        for block in self.res:
            h = h + block(h)
        return (base + self.gain * self.out(self.up(h))).clamp(0, 1)


def downsample(img: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """SR's low-resolution input: the mean of each ``factor`` x ``factor`` block. (B,3,H,W) -> (B,3,H/f,W/f)."""
    return nnf.avg_pool2d(img, factor)


# --------------------------------------------------------------------------- checkpoints

#: Classes a checkpoint may name; load_net builds ``cls(**config)``, no per-class special cases.
NET_CLASSES = {cls.__name__: cls for cls in (StyleNet, SRNet)}
_CACHE: dict[tuple[str, str], nn.Module] = {}  # (checkpoint file, device) -> loaded net


def nets_dir() -> Path:
    """The folder of the shipped checkpoints (``assets/nets``)."""
    return asset_dir() / "nets"


def shipped_styles() -> list[str]:
    """Names of the styles the shipped multi-style net carries ([] if it is not there)."""
    path = nets_dir() / f"{STYLE_NET}.pt"
    return list(load_net(path, "cpu").styles) if path.is_file() else []


def save_net(net: nn.Module, path, **meta) -> Path:
    """Write ``net`` as {"state_dict" (fp16), "meta": {"class", "config", **meta}}; return the Path.

    meta values must be str, int, float, bool or lists/dicts of them (weights_only loading).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().half() if v.is_floating_point() else v.cpu()
             for k, v in net.state_dict().items()}
    meta = {k: str(v) if isinstance(v, str) else v for k, v in meta.items()}  # torch's version str
    tmp = path.with_name(path.name + ".tmp")  # a stop mid-write leaves the old file whole
    torch.save({"state_dict": state, "meta": {"class": type(net).__name__, "config": net.config, **meta}},
               tmp)
    tmp.replace(path)
    return path


def load_net(net, device=None) -> nn.Module:
    """A net in eval mode on ``device``: a module, a checkpoint path, or a shipped name."""
    device = pick_device(device)
    if isinstance(net, nn.Module):
        return net.to(device).eval()
    if not isinstance(net, (str, Path)):
        raise OptionError(f"net={net!r}: pass a trained network, a checkpoint path or a shipped "
                          f"name ({STYLE_NET!r}, {', '.join(map(repr, SR_NETS))})")
    path = Path(net)
    if not path.suffix:
        path = nets_dir() / f"{net}.pt"
    if not path.is_file():
        raise OptionError(f"net={str(net)!r} is neither a checkpoint file nor a shipped net "
                          f"({', '.join(p.stem for p in sorted(nets_dir().glob('*.pt')))})")
    key = (str(path.resolve()), str(device))
    if key not in _CACHE:
        _CACHE[key] = _read(path).to(device).eval().requires_grad_(False)
    return _CACHE[key]


def _read(path: Path) -> nn.Module:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        meta = ckpt["meta"]
        cls = NET_CLASSES[meta["class"]]
    except Exception as e:
        raise OptionError(f"{str(path)!r} is not a network checkpoint of this package "
                          f"({type(e).__name__}: {e}); save one with helpers.nets.save_net") from None
    model = cls(**meta["config"])
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v
                               for k, v in ckpt["state_dict"].items()})
    except RuntimeError as e:
        raise OptionError(f"{str(path)!r} holds a {meta['class']} of another architecture than its "
                          f"config {meta['config']} builds: {str(e).splitlines()[0]}") from None
    model.meta = meta
    return model


# --------------------------------------------------------------------------- one pass

def _prepare(image, size, device) -> torch.Tensor:
    if size is not None or not isinstance(image, torch.Tensor):
        return load_image(image, size=size, device=device)
    return check_image(image, "image").to(device)


def _device_for(image, device) -> torch.device:
    if device is None and isinstance(image, torch.Tensor):
        device = image.device
    return pick_device(device)


@torch.no_grad()
def fast_stylize(image, style="swirls", *, net=STYLE_NET, size: int | None = None,
                 work_size: int | None = None, device=None) -> torch.Tensor:
    """Stylise ``image`` in one forward pass of the multi-style net. -> (1,3,H,W) in [0,1].

    image: anything ``load_image`` accepts, any size (``size`` resizes its long side first).
    style: a shipped style name (:func:`shipped_styles`), a :class:`Style` from ``fit_style``, or a
    mix ``{"swirls": 0.7, "mondrian": 0.3}`` (names or Styles as keys, weights >= 0): the styles'
    (gamma, beta) are blended, so every blend costs one pass. net: a :class:`StyleNet`, a
    checkpoint path or the shipped name. device: None -> the image's device if it is a tensor.

    work_size: the smallest long side, in px, the net paints at. A net draws its strokes at a fixed
    size in pixels, the size they had on its training photos, so on a smaller picture op art's
    stripes and stained glass's panes come out too coarse for it; such a picture is enlarged to
    ``work_size``, stylised and brought back down (antialiased). None: the style's own, from the
    net's record (:func:`work_size_of`; for a mix, its heaviest style's); 0: always paint at the
    picture's own size.
    """
    device = _device_for(image, device)
    x = _prepare(image, size, device)
    model = load_net(net, device)
    if not isinstance(model, StyleNet):
        raise OptionError(f"net={net!r} is a {type(model).__name__}, not a style net")
    if isinstance(style, str):
        code = model.code(style)
    elif isinstance(style, Mapping):
        code = model.mix(style)
    else:
        code = _code_of(style, model.code_size)
    if work_size is None:
        work_size = work_size_of(model, style)
    else:
        _whole("work_size", work_size, 0, "px (0: paint at the picture's own size) or None (the style's own)")
    H, W = x.shape[-2:]
    if max(H, W) < work_size:
        h, w = (max(1, round(n * work_size / max(H, W))) for n in (H, W))
        y = _paint(model, nnf.interpolate(x, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1), code)
        return nnf.interpolate(y, size=(H, W), mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)
    return _paint(model, x, code)


def _paint(model: StyleNet, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
    H, W = x.shape[-2:]
    ph, pw = -H % 4, -W % 4  # the net halves twice: pad to a multiple of 4, crop after
    xp = nnf.pad(x, (0, pw, 0, ph), mode="reflect") if ph or pw else x
    return model(xp, code.to(x.device))[..., :H, :W].contiguous()


def work_size_of(model: StyleNet, style) -> int:
    """The smallest long side (px) ``style`` is painted at by default (see :func:`fast_stylize`).

    Shipped styles read it from the net's record (``meta["work_sizes"]``, measured per style when
    the net was trained; 0 where painting at the picture's own size carried the style best); a
    fitted :class:`Style` from its own meta; a mix takes its heaviest style's.
    """
    if isinstance(style, Mapping):
        style = max(style.items(), key=lambda kv: kv[1])[0] if style else None
    if isinstance(style, str):
        return int((getattr(model, "meta", None) or {}).get("work_sizes", {}).get(style, 0))
    return int((getattr(style, "meta", None) or {}).get("work_size", 0))


@torch.no_grad()
def super_resolve(image, net="sr_feature", *, device=None) -> torch.Tensor:
    """x4 upscale ``image`` (1,3,h,w) with a trained :class:`SRNet` -> (1,3,4h,4w) in [0,1].

    net: "sr_feature" (trained on a VGG feature loss: sharper, lower PSNR), "sr_pixel" (mean
    squared error: higher PSNR, softer), a checkpoint path or an SRNet.
    """
    device = _device_for(image, device)
    x = _prepare(image, None, device)
    model = load_net(net, device)
    if not isinstance(model, SRNet):
        raise OptionError(f"net={net!r} is a {type(model).__name__}, not an SR net ({', '.join(SR_NETS)})")
    return model(x)
