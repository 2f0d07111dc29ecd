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
first) each further gradient step is twice as long as the last, up to ``max_step``; curvature
pairs are tested relative to their own size; ``s`` is the real, projected displacement; variables
pinned at a bound with the gradient pushing outwards are left out of the direction (a projected
L-BFGS in the spirit of L-BFGS-B, without its subspace minimisation); and a
step that raises the loss is taken back and retried at half the length from the old point, so the
run can slow down but not run away. No step moves the pixels by more than ``max_step`` (RMS): a
trust region in pixel units. L-BFGS's model of the loss is quadratic, and a Gram loss is quartic in
the pixels, so far from the current point the model is poor: measured on a texture from noise, an
uncapped quasi-Newton step after eight short ones overshot ~500x, and the run then crawled for
twenty steps while its length recovered. Everything is invariant to multiplying the loss by a
constant.
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
    the loss at the point evaluated, like torch's optimisers.
    """

    def __init__(self, x: torch.Tensor, *, history: int = 20, lo: float = 0.0, hi: float = 1.0,
                 first_step: float = 0.01, max_step: float = 0.05, curvature_eps: float = 1e-8):
        self.x, self.lo, self.hi = x, lo, hi
        self.first_step, self.max_step, self.eps = first_step, max_step, curvature_eps
        self.pairs: deque = deque(maxlen=history)  # (s, y, 1 / y.s)
        self.gamma: float | None = None  # H0 = gamma * I, gamma = s.y / y.y of the newest pair
        self.prev: tuple | None = None  # (x, loss, grad) of the last accepted point
        self.shrink = 1.0  # halved after each rejected step, restored after an accepted one
        self.gradient_step = first_step  # length (RMS) of the next plain gradient step
        self.rejected = 0

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
            x, f, g = self.prev
            self.shrink *= 0.5
            self.rejected += 1
        else:
            if self.prev is not None:
                self._remember(x - self.prev[0], g - self.prev[2])
            self.prev = (x.clone(), f, g.clone())
            self.shrink = min(1.0, self.shrink * 2)
        d = self._direction(x, g)
        rms = float(d.pow(2).mean().sqrt())
        if rms > self.max_step:  # the trust region (measured: 0.05 beats 0.02 and 0.1 on textures)
            d.mul_(self.max_step / rms)
        new = (x + self.shrink * d).clamp_(self.lo, self.hi)
        self.x.copy_(new.view_as(self.x))
        return loss

    def _remember(self, s: torch.Tensor, y: torch.Tensor) -> None:
        ys, yy, ss = float(y @ s), float(y @ y), float(s @ s)
        # A pair is kept when it shows positive curvature relative to its own size: scale-free, so
        # the same pairs are kept whatever the loss's units (torch's test is ys > 1e-10 absolute).
        if ys > self.eps * math.sqrt(yy * ss) and yy > 0:
            self.pairs.append((s, y, 1.0 / ys))
            self.gamma = ys / yy

    def _direction(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        # Pixels at a bound whose gradient pushes them further out cannot move: leave them out
        pinned = ((x <= self.lo) & (g > 0)) | ((x >= self.hi) & (g < 0))
        q = g.masked_fill(pinned, 0.0)
        if not self.pairs:  # no curvature known yet: a gradient step, each twice the last
            rms, length = float(q.pow(2).mean().sqrt()), self.gradient_step
            self.gradient_step = min(2 * length, self.max_step)
            return q.mul_(-length / rms) if rms > 0 else q
        self.gradient_step = self.first_step
        alphas = []
        for s, y, rho in reversed(self.pairs):  # two-loop recursion (Nocedal & Wright, alg. 7.4)
            a = rho * float(s @ q)
            q.sub_(y, alpha=a)
            alphas.append(a)
        q.mul_(self.gamma)
        for (s, y, rho), a in zip(self.pairs, reversed(alphas)):
            q.add_(s, alpha=a - rho * float(y @ q))
        d = q.neg_().masked_fill_(pinned, 0.0)
        if float(d @ g) >= 0:  # not a descent direction (rare, after masking): restart memory
            self.pairs.clear()
            return self._direction(x, g)
        return d
