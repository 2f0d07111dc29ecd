"""The coding exercises whose reference the checker holds (lessons 00, 02, 04, 05): a right
function passes, a near miss fails with the exercise's hint, an unanswered cell gets a nudge."""
import pytest
import torch

from helpers import color, lessons, load_vgg19
from helpers.vgg import normalization_scales


@pytest.fixture(scope="module")
def vgg():
    return load_vgg19(device="cpu")


def test_preprocess_is_checked_against_the_networks_own(vgg):
    probe = torch.rand(2, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    mean = torch.tensor([123.68, 116.779, 103.939]).view(1, 3, 1, 1)
    assert lessons.quiz("00.preprocess", (255 * probe - mean).flip(1), vgg, probe) == "Preprocess: correct"
    with pytest.raises(AssertionError, match="flip"):
        lessons.quiz("00.preprocess", 255 * probe - mean, vgg, probe)  # RGB order kept
    assert "not answered" in lessons.quiz("00.preprocess", None, vgg, probe)


def test_gram_code_is_checked_against_the_helper():
    probe = torch.rand(2, 5, 3, 7, generator=torch.Generator().manual_seed(1))
    Fm = probe.flatten(2)
    assert lessons.quiz("02.gram_code", Fm @ Fm.transpose(1, 2), probe) == "gram: correct"
    with pytest.raises(AssertionError, match="transpose"):
        lessons.quiz("02.gram_code", Fm.transpose(1, 2) @ Fm, probe)


def test_bright_mask_is_checked_at_the_notebooks_threshold():
    probe = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    r, g, b = probe[:, 0:1], probe[:, 1:2], probe[:, 2:3]
    Y = 0.299 * r + 0.587 * g + 0.114 * b
    assert lessons.quiz("04.mask", (Y > 0.4).float(), probe, 0.4) == "bright mask: correct"
    assert torch.equal((Y > 0.4).float(), (color.luminance(probe)[:, :1] > 0.4).float())
    with pytest.raises(AssertionError, match="threshold"):
        lessons.quiz("04.mask", (Y > 0.5).float(), probe, 0.4)


def test_normalised_layer_is_checked_against_the_normalised_network(vgg):
    vggn = load_vgg19(normalized=True, device="cpu")
    s = normalization_scales()
    W, b = vgg.conv2_1.weight, vgg.conv2_1.bias
    s_in, s_out = s["conv1_2"], s["conv2_1"]
    right = [W * s_in.view(1, -1, 1, 1) / s_out.view(-1, 1, 1, 1), b / s_out]
    assert lessons.quiz("05.normalise", right, vggn) == "normalised conv2_1: correct"
    with pytest.raises(AssertionError, match="s_out"):
        lessons.quiz("05.normalise", [W / s_out.view(-1, 1, 1, 1), b / s_out], vggn)
