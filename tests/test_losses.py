"""The losses against brute-force loops over i, j, k (independent of helpers' vectorised code)."""
import itertools

import pytest
import torch

import helpers as nst
from helpers.losses import masked_gram, style_layer_loss


def brute_gram(F):  # F (C, H, W) -> (C, C) by explicit loops: G_ij = sum_k F_ik F_jk
    C = F.shape[0]
    Fk = F.reshape(C, -1).double().tolist()
    return torch.tensor([[sum(a * b for a, b in zip(Fk[i], Fk[j])) for j in range(C)] for i in range(C)],
                        dtype=torch.float64)


@pytest.fixture
def feats():
    g = torch.Generator().manual_seed(0)
    return torch.randn(2, 4, 3, 5, generator=g), torch.randn(2, 4, 3, 5, generator=g)


def rel(a, b):
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())


def test_gram_matches_brute_force_batched(feats):
    F, _ = feats
    G = nst.gram_matrix(F)
    assert G.shape == (2, 4, 4)
    for b in range(2):
        assert rel(G[b], brute_gram(F[b])) < 1e-5
    assert rel(nst.gram_matrix(F, normalize=True), G / 15) < 1e-6
    assert torch.allclose(G, torch.einsum("bchw,bdhw->bcd", F, F), rtol=1e-5, atol=1e-5)


def test_gram_is_blind_to_spatial_shuffles(feats):
    F, _ = feats
    perm = torch.randperm(15, generator=torch.Generator().manual_seed(1))
    shuffled = F.reshape(2, 4, 15)[:, :, perm].reshape(2, 4, 3, 5)
    assert not torch.allclose(shuffled, F)
    assert torch.allclose(nst.gram_matrix(shuffled), nst.gram_matrix(F), atol=1e-5)


def test_gram_fp16_input_is_computed_in_float32():
    F = torch.full((1, 2, 64, 64), 60.0, dtype=torch.float16)  # sum of 4096 * 3600 overflows fp16
    G = nst.gram_matrix(F)
    assert G.dtype == torch.float32 and torch.isfinite(G).all()
    assert float(G[0, 0, 0]) == pytest.approx(4096 * 3600)


def test_content_loss_is_half_sum_of_squares(feats):
    F, P = feats
    brute = 0.5 * sum((a - b) ** 2 for a, b in zip(F.flatten().tolist(), P.flatten().tolist()))
    assert rel(nst.content_loss(F, P), torch.tensor(brute)) < 1e-5
    with pytest.raises(ValueError, match="shape"):
        nst.content_loss(F, P[:, :, :2])


def brute_E(F, Fs):  # eq. 4 with the same-size style image, by loops
    N, M = F.shape[0], F.shape[1] * F.shape[2]
    G, A = brute_gram(F), brute_gram(Fs)
    s = sum((G[i, j] - A[i, j]) ** 2 for i, j in itertools.product(range(N), range(N)))
    return s / (4 * N**2 * M**2)


def test_style_layer_loss_is_eq4(feats):
    F, Fs = feats
    A = nst.gram_matrix(Fs[:1], normalize=True)
    assert rel(style_layer_loss(F[:1], A), brute_E(F[0], Fs[0])) < 1e-5


def test_style_loss_weights_and_default(feats):
    F, Fs = feats
    f = {"a": F[:1], "b": F[1:]}
    t = {"a": nst.gram_matrix(Fs[:1], normalize=True), "b": Fs[1:]}  # a Gram, or a feature map
    Ea, Eb = brute_E(F[0], Fs[0]), brute_E(F[1], Fs[1])
    assert rel(nst.style_loss(f, t), (Ea + Eb) / 2) < 1e-5  # default w_l = 1/L
    assert rel(nst.style_loss(f, t, {"a": 0.3, "b": 2.0}), 0.3 * Ea + 2 * Eb) < 1e-5


def test_style_target_of_another_size_is_rescaled_to_M():
    # A style image whose features tile the generated one's twice has the same Gram per position:
    # the loss must be 0 though its raw Gram is twice as big.
    F = torch.randn(1, 3, 4, 4)
    Fs = torch.cat([F, F], dim=-1)  # (1, 3, 4, 8)
    A = nst.gram_matrix(Fs, normalize=True)
    assert float(style_layer_loss(F, A)) == pytest.approx(0, abs=1e-9)
    assert float(style_layer_loss(F, nst.gram_matrix(Fs) / 16)) > 1e-3  # unnormalised: wrong


def test_masked_gram_over_full_mask_equals_gram(feats):
    F, _ = feats
    assert torch.allclose(masked_gram(F, torch.ones(1, 1, 6, 10)), nst.gram_matrix(F, normalize=True), atol=1e-6)
    half = torch.zeros(1, 1, 3, 5)
    half[..., :2] = 1
    left = F[..., :2]
    assert torch.allclose(masked_gram(F, half), nst.gram_matrix(left, normalize=True), atol=1e-6)


def test_tv_loss_brute_force():
    x = torch.rand(1, 3, 4, 5)
    brute = sum((x[0, c, i, j + 1] - x[0, c, i, j]) ** 2 for c in range(3) for i in range(4) for j in range(4))
    brute += sum((x[0, c, i + 1, j] - x[0, c, i, j]) ** 2 for c in range(3) for i in range(3) for j in range(5))
    assert rel(nst.tv_loss(x), brute) < 1e-5
    assert float(nst.tv_loss(torch.full((1, 3, 8, 8), 0.3))) == 0
