"""The box-constrained L-BFGS: projected minimum, scale invariance, the trust region's ratio test,
the preconditioner."""
import math

import pytest
import torch

from helpers.lbfgs import BoxLBFGS, spectral_preconditioner


def minimise(f, x0, steps, **kw):
    """Run BoxLBFGS on f from x0. Per step: the loss evaluated, the ratio test's rho for the step
    before, the radius that rho left (which bounds this step) and this step's RMS move."""
    x = x0.clone().requires_grad_(True)
    opt = BoxLBFGS(x, **kw)
    rows = []
    for _ in range(steps):
        before = x.detach().clone()

        def closure():
            opt.zero_grad()
            loss = f(x)
            loss.backward()
            return loss

        loss = float(opt.step(closure).detach())
        move = float((x.detach() - before).pow(2).mean().sqrt())
        rows.append({"loss": loss, "rho": opt.rho, "radius": opt.radius, "move": move})
    return x.detach(), opt, rows


def quadratic(scale):
    # separable quadratic with its minimum partly outside the box: the answer is the clamp
    g = torch.Generator().manual_seed(0)
    target = torch.rand(500, generator=g) * 1.6 - 0.3
    curv = torch.rand(500, generator=g) * 100 + 1  # condition number ~100
    x, _, _ = minimise(lambda x: scale * (curv * (x - target) ** 2).sum(),
                       torch.full((500,), 0.5), 150, history=10)
    return x, target.clamp(0, 1)


@pytest.mark.parametrize("scale", [1e-8, 1.0, 1e12])
def test_finds_the_projected_minimum_at_any_loss_scale(scale):
    x, answer = quadratic(scale)
    assert x.min() >= 0 and x.max() <= 1
    assert (x - answer).abs().max() < 1e-3, float((x - answer).abs().max())


def test_is_scale_invariant():
    a, _ = quadratic(1e-6)
    b, _ = quadratic(1e6)
    assert torch.allclose(a, b, atol=1e-4)


def test_never_steps_outside_its_trust_region():
    # a flat quadratic: after its first pair L-BFGS would jump the whole way (0.4 RMS) at once
    target = 0.5 + 0.4 * torch.sign(torch.randn(400, generator=torch.Generator().manual_seed(0)))
    x, opt, rows = minimise(lambda x: 1e-3 * ((x - target) ** 2).sum(), torch.full((400,), 0.5), 40,
                            history=10)
    assert all(r["move"] <= r["radius"] * (1 + 1e-5) for r in rows), rows
    assert all(opt.min_radius <= r["radius"] <= opt.max_radius for r in rows)
    assert float((x - target.clamp(0, 1)).abs().max()) < 1e-3  # and it still gets there


def test_exact_model_grows_the_radius_at_its_edge():
    # isotropic quadratic: after one pair the L-BFGS model is exact, so rho = 1, and every step is
    # cut back to the radius (the minimum is 0.8 RMS away): the radius doubles from 0.05 to its cap
    target = torch.full((400,), 0.9)
    x, opt, rows = minimise(lambda x: 3.0 * ((x - target) ** 2).sum(), torch.full((400,), 0.1), 8,
                            history=10)
    assert rows[0]["radius"] == 0.05  # where the fixed trust region was
    assert [r["rho"] for r in rows[2:5]] == pytest.approx([1.0] * 3, abs=1e-3)
    assert [r["radius"] for r in rows[1:6]] == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.5])  # x2, capped
    assert float((x - target).abs().max()) < 1e-4  # 7 steps where a fixed 0.05 needs 16


def test_poor_steps_shrink_the_radius_and_rises_are_taken_back():
    # pseudo-Huber: linear far from its minimum (the radius grows), sharply curved near it, so the
    # grown step overshoots: rho < 1/4 (a rise, even), the radius drops to 1/4-1/2 of that step
    g = torch.Generator().manual_seed(0)
    target = torch.rand(400, generator=g) * 0.2 + 0.7
    f = lambda x: torch.sqrt(1 + (50 * (x - target)) ** 2).sum()  # noqa: E731
    x, opt, rows = minimise(f, torch.full((400,), 0.1), 30, history=10)
    poor = [i for i, r in enumerate(rows) if r["rho"] is not None and r["rho"] < 0.25 and i > 0]
    assert poor and max(r["radius"] for r in rows) >= 0.4, rows
    for i in poor:  # the step judged at i was taken at i - 1, within the radius then
        assert rows[i]["radius"] <= max(opt.min_radius, 0.5 * rows[i - 1]["radius"]), (i, rows)
    assert opt.rejected >= 1
    # a rise is never kept: the loss evaluated after a rejected step is from the old point
    accepted = [r["loss"] for r in rows if r["rho"] is None or r["rho"] >= 0]
    assert all(b <= a for a, b in zip(accepted, accepted[1:]))
    assert float((x - target).abs().max()) < 1e-3  # and it still converges


def test_quartic_keeps_moderate_steps_and_converges():
    # a quartic (as a Gram loss is in the pixels): the quadratic model over-predicts the decrease,
    # the radius stays where steps are judged acceptable, and the loss still falls geometrically
    g = torch.Generator().manual_seed(0)
    target = torch.rand(400, generator=g) * 0.8 + 0.1
    _, opt, rows = minimise(lambda x: ((x - target) ** 4).sum(), torch.full((400,), 0.5), 25, history=10)
    assert rows[-1]["loss"] < 1e-6 * rows[0]["loss"], rows[-1]
    assert all(math.isfinite(r["loss"]) for r in rows)


def test_bad_radii_are_refused():
    x = torch.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="min_radius <= radius <= max_radius"):
        BoxLBFGS(x, radius=1.0, max_radius=0.5)


def cosine(shape, ky, kx):
    """cos(2 pi (ky y / H + kx x / W)) on every channel: ky, kx whole cycles over each side."""
    *lead, H, W = shape
    y, x = torch.meshgrid(torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64),
                          indexing="ij")
    return torch.cos(2 * math.pi * (ky * y / H + kx * x / W)).expand(*lead, H, W).float()


@pytest.mark.parametrize("shape", [(1, 3, 24, 32), (1, 3, 31, 17)])
def test_spectral_preconditioner_scales_each_frequency_by_its_power(shape):
    *_, H, W = shape
    n = max(H, W)
    P = spectral_preconditioner(shape, power=1.0)
    # a cosine is an eigenvector: ky cycles over H px is ky * n / H cycles per n px
    for ky, kx in [(0, 0), (0, 1), (1, 0), (2, 3), (5, 1)]:
        v = cosine(shape, ky, kx)
        f = math.hypot(ky * n / H, kx * n / W)
        expected = max(f, 1.0) ** -1.0
        assert torch.allclose(P(v.flatten()), expected * v.flatten(), atol=1e-5), (ky, kx)
    # symmetric and positive definite on random vectors; power 0 is the identity
    g = torch.Generator().manual_seed(0)
    u, w = torch.randn(2, math.prod(shape), generator=g, dtype=torch.float64).float()
    assert float(u @ P(w)) == pytest.approx(float(w @ P(u)), rel=1e-4)
    assert float(u @ P(u)) > 0 and float(w @ P(w)) > 0
    assert torch.allclose(spectral_preconditioner(shape, power=0.0)(u), u, atol=1e-5)


def test_preconditioner_equal_to_the_inverse_hessian_converges_at_once():
    # an ill-conditioned quadratic (condition 1e4) inside the box: with H0 = gamma * P and P the
    # exact inverse Hessian (up to a constant), the model is exact after one pair; plain L-BFGS with
    # the same memory is still far off after the same steps
    g = torch.Generator().manual_seed(0)
    curv = 10 ** (torch.rand(400, generator=g) * 4)
    target = torch.rand(400, generator=g) * 0.6 + 0.2
    f = lambda x: (curv * (x - target) ** 2).sum()  # noqa: E731
    kw = dict(history=5, radius=0.5, max_radius=0.5)
    _, _, pre = minimise(f, torch.full((400,), 0.5), 6, precondition=lambda v: v / (7 * curv), **kw)
    _, _, plain = minimise(f, torch.full((400,), 0.5), 6, **kw)
    assert pre[-1]["loss"] < 1e-8 * pre[0]["loss"], pre
    assert plain[-1]["loss"] > 1e-3 * plain[0]["loss"], plain


@pytest.mark.parametrize("scale", [1e-8, 1e12])
def test_preconditioned_run_finds_the_projected_minimum_at_any_scale(scale):
    g = torch.Generator().manual_seed(1)
    target = torch.rand(1, 3, 16, 16, generator=g) * 1.6 - 0.3  # partly outside the box
    P = spectral_preconditioner(target.shape, power=1.0)
    x, _, _ = minimise(lambda x: scale * ((x - target) ** 2).sum(), torch.full((1, 3, 16, 16), 0.5),
                       150, history=10, precondition=P)
    assert (x - target.clamp(0, 1)).abs().max() < 1e-3
