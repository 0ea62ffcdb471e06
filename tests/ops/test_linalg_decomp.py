"""``gpugrad.linalg`` beyond the registry: failures on values (``LinAlgError`` and the ``_ex``
variants), gradients PyTorch cannot give (checked by finite differences), backward refusals,
the namespace against ``torch.linalg``."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from node_hooks import assert_same_hooked, run_hooked

import gpugrad
from gpugrad.autograd import gradcheck, gradgradcheck

SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])


def _t(a, grad=False):
    return gpugrad.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def test_linalg_error_is_pytorchs_runtime_error_with_its_message():
    assert issubclass(gpugrad.linalg.LinAlgError, RuntimeError)
    for fn in (gpugrad.linalg.inv, gpugrad.inverse):
        with pytest.raises(gpugrad.linalg.LinAlgError, match="linalg.inv: .*singular"):
            fn(_t(np.stack([np.eye(2), SINGULAR])))
    with pytest.raises(gpugrad.linalg.LinAlgError, match="linalg.cholesky: .*positive-definite"):
        gpugrad.linalg.cholesky(_t(-np.eye(2)))
    with pytest.raises(gpugrad.linalg.LinAlgError, match="linalg.solve: .*singular"):
        gpugrad.linalg.solve(_t(SINGULAR), _t(np.ones(2)))


NAN = float("nan")
NOT_PD = {  # matrices that stop the factorization, by PyTorch's info
    "nan first": [[NAN, 0.0], [0.0, 1.0]], "nan last": [[1.0, 0.0], [0.0, NAN]],
    "indefinite": [[1.0, 2.0], [2.0, 1.0]], "negative": [[-1.0, 0.0], [0.0, 2.0]],
    "third minor": [[4.0, 2.0, 2.0], [2.0, 5.0, 3.0], [2.0, 3.0, 1.0]],
    "batched": [[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]],
}


@pytest.mark.parametrize("case", list(NOT_PD))
def test_cholesky_failures_as_pytorchs_with_the_failing_minor(case):
    a = np.array(NOT_PD[case])
    with pytest.raises(torch.linalg.LinAlgError) as want:
        torch.linalg.cholesky(torch.tensor(a))
    with pytest.raises(gpugrad.linalg.LinAlgError) as got:
        gpugrad.linalg.cholesky(_t(a))
    assert str(got.value) == str(want.value)
    assert (gpugrad.linalg.cholesky_ex(_t(a)).info.tolist()
            == torch.linalg.cholesky_ex(torch.tensor(a)).info.tolist())


@pytest.mark.parametrize("matrix", [np.zeros((2, 2)), SINGULAR, np.zeros((3, 2, 2)),
                                    np.stack([np.eye(2), SINGULAR])], ids=str)
def test_inv_failure_names_the_zero_diagonal_element_as_pytorch(matrix):
    with pytest.raises(torch.linalg.LinAlgError) as want:
        torch.linalg.inv(torch.tensor(matrix))
    with pytest.raises(gpugrad.linalg.LinAlgError) as got:
        gpugrad.linalg.inv(_t(matrix))
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("name", ["inv_ex", "cholesky_ex", "solve_ex", "lu_factor_ex"])
def test_ex_variants_report_info_or_raise_when_asked(name):
    bad = np.stack([np.eye(2), SINGULAR if name != "cholesky_ex" else -np.eye(2)])
    args = (_t(bad), _t(bad)) if name == "solve_ex" else (_t(bad),)
    t_args = [torch.tensor(bad) for _ in args]
    ours = getattr(gpugrad.linalg, name)(*args)
    theirs = getattr(torch.linalg, name)(*t_args)
    assert ours.info.dtype is gpugrad.int32
    assert ours.info.tolist() == theirs.info.tolist()
    assert not ours.info[0].item() and ours.info[1].item() > 0
    with pytest.raises(gpugrad.linalg.LinAlgError):
        getattr(gpugrad.linalg, name)(*args, check_errors=True)


def test_slogdet_and_logdet_of_singular_and_negative_determinants():
    sign, logabs = gpugrad.linalg.slogdet(_t(SINGULAR))
    assert sign.item() == 0 and logabs.item() == -math.inf
    assert math.isnan(gpugrad.logdet(_t([[0.0, 1.0], [1.0, 0.0]])).item())
    assert gpugrad.logdet(_t(SINGULAR)).item() == -math.inf


def test_triangular_solve_with_a_zero_pivot_gives_infs_as_pytorch():
    a, b = np.triu(SINGULAR) * [[1, 1], [1, 0]], np.ones((2, 1))
    ours = gpugrad.linalg.solve_triangular(_t(a), _t(b), upper=True).numpy()
    theirs = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=True).numpy()
    np.testing.assert_array_equal(np.isfinite(ours), np.isfinite(theirs))


def test_qr_backward_refusals_as_pytorch():
    a = _t(np.random.default_rng(0).standard_normal((4, 3)), grad=True)
    with pytest.raises(RuntimeError, match="mode='r'"):
        gpugrad.linalg.qr(a, mode="r").R.sum().backward()
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        gpugrad.linalg.qr(a, mode="complete").Q.sum().backward()


def test_gradients_pytorch_cannot_give_match_finite_differences():
    """PyTorch's own backward of torch.vander and of linalg.cond with a norm other than the
    2-norm fails (an in-place write in its graph): finite differences are the oracle."""
    rng = np.random.default_rng(1)
    x = _t(rng.standard_normal(4), grad=True)
    assert gradcheck(lambda v: gpugrad.vander(v, 5), (x,))
    a = _t(rng.standard_normal((3, 3)) + 3 * np.eye(3), grad=True)
    for p in ("fro", "nuc", math.inf, -math.inf, 1, -1):
        assert gradcheck(lambda m, p=p: gpugrad.linalg.cond(m, p), (a,))


def test_eigh_gradient_of_a_nonsymmetric_input_is_pytorchs():
    """Only one triangle is read; PyTorch's gradient is the symmetric one all the same."""
    a = np.random.default_rng(2).standard_normal((3, 3))
    for uplo in ("L", "U"):
        g = _t(a, grad=True)
        t = torch.tensor(a, requires_grad=True)
        for m, x in ((gpugrad, g), (torch, t)):
            w, V = m.linalg.eigh(x, UPLO=uplo)
            ((V * V) @ m.arange(3.0, dtype=x.dtype)).sum().backward()
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), atol=1e-10)


def test_second_derivatives_of_svd_and_eigh():
    rng = np.random.default_rng(3)
    a = _t(rng.standard_normal((3, 2)), grad=True)
    assert gradgradcheck(lambda x: gpugrad.linalg.svdvals(x), (a,))
    s = _t(rng.standard_normal((3, 3)), grad=True)
    assert gradgradcheck(lambda x: gpugrad.linalg.eigvalsh(x + x.mT), (s,))


def test_matrix_exp_of_a_large_matrix_matches_pytorch():
    a = 6 * np.random.default_rng(4).standard_normal((2, 4, 4))
    np.testing.assert_allclose(gpugrad.linalg.matrix_exp(_t(a)).numpy(),
                               torch.linalg.matrix_exp(torch.tensor(a)).numpy(), rtol=1e-9)


def test_torch_cross_without_dim_warns_and_takes_the_first_dim_of_size_3():
    a, b = np.random.default_rng(5).standard_normal((2, 3, 3))
    with pytest.warns(UserWarning, match="without specifying the dim"):
        ours = gpugrad.cross(_t(a), _t(b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.cross(torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_vector_norm_of_order_zero_is_flat():
    """(PyTorch's gradient of the count is none at all; gpugrad's none or zeros.)"""
    x = _t([0.0, 1.5, -2.0], grad=True)
    y = gpugrad.linalg.vector_norm(x, 0)
    assert y.item() == 2.0 and y.requires_grad
    y.backward()
    assert x.grad is None or x.grad.tolist() == [0.0, 0.0, 0.0]
    (g,) = gpugrad.autograd.grad(gpugrad.linalg.vector_norm(x, 0) * 3, x, create_graph=True,
                                 allow_unused=True)
    assert g is None or g.tolist() == [0.0, 0.0, 0.0]


def test_namespace_has_torch_linalg_but_ldl():
    ours = {n for n in dir(gpugrad.linalg) if not n.startswith("_")}
    theirs = {n for n in dir(torch.linalg) if not n.startswith("_")}
    assert theirs - ours == {"common_notes", "ldl_factor", "ldl_factor_ex", "ldl_solve"}
    assert ours <= theirs


def test_det_gradient_at_a_singular_matrix_is_pytorchs_zero():
    a = np.stack([SINGULAR, np.diag([1.0, 1.0]), [[0.0, 0.0], [0.0, 0.0]]])
    g, t = _t(a, grad=True), torch.tensor(a, requires_grad=True)
    gpugrad.linalg.det(g).sum().backward()
    torch.linalg.det(t).sum().backward()
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["lu_factor", "lu_factor_ex"])
def test_lu_factor_node_has_lu_as_its_one_output_as_torch(name, dtype):
    """PyTorch's LinalgLuFactorExBackward0 lists LU only among its outputs: its hooks see one
    gradient, none for the pivots (nor for lu_factor_ex's info)."""
    a = np.random.default_rng(0).standard_normal((2, 3, 3))
    ours, theirs = (run_hooked(m, lambda m, x: getattr(m.linalg, name)(x), a, dtype)
                    for m in (gpugrad, torch))
    assert theirs["node"][0] == "LinalgLuFactorExBackward0"
    assert theirs["seen"]["post"] == theirs["seen"]["pre"] == [(2, 3, 3)]
    assert_same_hooked(ours, theirs, rtol=1e-4 if dtype == "float32" else 1e-10)


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("shapes", [((3, 3), (3, 2)), ((2, 3, 3), (3, 2)), ((3, 3), (4, 3, 2))])
def test_cholesky_solve_gradient_reaches_the_whole_factor_as_torch(upper, shapes):
    """PyTorch differentiates A = L L^T with every entry of the factor, the ones the solves
    never read too; batch dims broadcast."""
    rng = np.random.default_rng(4)
    shape_l, shape_b = shapes
    low = np.tril(rng.standard_normal(shape_l)) + 3 * np.eye(3)
    factor = np.swapaxes(low, -1, -2).copy() if upper else low
    b = rng.standard_normal(shape_b)
    grads = []
    for lib in (torch, gpugrad):
        f, r = lib.tensor(factor, requires_grad=True), lib.tensor(b, requires_grad=True)
        x = lib.cholesky_solve(r, f, upper=upper)
        (x * lib.tensor(np.cos(np.arange(x.numel())).reshape(tuple(x.shape)))).sum().backward()
        assert type(x.grad_fn).__name__ == "CholeskySolveBackward0"
        grads.append((x.detach().numpy(), f.grad.numpy(), r.grad.numpy()))
        inv = lib.tensor(low if low.ndim == 2 else low[0], requires_grad=True)
        lib.cholesky_inverse(inv).sum().backward()
        grads.append((inv.grad.numpy(),))
    for ours, theirs in zip(grads[2:], grads[:2]):
        for a, e in zip(ours, theirs):
            np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float32")])
@pytest.mark.parametrize("left", [True, False])
def test_solve_triangular_takes_mixed_dtypes_in_as_dtype_as_pytorch(dtypes, left):
    seen = []
    for lib in (torch, gpugrad):
        A = lib.tensor([[2.0, 0.0], [1.0, 3.0]], dtype=getattr(lib, dtypes[0]),
                       requires_grad=True)
        B = lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=getattr(lib, dtypes[1]),
                       requires_grad=True)
        X = lib.linalg.solve_triangular(A, B, upper=False, left=left)
        X.sum().backward()
        seen.append([str(t.dtype).split(".")[-1] for t in (X, A.grad, B.grad)]
                    + [np.round(t.detach().numpy().astype(np.float64), 6).tolist()
                       for t in (X, A.grad, B.grad)])
    assert seen[1] == seen[0]


def test_cholesky_solve_dtype_error_is_pytorchs():
    messages = []
    for lib in (torch, gpugrad):
        with pytest.raises(RuntimeError) as err:
            lib.cholesky_solve(lib.ones(2, 1), lib.eye(2, dtype=lib.float64))
        messages.append(str(err.value))
    assert messages[1] == messages[0]


@pytest.mark.parametrize("matrix", [np.zeros((3, 3)), np.zeros((2, 3, 3)),
                                    np.stack([np.eye(3), np.zeros((3, 3))])], ids=str)
def test_solve_failure_names_the_batch_element_as_pytorch(matrix):
    rhs = np.ones(matrix.shape[:-1] + (1,))
    with pytest.raises(torch.linalg.LinAlgError) as want:
        torch.linalg.solve(torch.tensor(matrix), torch.tensor(rhs))
    with pytest.raises(gpugrad.linalg.LinAlgError) as got:
        gpugrad.linalg.solve(_t(matrix), _t(rhs))
    assert str(got.value) == str(want.value)
