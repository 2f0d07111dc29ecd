"""helpers.nets: the multi-style net (conditional instance norm), the SR net, checkpoints, one pass."""
import pytest
import torch
import torch.nn.functional as nnf

import helpers as nst
from helpers import nets


def photo(size=64):
    return nst.load_image("chelsea", size=size, device="cpu")


def small(styles=("a", "b")):
    torch.manual_seed(0)
    return nets.StyleNet(list(styles), channels=(8, 16, 16), n_res=1)


def test_code_layout_covers_every_norm_layer_once():
    net = small()
    norms = [m for m in net.modules() if isinstance(m, nets.CondInstanceNorm)]
    spans = sorted((m.offset, m.offset + 2 * m.channels) for m in norms)
    assert spans[0][0] == 0 and spans[-1][1] == net.code_size
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # contiguous, no overlap
    # 8 + 16 + 16 (down) + 2 * 16 (one block) + 16 + 8 (up) + 3 (skip) channels, (gamma, beta) each
    assert net.code_size == 2 * (8 + 16 + 16 + 32 + 16 + 8 + 3)
    assert net.codes.shape == (2, net.code_size)


def test_conditional_norm_is_instance_norm_then_the_codes_scale_and_shift():
    torch.manual_seed(0)
    norm = nets.CondInstanceNorm(4, offset=2)
    x = torch.randn(2, 4, 5, 7) * 3 + 1
    code = torch.randn(2, 12)
    y = norm(x, code)
    for b in range(2):
        for c in range(4):
            v = x[b, c]
            ref = (v - v.mean()) / torch.sqrt(v.var(unbiased=False) + 1e-5)  # brute force, by hand
            ref = ref * code[b, 2 + c] + code[b, 6 + c]
            assert torch.allclose(y[b, c], ref, atol=1e-5)
            # one image alone takes the fused path (scale and shift inside instance_norm): the same numbers
            assert torch.allclose(norm(x[b:b + 1], code[b:b + 1])[0, c], ref, atol=1e-5)
    net, img = small(), photo(32)
    with torch.no_grad():
        alone, batched = net(img, net.code("b")), net(img.repeat(2, 1, 1, 1), net.code("b"))
    assert torch.allclose(alone[0], batched[1], atol=1e-5)


def test_untrained_net_returns_the_photo_and_keeps_any_size():
    net = small()
    for H, W in [(37, 53), (64, 64), (33, 90)]:
        x = torch.rand(1, 3, H, W)
        y = nst.fast_stylize(x, "a", net=net)
        assert y.shape == x.shape and 0 <= float(y.min()) and float(y.max()) <= 1
    x = photo()
    y = nst.fast_stylize(x, "a", net=net)
    # the skip: an untrained net paints the photo, each channel standardised (instance norm), through
    # the output's sigmoid; its small last conv adds 0.006-0.007 on average (seeds 0-3)
    assert float((y - torch.sigmoid(nnf.instance_norm(x))).abs().mean()) < 0.02


def test_instance_norm_ignores_the_contrast_of_the_photo():
    net = small().eval()
    x = photo()
    with torch.no_grad():
        y, y_dim = net(x, net.code("a")), net(0.4 * x + 0.3, net.code("a"))
    assert float((y - y_dim).abs().max()) < 1e-2  # IN's eps (1e-5 on the variance) leaves a little
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.modules())


def test_mixing_blends_the_codes_and_its_ends_are_the_styles():
    net = small()
    with torch.no_grad():
        net.codes[1] += torch.randn(net.code_size) * 0.3
    x = photo()
    a, b = (nst.fast_stylize(x, s, net=net) for s in ("a", "b"))
    assert torch.equal(nst.fast_stylize(x, {"a": 1.0, "b": 0.0}, net=net), a)
    assert torch.allclose(nst.fast_stylize(x, {"a": 0, "b": 3}, net=net), b, atol=1e-6)
    half = net.mix({"a": 1, "b": 1})
    assert torch.allclose(half, (net.codes[0] + net.codes[1]) / 2)
    mid = nst.fast_stylize(x, {"a": 1, "b": 1}, net=net)
    assert not torch.equal(mid, a) and not torch.equal(mid, b)


@pytest.mark.parametrize("mix, match", [({"a": -1, "b": 1}, ">= 0"), ({"a": float("nan")}, "finite"),
                                        ({"a": 0, "b": 0}, "> 0"), ({}, "> 0"), ({"c": 1}, "fit_style")])
def test_bad_mixes_are_refused(mix, match):
    with pytest.raises(nst.OptionError, match=match):
        nst.fast_stylize(photo(32), mix, net=small())


def test_unknown_style_names_the_known_ones_and_how_to_fit_one():
    with pytest.raises(nst.OptionError) as e:
        nst.fast_stylize(photo(32), "starry", net=small())
    assert "a, b" in str(e.value) and "nst.fit_style" in str(e.value)


def test_a_style_code_of_the_wrong_size_is_refused():
    with pytest.raises(nst.OptionError, match="shape"):
        nst.fast_stylize(photo(32), torch.zeros(5), net=small())


def test_checkpoint_round_trip_is_fp16_and_rebuilt_from_class_and_config(tmp_path):
    net = small()
    path = nets.save_net(net, tmp_path / "n.pt", steps=3)
    raw = torch.load(path, weights_only=True)
    assert raw["meta"]["class"] == "StyleNet" and raw["meta"]["config"]["channels"] == [8, 16, 16]
    assert all(v.dtype == torch.float16 for v in raw["state_dict"].values() if v.is_floating_point())
    back = nets.load_net(path, "cpu")
    assert isinstance(back, nets.StyleNet) and back.styles == ["a", "b"] and back.meta["steps"] == 3
    x = photo()
    assert float((nst.fast_stylize(x, "b", net=path) - nst.fast_stylize(x, "b", net=net)).abs().max()) < 1e-2
    sr = nets.save_net(nets.SRNet(channels=8, n_res=1), tmp_path / "sr.pt")
    assert isinstance(nets.load_net(sr, "cpu"), nets.SRNet)


def test_corrupt_and_foreign_checkpoints_say_so(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(nst.OptionError, match="not a network checkpoint"):
        nets.load_net(junk, "cpu")
    other = tmp_path / "other.pt"
    state = {k: v.half() for k, v in small().state_dict().items()}
    torch.save({"state_dict": state, "meta": {"class": "StyleNet",
                                              "config": {"styles": ["a", "b"], "channels": [8, 16, 32], "n_res": 1}}}, other)
    with pytest.raises(nst.OptionError, match="another architecture"):
        nets.load_net(other, "cpu")
    with pytest.raises(nst.OptionError, match="neither a checkpoint"):
        nets.load_net("/no/such.pt", "cpu")
    with pytest.raises(nst.OptionError, match="not a style net"):
        nst.fast_stylize(photo(32), "a", net=nets.SRNet(channels=8, n_res=1))


def test_style_files_round_trip_and_bad_ones_are_named(tmp_path):
    style = nets.Style("mine", torch.randn(10), meta={"steps": 4})
    back = nets.Style.load(style.save(tmp_path / "mine.style"))
    assert back.name == "mine" and torch.equal(back.code, style.code) and back.meta == {"steps": 4}
    (tmp_path / "bad.style").write_text("x")
    with pytest.raises(nst.ImageError, match="not a saved style"):
        nets.Style.load(tmp_path / "bad.style")


def test_sr_net_starts_at_bicubic_and_upscales_by_4():
    x = photo(48)
    y = nst.super_resolve(x, nets.SRNet())
    assert y.shape[-2:] == (x.shape[-2] * 4, x.shape[-1] * 4)
    bicubic = nnf.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False).clamp(0, 1)
    assert torch.allclose(y, bicubic, atol=1e-6)
    with pytest.raises(nst.OptionError, match="not an SR net"):
        nst.super_resolve(x, small())


@torch.no_grad()
def test_resize_conv_has_no_checkerboard():
    # a transposed stride-2 conv paints a period-2 pattern on a flat input; resize-then-conv cannot
    torch.manual_seed(0)
    up = nets.UpConv(4, 4, 3, 1, offset=0)
    code = torch.cat([torch.ones(4), torch.zeros(4)])[None]
    y = up.conv(up.pad(nnf.interpolate(torch.ones(1, 4, 8, 8), scale_factor=2)))
    assert float(y.std(dim=(-2, -1)).max()) < 1e-5 and up(torch.ones(1, 4, 8, 8), code).shape[-1] == 16
    t = torch.nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1)
    z = t(torch.ones(1, 4, 8, 8))[..., 2:-2, 2:-2]
    assert float(z.std(dim=(-2, -1)).max()) > 1e-2


def test_a_small_picture_is_painted_at_the_styles_work_size_and_brought_back():
    net = small()
    with torch.no_grad():
        net.codes[1] += torch.randn(net.code_size) * 0.3
    net.meta = {"work_sizes": {"b": 96}}
    x = photo(48)  # (1, 3, 32, 48)
    by_hand = nnf.interpolate(x, size=(64, 96), mode="bicubic", align_corners=False).clamp(0, 1)
    with torch.no_grad():
        by_hand = net(by_hand, net.code("b"))
    by_hand = nnf.interpolate(by_hand, size=(32, 48), mode="bicubic", antialias=True, align_corners=False)
    y = nst.fast_stylize(x, "b", net=net)
    assert y.shape == x.shape and torch.allclose(y, by_hand.clamp(0, 1), atol=1e-6)
    own = nst.fast_stylize(x, "b", net=net, work_size=0)  # 0: the picture's own size
    with torch.no_grad():
        assert torch.equal(own, net(x, net.code("b"))) and float((own - y).abs().mean()) > 1e-3
    assert torch.equal(nst.fast_stylize(x, "a", net=net), nst.fast_stylize(x, "a", net=net, work_size=0))
    # an explicit size applies to any style
    assert float((nst.fast_stylize(x, "a", net=net, work_size=96) - nst.fast_stylize(x, "a", net=net)).abs().mean()) > 1e-3
    big = photo(128)  # at or above the work size: one pass at its own size
    assert torch.equal(nst.fast_stylize(big, "b", net=net), nst.fast_stylize(big, "b", net=net, work_size=0))
    # a mix paints at its heaviest style's size; a fitted Style at its own (none recorded: 0)
    assert torch.allclose(nst.fast_stylize(x, {"a": 1, "b": 3}, net=net),
                          nst.fast_stylize(x, {"a": 1, "b": 3}, net=net, work_size=96))
    assert torch.equal(nst.fast_stylize(x, {"a": 3, "b": 1}, net=net),
                       nst.fast_stylize(x, {"a": 3, "b": 1}, net=net, work_size=0))
    fitted = nets.Style("mine", net.codes[1].detach().clone(), meta={"work_size": 96})
    assert torch.allclose(nst.fast_stylize(x, fitted, net=net), y, atol=1e-6)
    assert nets.work_size_of(net, nets.Style("plain", net.codes[0])) == 0


@pytest.mark.parametrize("bad", [-1, 2.5, True, "384"])
def test_a_bad_work_size_is_refused_with_what_to_give(bad):
    with pytest.raises(nst.OptionError, match="work_size"):
        nst.fast_stylize(photo(32), "a", net=small(), work_size=bad)


def test_the_shipped_net_records_a_work_size_for_every_style():
    sizes = nets.load_net(nets.STYLE_NET, "cpu").meta["work_sizes"]
    assert set(sizes) <= set(nets.shipped_styles()) and all(isinstance(v, int) and v >= 0 for v in sizes.values())
    assert sizes.get("op_art", 0) >= 256 and sizes.get("swirls", 0) == 0
