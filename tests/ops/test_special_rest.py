"""``gpugrad.special``'s Bessel functions of the second kind, modified ones of the second kind
(and scaled), ``airy_ai``, ``gammainc``/``gammaincc`` (and ``igamma``/``igammac``) and the
orthogonal polynomials, against torch.special, and against mpmath's values (30 digits, rounded
to 17) where torch's own float64 results are not accurate: its ``bessel_y0``/``y1`` are off by up
to ~1e-6 near x = 5 and lose the phase past ~1e16 (it rounds x - pi/4), its ``airy_ai`` by up
to ~6e-6 near x = -2.09, its ``gammainc`` by up to ~2e-9 (and far more for a near 0)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

INF, NAN = np.inf, np.nan
X = np.array([0.0, -0.0, -1.0, -1e-3, 1e-300, 1e-8, 0.3, 0.999, 1.0, 1.001, 1.99, 2.0, 2.01,
              4.99, 5.0, 5.01, 8.0, 19.99, 20.0, 20.01, 24.99, 25.01, 30.0, 100.0, 700.0,
              709.0, 745.0, 1e4, INF, -INF, NAN])
Y_NAMES = ["bessel_y0", "bessel_y1"]
K_NAMES = ["modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
           "scaled_modified_bessel_k1"]
UNARY = [*Y_NAMES, *K_NAMES, "airy_ai"]


def _both(name, x, dtype=np.float64):
    with np.errstate(all="ignore"):
        ours = getattr(gpugrad.special, name)(gpugrad.tensor(x.astype(dtype))).numpy()
    ref = getattr(torch.special, name)(torch.tensor(x.astype(dtype))).numpy()
    return ours, ref


def _close(ours, ref, rtol, atol=0.0):
    """assert_allclose, with ``atol`` one number or one per element."""
    ours, ref = np.asarray(ours), np.asarray(ref)
    if np.ndim(atol) == 0:
        np.testing.assert_allclose(ours, ref, rtol=rtol, atol=atol, equal_nan=True)
        return
    same = (ours == ref) | (np.isnan(ours) & np.isnan(ref))
    with np.errstate(invalid="ignore"):
        ok = same | (np.abs(ours - ref) <= np.asarray(atol) + rtol * np.abs(ref))
    assert ok.all(), (ours[~ok], ref[~ok])


# ---------------------------------------------------------------------- unary functions
@pytest.mark.parametrize("name", K_NAMES)
def test_k_match_torch(name):
    rng = np.random.default_rng(0)
    x = np.concatenate([X, rng.uniform(0, 40, 400), np.geomspace(1e-6, 700, 200)])
    _close(*_both(name, x), 2e-14, atol=1e-320)  # (subnormal results at 709 keep fewer bits)
    _close(*_both(name, x[np.abs(x) < 80], np.float32), 2e-6, atol=1e-44)


@pytest.mark.parametrize("name", Y_NAMES)
def test_y_match_torch(name):
    rng = np.random.default_rng(1)
    x = np.concatenate([X, rng.uniform(0, 60, 400), np.geomspace(1e-6, 1e4, 200)])
    ours, ref = _both(name, x)
    edges = ~np.isfinite(ref) | (x <= 0)
    np.testing.assert_array_equal(ours[edges], ref[edges])  # -inf at 0, nan below and at inf
    # torch's own error reaches ~1e-6 near x = 5 (see the reference values below)
    amplitude = np.minimum(np.abs(ref), 1.0) + np.sqrt(2 / np.pi / np.maximum(x, 1))
    _close(ours[~edges], ref[~edges], 1e-14, atol=(2e-6 * amplitude)[~edges])
    small = (x > 0) & (x < 30)
    ours32, ref32 = _both(name, x[small], np.float32)
    _close(ours32, ref32, 1e-5, atol=3e-6)


# mpmath's values at these x (the large ones past what torch gets right)
Y_X = [0.1, 1.5, 3.9576784193148578, 7.3, 17.0, 26.5, 1e3, 1e300]
Y_REF = {"bessel_y0": [-1.5342386513503668, 0.38244892379775884, -4.3331064642935196e-17,
                       0.062773886374037598, -0.092637198442323693, 0.084563135740292735,
                       0.0047159179776228134, -1.368136045034248e-151],
         "bessel_y1": [-6.4589510947020266, -0.4123086269739113, 0.40254267177502422,
                       -0.28459437186807211, 0.16720503607723369, -0.12830572773177323,
                       -0.024784331292351779, 7.8606730627240933e-151]}
K_X = Y_X[:6]
K_REF = {"modified_bessel_k0": [2.4270690247020166, 0.21380556264752574, 0.011701002022691449,
                                0.0003083622130609318, 1.2494664026317732e-8,
                                7.5096878960894713e-13],
         "modified_bessel_k1": [9.8538447808706056, 0.27738780045684382, 0.013103214756790021,
                                0.00032884199678432632, 1.2857041671666646e-8,
                                7.6500910825372149e-13]}
AI_X = [-1e3, -30.5, -9.7, -4.2, -2.5, 0.7, 1.31, 5.0, 12.0, 100.0]
AI_REF = [0.055971895773019919, -0.0043336372887428654, 0.28023750191629778,
          0.089210763239450718, -0.11232506769296609, 0.18916240039815008,
          0.092277392441428043, 0.00010834442813607442, 1.3931846888753608e-13,
          2.6344821520881845e-291]


def test_reference_values():
    for name, ref in {**Y_REF, **K_REF}.items():
        xs = Y_X if name in Y_REF else K_X
        ours = getattr(gpugrad.special, name)(gpugrad.tensor(xs, dtype=gpugrad.float64))
        # Y0's zero near 3.96: an absolute error of 1e-16 there
        _close(ours.numpy(), ref, 1e-13, atol=3e-16)
    ours = gpugrad.special.airy_ai(gpugrad.tensor(AI_X, dtype=gpugrad.float64)).numpy()
    # zeta = (2/3) |x|^1.5 carries float64's rounding (~ulps of zeta): in the phase for x < 0
    # (an error ~1e-16 zeta relative to the amplitude), in exp(-zeta) for x > 0
    zeta = 2 / 3 * np.abs(AI_X) ** 1.5
    amplitude = np.where(np.array(AI_X) < 0, np.abs(AI_X) ** -0.25, 0.0)
    _close(ours, AI_REF, 2e-13 + 3e-16 * zeta * (np.array(AI_X) > 0),
           atol=5e-16 * zeta * amplitude)


def test_airy_matches_torch():
    rng = np.random.default_rng(2)
    x = np.concatenate([X, rng.uniform(-40, 40, 600), [103.8, 103.9, 110.0, -1e3]])
    ours, ref = _both("airy_ai", x)
    # torch's own error reaches ~6e-6 near -2.09 (relative to Ai's amplitude there)
    amplitude = np.where(x < 0, np.abs(np.minimum(x, -1)) ** -0.25, 0)
    _close(ours, ref, 1e-12, atol=1e-5 * amplitude + 1e-300)
    assert ours[x == 110.0] == 0 and np.isnan(ours[np.abs(x) == INF]).all()
    x = x[np.abs(x) < 30]
    _close(*_both("airy_ai", x, np.float32), 2e-5, atol=1e-5)


@pytest.mark.parametrize("name", UNARY)
def test_unary_dtypes_shapes_and_no_grad(name):
    fn, ref_fn = getattr(gpugrad.special, name), getattr(torch.special, name)
    out = fn(gpugrad.tensor([1, 2]))
    assert out.dtype == gpugrad.float32
    _close(out.numpy(), ref_fn(torch.tensor([1, 2])).numpy(), 2e-6)
    assert fn(gpugrad.tensor([True])).dtype == gpugrad.float32
    assert fn(gpugrad.zeros(0, 3)).shape == (0, 3)
    base = np.random.default_rng(3).uniform(0.1, 9, (4, 6))
    _close(fn(gpugrad.tensor(base).T[::2]).numpy(), ref_fn(torch.tensor(base).T[::2]).numpy(),
           1e-5)
    t = gpugrad.tensor([1.5], requires_grad=True)
    y = fn(t)
    assert not y.requires_grad and y.grad_fn is None  # as PyTorch's
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()
    with pytest.raises(TypeError, match="must be Tensor"):
        fn(1.0)


def test_bessel_j_float32_middle_range():
    """(Miller's recurrence between 5 and 25 overflowed float32 before bessel_j0/j1 ran in
    float64.)"""
    x = np.array([5.01, 7.5, 12.0, 24.9], dtype=np.float32)
    for name in ("bessel_j0", "bessel_j1"):
        _close(getattr(gpugrad.special, name)(gpugrad.tensor(x)).numpy(),
               getattr(torch.special, name)(torch.tensor(x)).numpy(), 1e-5, atol=1e-6)


# ------------------------------------------------------------------ incomplete gamma
def _gamma_points():
    rng = np.random.default_rng(4)
    a = 10 ** rng.uniform(-4, 4, 500)
    x = a * 10 ** rng.uniform(-1.5, 1, 500)
    a2, x2 = 10 ** rng.uniform(-3, 3, 300), 10 ** rng.uniform(-3, 3.3, 300)
    return np.concatenate([a, a2]), np.concatenate([x, x2])


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_gammainc_matches_torch(name):
    a, x = _gamma_points()
    ours = getattr(gpugrad.special, name)(gpugrad.tensor(a), gpugrad.tensor(x)).numpy()
    ref = getattr(torch.special, name)(torch.tensor(a), torch.tensor(x)).numpy()
    # torch's own error reaches ~2e-9 (its uniform asymptotic expansion near a = x)
    _close(ours, ref, 1e-8, atol=1e-300)
    ours = getattr(gpugrad.special, name)(gpugrad.tensor(a, dtype=gpugrad.float32),
                                         gpugrad.tensor(x, dtype=gpugrad.float32)).numpy()
    ref = getattr(torch.special, name)(torch.tensor(a, dtype=torch.float32),
                                       torch.tensor(x, dtype=torch.float32)).numpy()
    _close(ours, ref, 2e-4, atol=1e-6)


GAMMA_PTS = [(1e-10, 0.5), (0.5, 2.0), (20.5, 19.0), (1e6, 1e6 + 300), (3.0, 0.01),
             (1e3, 1.5e3), (0.24, 1.2559810626915724)]
P_REF = [0.99999999994402264, 0.95449973610364159, 0.39528285076287243, 0.61802710338800816,
         1.6542165280748769e-7, 1.0, 0.95541813211783797]
Q_REF = [5.5977359480549881e-11, 0.045500263896358414, 0.60471714923712757,
         0.38197289661199184, 0.99999983457834719, 2.2046986113889961e-43,
         0.044581867882162032]


def test_gammainc_reference_values_and_edges():
    a = gpugrad.tensor([p[0] for p in GAMMA_PTS], dtype=gpugrad.float64)
    x = gpugrad.tensor([p[1] for p in GAMMA_PTS], dtype=gpugrad.float64)
    _close(gpugrad.special.gammainc(a, x).numpy(), P_REF, 1e-12)
    _close(gpugrad.special.gammaincc(a, x).numpy(), Q_REF, 1e-12)
    a = np.array([0, 0, 0, -1, 1, INF, INF, INF, 1, 1, NAN, 1, 2, 0.5, 1e300, 5, 1e-300])
    x = np.array([0, 1, INF, 1, -1, 1, INF, 0, 0, INF, 1, NAN, INF, 1e300, 1e300, 1e-300, 0])
    for name in ("gammainc", "gammaincc"):
        ours = getattr(gpugrad.special, name)(gpugrad.tensor(a), gpugrad.tensor(x)).numpy()
        ref = getattr(torch.special, name)(torch.tensor(a), torch.tensor(x)).numpy()
        np.testing.assert_array_equal(ours, ref)


def test_gammainc_gradient_rules():
    a_np, x_np = np.array([1.5, 2.0, 0.3, 40.0]), np.array([0.7, 3.0, 2.5, 38.0])
    for name, torch_fn in (("igamma", torch.igamma), ("igammac", torch.igammac)):
        x = gpugrad.tensor(x_np, requires_grad=True)
        tx = torch.tensor(x_np, requires_grad=True)
        y, ty = getattr(gpugrad, name)(gpugrad.tensor(a_np), x), torch_fn(torch.tensor(a_np), tx)
        assert y.grad_fn.name() == ty.grad_fn.name()
        (g,) = gpugrad.autograd.grad(y.sum(), x, create_graph=True)
        (tg,) = torch.autograd.grad(ty.sum(), tx, create_graph=True)
        _close(g.detach().numpy(), tg.detach().numpy(), 1e-12)
        _close(gpugrad.autograd.grad(g.sum(), x)[0].numpy(),
               torch.autograd.grad(tg.sum(), tx)[0].numpy(), 1e-12)
        a = gpugrad.tensor(a_np, requires_grad=True)
        with pytest.raises(NotImplementedError, match=f"derivative for '{name}: input' is not"):
            getattr(gpugrad, name)(a, gpugrad.tensor(x_np)).sum().backward()
    x0 = gpugrad.tensor([0.0, 0.0, 1.0], requires_grad=True)
    gpugrad.special.gammainc(gpugrad.tensor([0.5, 2.0, 0.0]), x0).sum().backward()
    np.testing.assert_array_equal(x0.grad.numpy(), [INF, 0.0, 0.0])  # as torch's


def test_gammainc_dtypes_broadcasting_and_errors():
    f64, f32 = gpugrad.float64, gpugrad.float32
    assert gpugrad.special.gammainc(gpugrad.tensor([1, 2]), gpugrad.tensor([1.0], dtype=f64)
                                    ).dtype == f64
    assert gpugrad.special.gammainc(gpugrad.tensor(2.0, dtype=f64), gpugrad.tensor([1.0, 2.0])
                                    ).dtype == f32
    half = gpugrad.special.gammainc(gpugrad.tensor([1.0, 2.0], dtype=gpugrad.float16),
                                    gpugrad.tensor([1.0, 2.0], dtype=gpugrad.float16))
    ref = torch.special.gammainc(torch.tensor([1.0, 2.0], dtype=torch.float16),
                                 torch.tensor([1.0, 2.0], dtype=torch.float16))
    assert half.dtype == gpugrad.float16
    np.testing.assert_array_equal(half.numpy(), ref.numpy())
    base = np.random.default_rng(5).uniform(0.1, 5, (4, 6))
    ours = gpugrad.igammac(gpugrad.tensor(base).T[::2], gpugrad.tensor(base[:1, :3].T))
    _close(ours.numpy(), torch.igammac(torch.tensor(base).T[::2],
                                       torch.tensor(base[:1, :3].T)).numpy(), 1e-12)
    assert gpugrad.special.gammainc(gpugrad.ones(2, 3), gpugrad.ones(4, 1, 3)).shape == (4, 2, 3)
    assert gpugrad.igamma(gpugrad.zeros(0, 2), gpugrad.ones(2)).shape == (0, 2)
    with pytest.raises(RuntimeError, match="must match the size"):
        gpugrad.special.gammainc(gpugrad.ones(2, 3), gpugrad.ones(4, 3))
    with pytest.raises(NotImplementedError, match="\"igamma_cpu\" not implemented for 'Long'"):
        gpugrad.special.gammainc(gpugrad.tensor([1, 2]), gpugrad.tensor([1, 2]))
    with pytest.raises(TypeError, match="argument 'other' \\(position 2\\) must be Tensor"):
        gpugrad.special.gammainc(gpugrad.tensor([1.0]), 1.0)
    with pytest.raises(TypeError, match="argument 'input' \\(position 1\\) must be Tensor"):
        gpugrad.igamma(1.0, gpugrad.tensor([1.0]))


def test_igamma_methods_and_inplace():
    a, x = np.array([1.5, 2.0]), np.array([0.7, 3.0])
    ga, ta = gpugrad.tensor(a), torch.tensor(a)
    _close(ga.igamma(gpugrad.tensor(x)).numpy(), ta.igamma(torch.tensor(x)).numpy(), 1e-14)
    _close(ga.igammac(gpugrad.tensor(x)).numpy(), ta.igammac(torch.tensor(x)).numpy(), 1e-14)
    out = ga.clone()
    assert out.igamma_(gpugrad.tensor(x)) is out
    _close(out.numpy(), ta.clone().igamma_(torch.tensor(x)).numpy(), 1e-14)
    out = ga.clone()
    out.igammac_(gpugrad.tensor(x))
    _close(out.numpy(), ta.clone().igammac_(torch.tensor(x)).numpy(), 1e-14)
    with pytest.raises(RuntimeError, match="can't be cast"):
        gpugrad.tensor([1, 2]).igamma_(gpugrad.tensor([1.0, 2.0]))


# ------------------------------------------------------------------- orthogonal polynomials
POLYNOMIALS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
               "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
               "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
               "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
               "laguerre_polynomial_l", "legendre_polynomial_p"]
PX = np.array([-2.5, -1.0, -0.7, -0.5, 0.0, 1e-3, 0.25, 0.5, 0.9, 1.0, 1.5, 3.0, INF, -INF])
PN = np.array([-3.0, -1.0, -0.5, 0.0, 0.9, 1.0, 2.0, 2.7, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0,
               12.0, 30.0, 100.0, 513.0, NAN, INF, -INF, 1e30])


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomials_match_torch(name):
    fn, ref_fn = getattr(gpugrad.special, name), getattr(torch.special, name)
    x, n = np.meshgrid(PX, PN)
    ours = fn(gpugrad.tensor(x), gpugrad.tensor(n)).numpy()
    ref = ref_fn(torch.tensor(x), torch.tensor(n)).numpy()
    # cos(7 acos 0) is 4e-16, not 0; at degree 513, cos of arguments near 1000 differs by an
    # ulp between NumPy and the C library (7e-12 relative after V's division)
    _close(ours, ref, 1e-10, atol=1e-13)
    rng = np.random.default_rng(6)
    x32 = rng.uniform(-1.2, 1.2, (20, 1)).astype(np.float32)
    n32 = np.arange(0, 13, dtype=np.float32)
    ref32 = ref_fn(torch.tensor(x32), torch.tensor(n32)).numpy()
    # the float32 recurrences cancel (PyTorch's may fuse multiply-adds): an error relative to the
    # largest value of the degree over [-1.2, 1.2]
    scale = np.abs(ref32).max(axis=0, keepdims=True)
    _close(fn(gpugrad.tensor(x32), gpugrad.tensor(n32)).numpy(), ref32, 1e-5,
           atol=np.broadcast_to(1e-6 * scale, ref32.shape))


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomials_nan_x(name):
    """torch returns uninitialized memory for a nan x where its recurrence stops at once (a nan
    start); ours is nan for every degree >= 1 (and 1 for degree 0, as torch)."""
    out = getattr(gpugrad.special, name)(gpugrad.tensor([NAN] * 4), gpugrad.tensor(
        [0.0, 1.0, 2.0, 9.0])).numpy()
    assert out[0] == 1 and np.isnan(out[1:]).all()


@pytest.mark.parametrize("name", ["chebyshev_polynomial_t", "hermite_polynomial_h",
                                  "laguerre_polynomial_l", "legendre_polynomial_p"])
def test_polynomial_forms_and_dtypes(name):
    fn, ref_fn = getattr(gpugrad.special, name), getattr(torch.special, name)
    cases = [(gpugrad.tensor([0.5, 2.0]), 3, torch.tensor([0.5, 2.0]), 3),
             (gpugrad.tensor([1, 2]), 3, torch.tensor([1, 2]), 3),
             (gpugrad.tensor([1, 2]), gpugrad.tensor([3, 2]), torch.tensor([1, 2]),
              torch.tensor([3, 2])),
             (0.5, gpugrad.tensor([3, 2]), 0.5, torch.tensor([3, 2])),
             (0.5, gpugrad.tensor([3.0, 2.0], dtype=gpugrad.float64), 0.5,
              torch.tensor([3.0, 2.0], dtype=torch.float64)),
             (gpugrad.tensor([0.5]), 2.7, torch.tensor([0.5]), 2.7),
             (gpugrad.tensor([True]), 3, torch.tensor([True]), 3),
             (gpugrad.tensor([[0.5], [1.5]]), gpugrad.tensor([1, 2, 3]),
              torch.tensor([[0.5], [1.5]]), torch.tensor([1, 2, 3]))]
    for x, n, tx, tn in cases:
        out, ref = fn(x, n), ref_fn(tx, tn)
        assert str(out.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
        _close(out.numpy(), ref.numpy(), 1e-6)
    base = np.random.default_rng(7).uniform(-1, 1, (4, 6))
    _close(fn(gpugrad.tensor(base).T[::2], 5).numpy(), ref_fn(torch.tensor(base).T[::2], 5
                                                              ).numpy(), 1e-12)
    assert fn(gpugrad.zeros(0, 2), 3).shape == (0, 2)
    assert not fn(gpugrad.tensor([0.5], requires_grad=True), 3).requires_grad
    with pytest.raises(TypeError):
        fn(0.5, 3)
    with pytest.raises(RuntimeError, match="must match the size"):
        fn(gpugrad.ones(2, 3), gpugrad.ones(4, 3))


# x where a degree of 1e12 needs no recurrence to its end: the endpoints, Hermite past its
# limit, Laguerre at 0, and |2x - 1| > 1 or |x| > 1 where the values overflow to nan early (a
# bounded recurrence would run 1e12 steps, in torch too; the trigonometric forms at such a degree
# amplify an ulp of acos, which NumPy and the C library round differently)
HUGE_DEGREE_X = {"chebyshev": [1.0, -1.0, 3.0, -3.0], "shifted": [1.0, 0.0, 3.0, -3.0],
                 "hermite": [0.5, 3.0], "laguerre": [0.0, -3.0], "legendre": [1.0, -1.0, 3.0, -3.0]}


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomials_huge_degrees_take_the_shortcuts(name):
    x = np.array(HUGE_DEGREE_X[name.split("_")[0]])
    n = np.full_like(x, 1e12)
    ours = getattr(gpugrad.special, name)(gpugrad.tensor(x), gpugrad.tensor(n)).numpy()
    ref = getattr(torch.special, name)(torch.tensor(x), torch.tensor(n)).numpy()
    np.testing.assert_array_equal(ours, ref)
