"""The losses of Gatys et al. (2016), written as the paper writes them.

Equation numbers are the paper's (arXiv 1508.06576): eq. 1 content, eq. 3 the Gram matrix, eq. 4
the per-layer E_l, eq. 5 L_style = sum_l w_l E_l, eq. 7 total = alpha L_content + beta L_style
(eqs. 2 and 6 are the gradients of 1 and 5, which autograd computes).

Symbols follow the paper: F are the generated image's features at a layer, P the content image's,
G and A the Gram matrices of the generated and style images; N_l = channels, M_l = H * W.
All losses are summed over the batch and computed in float32, whatever the features' dtype.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch


def gram_matrix(F: torch.Tensor, normalize: bool = False) -> torch.Tensor:
    """Gram matrix G_ij = sum_k F_ik F_jk of feature maps (eq. 3), batched.

    F: (B, C, H, W) -> (B, C, C). ``normalize=True`` divides by M = H*W, giving the Gram *per
    position*, which does not grow with image size (used for style targets). Computed in float32:
    a sum over H*W products overflows float16.
    """
    B, C, H, W = F.shape
    F = F.reshape(B, C, H * W).float()  # (B, C, M)
    G = F @ F.transpose(1, 2)  # (B, C, C)
    return G / (H * W) if normalize else G


def content_loss(F: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    """L_content = 1/2 sum_ij (F_ij - P_ij)^2 (eq. 1). F, P: (B, C, H, W) of the same shape."""
    if F.shape != P.shape:
        raise ValueError(f"content features {tuple(F.shape)} and target {tuple(P.shape)} differ in shape; "
                         "load the content image at the size of the image being optimised")
    return 0.5 * (F.float() - P.float()).pow(2).sum()


def masked_gram(F: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Gram per position over a soft region: sum_k m_k F_ik F_jk / sum_k m_k.

    F: (B, C, H, W); mask: (1 or B, 1, H0, W0) in [0, 1] at any resolution: it is area-averaged to
    F's H x W, so one mask drawn on the image serves every layer. -> (B, C, C)
    """
    B, C, H, W = F.shape
    m = torch.nn.functional.adaptive_avg_pool2d(mask.float(), (H, W)).reshape(-1, 1, H * W)  # (B, 1, M)
    Fm = F.reshape(B, C, H * W).float()  # (B, C, M)
    return (Fm * m) @ Fm.transpose(1, 2) / m.sum(-1, keepdim=True).clamp_min(1e-8)


def style_layer_loss(F: torch.Tensor, A: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """E_l = 1/(4 N^2 M^2) sum_ij (G_ij - A_ij)^2 (eq. 4), with G = gram_matrix(F).

    F: (B, N, H, W) generated features. A: the style Gram *per position* (B or 1, N, N), i.e.
    ``gram_matrix(style_features, normalize=True)``. We take M from the generated image and scale A
    to it (M * A), so a style image of another size than the generated one is compared fairly; when
    both have the same size this is exactly eq. 4. Algebraically E_l = 1/(4 N^2) sum (G/M - A)^2,
    which is how it is computed (no M^2-sized intermediates). With a ``mask`` the generated Gram
    is taken over the masked region only (:func:`masked_gram`), so a style lands where the mask is.
    """
    B, N, H, W = F.shape
    if A.shape[-2:] != (N, N):
        raise ValueError(f"style target Gram {tuple(A.shape)} does not match features with {N} channels")
    G = gram_matrix(F, normalize=True) if mask is None else masked_gram(F, mask)  # (B, N, N)
    return (G - A.float()).pow(2).sum() / (4 * N**2)


def style_loss(feats: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor],
               layer_weights: Mapping[str, float] | None = None,
               mask: torch.Tensor | None = None) -> torch.Tensor:
    """L_style = sum_l w_l E_l (eq. 5; E_l is eq. 4).

    feats: layer name -> generated features F_l (B, N, H, W). targets: layer name -> style
    Gram per position A_l (see :func:`style_layer_loss`) or the style feature map itself
    (4-D, turned into its Gram here). layer_weights: name -> w_l; default w_l = 1/L over the
    layers in ``targets``, as in the paper. mask: optional (1, 1, H, W) region of the image
    this style applies to (see :func:`masked_gram`).
    """
    names = list(targets)
    if layer_weights is None:
        layer_weights = {n: 1.0 / len(names) for n in names}
    missing = [n for n in names if n not in feats]
    if missing:
        raise KeyError(f"no generated features for style layer(s) {missing}")
    total = feats[names[0]].new_zeros((), dtype=torch.float32)
    for n in names:
        w = layer_weights.get(n, 0.0)
        if w:
            A = targets[n]
            if A.dim() == 4:
                A = gram_matrix(A, normalize=True)
            total = total + w * style_layer_loss(feats[n], A, mask)
    return total


def tv_loss(img: torch.Tensor) -> torch.Tensor:
    """Total variation: sum of squared differences between neighbouring pixels, img (B,C,H,W).

    Not in Gatys et al.; a smoothness prior (Mahendran & Vedaldi 2015) that removes the
    high-frequency speckle pixel optimisation tends to leave. Pixels in [0, 1].
    """
    dx = img[..., :, 1:] - img[..., :, :-1]
    dy = img[..., 1:, :] - img[..., :-1, :]
    return dx.float().pow(2).sum() + dy.float().pow(2).sum()


def relative_content_scale(P: torch.Tensor) -> float:
    """The factor that makes eq. 7's content term a relative error: 1 / (1/2 sum P^2).

    content_loss(F, P) * relative_content_scale(P) = sum (F - P)^2 / sum P^2: 1 for all-zero F,
    the same for an unrelated image at any size. Shared by the engine and the training loops.
    """
    return 2.0 / max(float(P.float().pow(2).sum()), 1e-12)


def relative_style_weights(A: Mapping[str, torch.Tensor],
                           layer_weights: Mapping[str, float] | None = None) -> dict[str, float]:
    """w_l scaled so each E_l (eq. 4) becomes a relative error: w_l * 4 N^2 / sum A^2.

    A: layer -> style Gram per position (.., N, N). E_l / (sum A^2 / (4 N^2)) = sum (G - A)^2 /
    sum A^2, its value for all-zero features being 1, so styles whose Grams differ in size by
    orders of magnitude (a muted painting, a black-and-white op-art) take one style weight.
    """
    w = layer_weights or {n: 1.0 / len(A) for n in A}
    return {n: v * 4 * A[n].shape[-1] ** 2 / max(float(A[n].float().pow(2).sum()), 1e-30)
            for n, v in w.items()}
