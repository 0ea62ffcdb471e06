"""The orthogonal polynomials of ``torch.special`` (Chebyshev T, U, V, W and their shifted forms,
Hermite H and He, Laguerre L, Legendre P), evaluated as PyTorch does, so that its results are
matched closely in its own dtype:

* the degree is the number truncated toward zero; a negative degree, nan, +-inf and numbers past
  the int64 range give 0;
* the three-term recurrence, run per element up to its own degree;
* PyTorch's shortcuts: the values at the endpoints (x = +-1, or x = 1 and 0 for the shifted
  forms), the closed trigonometric forms for |x| < 1 above a degree (cos(n acos x) for T...),
  Laguerre's 1 at x = 0, and nan for Hermite degrees above 512 (float64) or 128.

``x`` is a float array and ``n`` an array broadcast with it; all arithmetic stays in ``x``'s dtype.
"""

from __future__ import annotations

import math

_INT64_LIMIT = 2.0 ** 63
_NAN_CHECK_EVERY = 64  # the recurrences stop early once every running value is inf or nan


def degree(m, n):
    """n as PyTorch casts it to int64 (truncated); -1 where that cast is undefined."""
    if n.dtype.kind in "iub":
        return n.astype("int64")
    ok = m.isfinite(n) & (m.abs(n) < _INT64_LIMIT)
    return m.where(ok, m.trunc(m.where(ok, n, -1.0)), -1.0).astype("int64")


def _recurrence(m, x, degrees, p0, p1, step, first: int):
    """q_n for each element's degree n (0 where the result is not kept): q_0 = p0, q_1 = p1 and
    q_k = step(k', q_{k-1}, q_{k-2}) with k' = k - 2 + first (each formula's own index)."""
    steps = m.maximum(degrees - 1, 0)
    last = int(m.max(steps)) if steps.size else 0
    p, q = m.ones_like(x) * p0, p1  # (0 * x would turn an infinite x into nan)
    for i in range(last):
        active = i < steps
        r = step(first + i, q, p)
        p, q = m.where(active, q, p), m.where(active, r, q)
        if i % _NAN_CHECK_EVERY == _NAN_CHECK_EVERY - 1 and not bool(
                m.any(active & m.isfinite(q))):
            break
    return q


def _finish(m, x, n, low_degrees, out):
    """Degrees 0 and 1, then 0 for negative degrees."""
    out = m.where(n == 1, low_degrees, out)
    out = m.where(n == 0, 1.0, out)
    return m.where(n < 0, 0.0, out).astype(x.dtype, copy=False)


# ---------------------------------------------------------------------------- Chebyshev
# kind -> (the degree above which |y| < 1 takes the trigonometric form (plain, shifted),
#          q_1 - 2y (None for T: q_1 = y))
_CHEBYSHEV = {"t": ((6, 6), None), "u": ((8, 6), 0.0), "v": ((8, 6), -1.0), "w": ((8, 4), 1.0)}


def _chebyshev_endpoints(m, kind, n, sign):
    """The values at y = +1 (sign 1) and y = -1: T 1, U n+1, V 1, W 2n+1 at +1; at -1,
    (-1)^n times T 1, U n+1, V 2n+1, W 1."""
    nf = n.astype("float64")
    odd = m.where(n % 2 == 1, -1.0, 1.0)
    at_plus = {"t": 1.0 + 0 * nf, "u": nf + 1, "v": 1.0 + 0 * nf, "w": 2 * nf + 1}[kind]
    at_minus = {"t": odd, "u": odd * (nf + 1), "v": odd * (2 * nf + 1), "w": odd}[kind]
    return m.where(sign > 0, at_plus, at_minus)


def _chebyshev_trig(m, kind, y, n):
    theta = m.arccos(m.minimum(m.maximum(y, -1.0), 1.0))
    nf = n.astype(y.dtype)
    if kind == "t":
        return m.cos(nf * theta), None
    if kind == "u":
        den = m.sin(theta)
        return m.sin((nf + 1) * theta) / m.where(den == 0, 1.0, den), den == 0
    if kind == "v":
        den = m.cos(theta / 2)
        return m.cos((nf + 0.5) * theta) / m.where(den == 0, 1.0, den), m.sin(theta / 2) == 1
    den = m.sin(theta / 2)
    return m.sin((nf + 0.5) * theta) / m.where(den == 0, 1.0, den), m.cos(theta / 2) == 1


def chebyshev(m, kind: str, x, n, shifted: bool = False):
    """Chebyshev polynomial of the first to fourth kind (t, u, v, w) of degree n at x, or of the
    shifted polynomial at x (the plain one at 2x - 1)."""
    n = degree(m, n)
    y = x + x - 1 if shifted else x
    above, offset = _CHEBYSHEV[kind]
    p1 = y if offset is None else y + y + offset
    trig_from = above[shifted]
    inside = m.abs(y) < 1
    use_trig = (n > trig_from) & inside
    at_plus, at_minus = (x == 1, x == 0) if shifted else (x == 1, x == -1)
    # (the recurrence runs only where its result is kept: an endpoint's would run to its degree)
    need = (n >= 2) & ~use_trig & ~at_plus & ~at_minus
    out = _recurrence(m, y, m.where(need, n, 0), 1.0, p1, lambda k, q, p: (y + y) * q - p, 2)
    trig, trig_edge = _chebyshev_trig(m, kind, y, m.where(use_trig, n, 0))
    if trig_edge is not None:
        trig = m.where(trig_edge, _chebyshev_endpoints(m, kind, n, y), trig)
    out = m.where(use_trig, trig, out)
    out = _finish(m, x, n, p1, out)
    ends = _chebyshev_endpoints(m, kind, n, m.where(at_plus, 1.0, -1.0)).astype(x.dtype)
    return m.where((at_plus | at_minus) & (n >= 0), ends, out)


# ------------------------------------------------------------ Hermite, Laguerre, Legendre
def hermite_h(m, x, n):
    """The physicists' Hermite polynomial: H_{k+1} = 2x H_k - 2k H_{k-1}."""
    n = degree(m, n)
    limit = 512 if x.dtype.itemsize == 8 else 128
    out = _recurrence(m, x, m.where((n >= 2) & (n <= limit), n, 0), 1.0, x + x,
                      lambda k, q, p: (x + x) * q - (2 * (k - 1)) * p, 2)
    out = m.where(n > limit, math.nan, out)
    return _finish(m, x, n, x + x, out)


def hermite_he(m, x, n):
    """The probabilists' Hermite polynomial: He_{k+1} = x He_k - k He_{k-1}."""
    n = degree(m, n)
    limit = 512 if x.dtype.itemsize == 8 else 128
    out = _recurrence(m, x, m.where((n >= 2) & (n <= limit), n, 0), 1.0, x,
                      lambda k, q, p: x * q - (k - 1) * p, 2)
    out = m.where(n > limit, math.nan, out)
    return _finish(m, x, n, x, out)


def laguerre_l(m, x, n):
    """Laguerre's polynomial: (k+1) L_{k+1} = (2k + 1 - x) L_k - k L_{k-1}; 1 at x = 0."""
    n = degree(m, n)
    one_minus_x = 1 - x
    out = _recurrence(m, x, m.where((n >= 2) & (x != 0), n, 0), 1.0, one_minus_x,
                      lambda k, q, p: (((k + k) + one_minus_x) * q - k * p) / (k + 1), 1)
    out = _finish(m, x, n, one_minus_x, out)
    return m.where((x == 0) & (n >= 0), 1.0, out).astype(x.dtype, copy=False)


def legendre_p(m, x, n):
    """Legendre's polynomial: (k+1) P_{k+1} = (2k+1) x P_k - k P_{k-1}; +-1 at x = +-1."""
    n = degree(m, n)
    out = _recurrence(m, x, m.where((n >= 2) & (m.abs(x) != 1), n, 0), 1.0, x,
                      lambda k, q, p: ((k + k + 1) * x * q - k * p) / (k + 1), 1)
    out = _finish(m, x, n, x, out)
    ends = m.where((x > 0) | (n % 2 == 0), 1.0, -1.0)
    return m.where((m.abs(x) == 1) & (n >= 0), ends, out).astype(x.dtype, copy=False)
