"""The strong Wolfe line search that ``LBFGS(line_search_fn="strong_wolfe")`` runs.

It works on one flat direction ``d`` (a backend array) and calls ``evaluate(t)`` for the loss
and flat gradient at ``x + t * d``. Two phases, as in Nocedal and Wright's Algorithm 3.5 and
minFunc: widen the step until an interval is known to hold a point meeting both Wolfe
conditions (or one is met), then shrink that interval by safeguarded cubic interpolation.
"""

from __future__ import annotations

import math

__all__ = ["cubic_minimizer", "strong_wolfe"]


def cubic_minimizer(x1, f1, g1, x2, f2, g2, bounds=None) -> float:
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, clamped
    to ``bounds`` (default: the interval between the points); the interval's midpoint when the
    cubic has no minimiser."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 ** 2 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    if x1 <= x2:
        t = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        t = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(t, lo), hi)


class _Point:
    """A trial step ``t`` with its loss, flat gradient and slope along the direction."""

    __slots__ = ("t", "f", "g", "slope")

    def __init__(self, t, f, g, slope):
        self.t, self.f, self.g, self.slope = t, f, g, slope


def strong_wolfe(evaluate, dot, d, t, f, g, slope, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                 max_ls=25):
    """Search along ``d`` from loss ``f``, gradient ``g`` and slope ``slope = g . d`` (< 0),
    starting at step ``t``, for a step with sufficient decrease
    (``f(t) <= f + c1 * t * slope``) and a flat enough slope (``|g(t) . d| <= -c2 * slope``).

    ``evaluate(t)`` gives ``(loss, flat grad)`` at step ``t``; ``dot`` is the backend's dot
    product. Returns ``(loss, flat grad, t, evaluations)`` of the best step found within
    ``max_ls`` evaluations."""
    d_max = float(abs(d).max())
    start = _Point(0, f, g, slope)

    def trial(step):
        loss, grad = evaluate(step)
        return _Point(step, loss, grad, float(dot(grad, d)))

    def too_high(p):  # no sufficient decrease (written so that a NaN loss is not "too high")
        return p.f > f + c1 * p.t * slope

    def flat(p):
        return abs(p.slope) <= -c2 * slope

    # Phase 1: grow the step until [prev, new] brackets an acceptable point.
    prev, new = start, trial(t)
    evals, iters = 1, 0
    bracket, done = None, False
    while iters < max_ls:
        if too_high(new) or (iters > 1 and new.f >= prev.f):
            bracket = [prev, new]
            break
        if flat(new):
            bracket, done = [new], True
            break
        if new.slope >= 0:
            bracket = [prev, new]
            break
        step = cubic_minimizer(prev.t, prev.f, prev.slope, new.t, new.f, new.slope,
                               bounds=(new.t + 0.01 * (new.t - prev.t), new.t * 10))
        prev, new = new, trial(step)
        evals += 1
        iters += 1
    if iters == max_ls:
        bracket = [start, new]

    # Phase 2: shrink the bracket, keeping `low` the end with the lower loss.
    low, high = (0, 1) if bracket[0].f <= bracket[-1].f else (1, 0)
    stalled = False
    while not done and iters < max_ls:
        a, b = bracket
        if abs(b.t - a.t) * d_max < tolerance_change:
            break
        step = cubic_minimizer(a.t, a.f, a.slope, b.t, b.f, b.slope)
        # Keep trial steps a tenth of the bracket away from its ends once the interpolation
        # hugs an end twice in a row (or lands on one), so the bracket keeps shrinking.
        left, right = min(a.t, b.t), max(a.t, b.t)
        margin = 0.1 * (right - left)
        if min(right - step, step - left) < margin:
            if stalled or step >= right or step <= left:
                step = right - margin if abs(step - right) < abs(step - left) else left + margin
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        p = trial(step)
        evals += 1
        iters += 1
        if too_high(p) or p.f >= bracket[low].f:
            bracket[high] = p
            low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
        else:
            if flat(p):
                done = True
            elif p.slope * (bracket[high].t - bracket[low].t) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = p

    best = bracket[low]
    return best.f, best.g, best.t, evals
