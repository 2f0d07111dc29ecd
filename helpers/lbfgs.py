"""L-BFGS on the pixel box [0, 1]: one loss evaluation per step, and no step length that depends
on the objective's units.

Why not ``torch.optim.LBFGS``: run one iteration at a time without a line search (one
forward+backward per step, as Gatys' and Johnson's implementations do), torch's version

* takes a first step of ``min(1, 1/|g|_1)`` -- a length in the *loss's* units, so a loss of 1e15
  (Caffe-scale features from noise) moves the pixels by 1e-9 and one of 1e-3 by a whole image;
* drops every curvature pair with ``y.s <= 1e-10`` -- an absolute threshold, so on a small loss
  every pair is dropped and it stays at plain gradient descent with step 1 (the "flat start"),
  while whether a borderline pair passes depends on the CPU's float rounding;
* remembers the step it *proposed*, not the one taken after the pixels are clamped to [0, 1].

Here the first step moves the pixels by ``first_step`` (RMS, in [0, 1] units) whatever the loss's
scale, and while no curvature pair has been kept (from noise a Gram loss curves the wrong way at
first) each further gradient step is twice as long as the last, up to the trust radius; curvature
pairs are tested relative to their own size; ``s`` is the real, projected displacement; variables
pinned at a bound with the gradient pushing outwards are left out of the direction (a projected
L-BFGS in the spirit of L-BFGS-B, without its subspace minimisation); and a step that raises the
loss is taken back and retried shorter from the old point, so the run can slow down but not run
away.

The trust region (Nocedal & Wright, ch. 4, with the L-BFGS step scaled back to the radius instead
of a dogleg): no step moves the pixels by more than ``radius`` (RMS, pixel units). L-BFGS's model
of the loss is quadratic, and a Gram loss is quartic in the pixels, so far from the current point
the model can be poor: measured on a texture from noise, an uncapped quasi-Newton step after eight
short ones overshot ~500x and the run then crawled for twenty steps. How far the model can be
trusted is measured at every step by the ratio test: rho = the decrease achieved / the decrease
the quadratic model predicted. After rho > 3/4 on a step cut back to the radius the radius doubles
(up to ``max_radius``); after rho < 1/4 (or a rise) it becomes 1/4 to 1/2 of the step just taken
(down to ``min_radius``), and a rejected step still leaves its curvature pair in the memory. It
starts at ``radius``, 0.05 RMS: on a texture from noise the fixed radius that worked best (0.05
beat 0.02 and 0.1). Measured (benchmarks/engine.py): at 64-256 px the radius binds only in the
first steps from noise, where a quasi-Newton step overshoots; after that the L-BFGS steps are
shorter than 0.05 RMS on textures, transfers and content reconstructions alike, so a fixed radius
was not what limited them. Everything is invariant to multiplying the loss by a constant.

The preconditioner (Nocedal & Wright, sec. 7.2: any symmetric positive definite H0 in place of
gamma * I): with ``precondition=P`` the two-loop recursion starts from H0 = gamma * P, gamma =
s.y / y.P.y of the newest pair, and the first gradient steps go along -P g. Once the trust region
stops binding, the radius was not the limit: on a content reconstruction from noise every ratio
test passed (rho ~ 1) while the steps shrank from 0.01 to 0.0005 RMS -- an accurate model of an
ill-conditioned loss. VGG's deep layers barely respond to a pixel's finest frequencies and
strongly to coarse ones, so :func:`spectral_preconditioner` damps each spatial frequency f of the
step (cycles per image side) by max(f, 1)^-power. Measured at 256 px with power 0.5 (helpers.options has the table),
it reaches the plain version's 100-step loss in about 60 steps on a content reconstruction from
noise and 80 on a texture; on transfers it depends on the style, from 54 steps (stained glass) to
no gain (op art ends 1 % higher). It is the engine's ``precondition`` option: 0.5 by default, off with masks.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import torch


class BoxLBFGS:
    """Minimise ``closure()`` over the tensor ``x`` (requires_grad) with ``lo <= x <= hi``.

    ``closure`` zeroes ``x.grad``, computes the loss, calls backward and returns the loss.
    ``step(closure)`` evaluates it once at the current ``x`` and moves ``x`` (in place); it returns
    the loss at the point evaluated, like torch's optimisers. ``radius`` is the trust region's
    current size (RMS per step, pixel units) and ``rho`` the last ratio test's value.
    ``precondition``: a symmetric positive definite linear map P on flat vectors (None: identity),
    e.g. :func:`spectral_preconditioner` for an image.
    """

    #: ratio test thresholds and radius factors (the textbook's 1/4, 3/4, x2; x1/4 to x1/2)
    POOR, GOOD, GROW, SHRINK, SHRINK_MAX = 0.25, 0.75, 2.0, 0.25, 0.5

    def __init__(self, x: torch.Tensor, *, history: int = 20, lo: float = 0.0, hi: float = 1.0,
                 first_step: float = 0.01, radius: float = 0.05, min_radius: float = 1e-4,
                 max_radius: float = 0.5, curvature_eps: float = 1e-8,
                 precondition: Callable[[torch.Tensor], torch.Tensor] | None = None):
        if not 0 < min_radius <= radius <= max_radius:
            raise ValueError(f"need 0 < min_radius <= radius <= max_radius, got {min_radius}, "
                             f"{radius}, {max_radius}")
        self.x, self.lo, self.hi = x, lo, hi
        self.precondition = precondition or (lambda v: v)
        self.first_step, self.eps = first_step, curvature_eps
        self.radius, self.min_radius, self.max_radius = radius, min_radius, max_radius
        self.pairs: deque = deque(maxlen=history)  # (s, y, 1 / y.s)
        self.gamma: float | None = None  # H0 = gamma * I, gamma = s.y / y.y of the newest pair
        self.prev: tuple | None = None  # (x, loss, grad) of the last accepted point
        self.gradient_step = first_step  # length (RMS) of the next plain gradient step
        self.rejected = 0
        self.rho: float | None = None
        self._last: tuple | None = None  # (predicted decrease or None, length, at the boundary)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.x.grad = None

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        with torch.enable_grad():
            loss = closure()
        f = float(loss)
        g = self.x.grad.detach().flatten().float()
        x = self.x.detach().flatten().float()
        if self.prev is not None and not (f <= self.prev[1]):  # worse (or nan): take the step back
            self.rho = -math.inf if not math.isfinite(f) else (self.prev[1] - f) / self._predicted()
            self._resize(self.rho, f)
            if math.isfinite(f):  # the step is undone, but the curvature it measured is real
                self._remember(x - self.prev[0], g - self.prev[2])
            x, f, g = self.prev
            self.rejected += 1
        else:
            if self.prev is not None:
                self.rho = (self.prev[1] - f) / self._predicted()
                self._resize(self.rho, f)
                self._remember(x - self.prev[0], g - self.prev[2])
            self.prev = (x.clone(), f, g.clone())
        d, curvature = self._direction(x, g)
        rms = float(d.pow(2).mean().sqrt())
        t = min(1.0, self.radius / rms) if rms > 0 else 1.0  # the trust region: |t d| <= radius
        new = (x + t * d).clamp_(self.lo, self.hi)
        # the model's predicted decrease for the step taken: linear term exact for the projected
        # step, quadratic term d.B.d = -g.d (B d = -g for the L-BFGS direction) scaled by t^2
        linear = -float(g @ (new - x))
        predicted = None if curvature is None else linear - 0.5 * t * t * curvature
        self._last = (predicted, linear, t * rms, t < 1.0)
        self.x.copy_(new.view_as(self.x))
        return loss

    def _predicted(self) -> float:
        predicted, linear, _, _ = self._last
        p = linear if predicted is None else predicted
        return p if p > 0 else math.inf  # no decrease predicted: any rise is a poor step

    def _resize(self, rho: float, f: float) -> None:
        """The ratio test: grow the radius after a good step at its edge, shrink after a poor one.

        A poor step's radius shrinks to where a parabola through the loss along that step (its
        slope at the start and the loss at the end) has its minimum, kept within [1/4, 1/2] of
        the step's length: a step that overshot far is cut more than one that nearly worked.
        """
        predicted, linear, length, at_edge = self._last
        fraction = self.SHRINK
        if math.isfinite(f):
            bend = 2 * (linear - (self.prev[1] - f))  # f(u) = f0 - linear u + bend u^2 / 2
            fraction = min(self.SHRINK_MAX, max(self.SHRINK, linear / bend if bend > 0 else 1.0))
        if predicted is None:  # a gradient step has no model to judge: only a rise shortens it
            if rho < 0:
                self.gradient_step = max(self.min_radius, fraction * length)
        elif rho < self.POOR:
            self.radius = max(self.min_radius, fraction * min(length, self.radius))
        elif rho > self.GOOD and at_edge:
            self.radius = min(self.max_radius, self.GROW * self.radius)

    def _remember(self, s: torch.Tensor, y: torch.Tensor) -> None:
        ys, yy, ss = float(y @ s), float(y @ y), float(s @ s)
        # A pair is kept when it shows positive curvature relative to its own size: scale-free, so
        # the same pairs are kept whatever the loss's units (torch's test is ys > 1e-10 absolute).
        if ys > self.eps * math.sqrt(yy * ss) and yy > 0:
            self.pairs.append((s, y, 1.0 / ys))
            self.gamma = ys / float(y @ self.precondition(y))  # ys / yy without a preconditioner

    def _direction(self, x: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, float | None]:
        """(direction, its curvature -g.d for the quadratic model; None for a gradient step)."""
        # Pixels at a bound whose gradient pushes them further out cannot move: leave them out
        pinned = ((x <= self.lo) & (g > 0)) | ((x >= self.hi) & (g < 0))
        q = g.masked_fill(pinned, 0.0)
        if not self.pairs:  # no curvature known yet: a gradient step, each twice the last
            q = self.precondition(q).masked_fill_(pinned, 0.0)
            rms, length = float(q.pow(2).mean().sqrt()), min(self.gradient_step, self.radius)
            self.gradient_step = min(2 * length, self.radius)
            return (q.mul_(-length / rms) if rms > 0 else q), None
        self.gradient_step = self.first_step
        alphas = []
        for s, y, rho in reversed(self.pairs):  # two-loop recursion (Nocedal & Wright, alg. 7.4)
            a = rho * float(s @ q)
            q.sub_(y, alpha=a)
            alphas.append(a)
        q = self.precondition(q).mul_(self.gamma)
        for (s, y, rho), a in zip(self.pairs, reversed(alphas)):
            q.add_(s, alpha=a - rho * float(y @ q))
        d = q.neg_().masked_fill_(pinned, 0.0)
        descent = -float(d @ g)
        if descent <= 0:  # not a descent direction (rare, after masking): restart memory
            self.pairs.clear()
            return self._direction(x, g)
        return d, descent


def spectral_preconditioner(shape, power: float = 1.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """P for images of ``shape`` (..., H, W), flattened: each spatial frequency f (cycles per
    image side, per channel) scaled by max(f, 1)^-power -- symmetric, positive definite, identity
    for power 0. The lowest frequencies (and the mean) keep weight 1; the highest of a 512-px image
    get 1/362 at power 1. A real filter with even weights: P is its own transpose.
    """
    *lead, H, W = shape
    n = max(H, W)
    fy = torch.fft.fftfreq(H, d=1 / n).abs().view(-1, 1)
    fx = torch.fft.rfftfreq(W, d=1 / n).view(1, -1)
    weight = (fy.square() + fx.square()).sqrt().clamp_min(1.0).pow(-power)

    def apply(v: torch.Tensor) -> torch.Tensor:
        nonlocal weight
        if weight.device != v.device:  # moved once, on the first call
            weight = weight.to(v.device)
        return torch.fft.irfft2(torch.fft.rfft2(v.view(*lead, H, W)) * weight, s=(H, W)).flatten()
    return apply
