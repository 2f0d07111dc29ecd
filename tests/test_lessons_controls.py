"""Lesson helpers of lessons 03-04: the paper-equivalent style weight."""
import pytest
import torch

from helpers import lessons


def test_paper_style_weight_is_the_papers_beta_at_512_and_scales_with_pixels():
    assert lessons.paper_style_weight(1e-3, torch.zeros(1, 3, 512, 512)) == pytest.approx(1e3)
    # a quarter of the pixels -> a quarter of beta for the same balance
    assert lessons.paper_style_weight(1e-3, torch.zeros(1, 3, 256, 256)) == pytest.approx(250.0)
    assert lessons.paper_style_weight(1e-4, torch.zeros(1, 3, 100, 300), reference=100) == pytest.approx(3e4)
    with pytest.raises(ValueError, match="ratio"):
        lessons.paper_style_weight(0, torch.zeros(1, 3, 8, 8))
