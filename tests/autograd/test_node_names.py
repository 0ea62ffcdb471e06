"""Graph nodes as PyTorch's: ``type(grad_fn).__name__``, ``grad_fn.name()`` and
``next_functions`` (order, ``None`` slots, ``AccumulateGrad`` leaves), table-driven over the op
registry, plus the common graphs a program walks."""

from __future__ import annotations

import warnings

import numpy as np
import opinfo.specs
import pytest
import torch
from opinfo import REGISTRY
from opinfo.build import build_args

import gpugrad

# Ops whose graph is built differently from PyTorch's (same gradients): the top node or its
# inputs differ for at least one sample. Each entry says why; the test fails when one starts
# matching, so the list stays true.
STRUCTURE_DIFFERS = {
    "div": "number / tensor is a Div node (PyTorch: reciprocal then Mul)",
    "rdiv_operator": "number / tensor is a Div node (PyTorch: reciprocal then Mul)",
    "add_alpha": "alpha multiplies other in its own Mul node",
    "sort": "a 0-d input is viewed as 1-D around the sort",
    "sort_method": "a 0-d input is viewed as 1-D around the sort",
    "topk": "a 0-d input is viewed as 1-D around the topk",
    "topk_method": "a 0-d input is viewed as 1-D around the topk",
    "gather": "a 0-d input is viewed as 1-D around the gather",
    "index_select": "a 0-d input goes through a slice and a clone",
    "scatter": "a 0-d src is viewed as 1-D first",
    "scatter_method": "a 0-d src is viewed as 1-D first",
    "scatter_inplace": "a 0-d src is viewed as 1-D first",
    "scatter_add": "a 0-d src is viewed as 1-D first",
    "scatter_add_method": "a 0-d src is viewed as 1-D first",
    "scatter_add_inplace": "a 0-d src is viewed as 1-D first",
    "index_add": "a 0-d source is viewed as 1-D first",
    "index_add_method": "a 0-d source is viewed as 1-D first",
    "index_add_inplace": "a 0-d source is viewed as 1-D first",
    "getitem": "x[None] and mixed keys are one Slice/Index node (PyTorch: unsqueeze, select...)",
    "getitem_tensor": "a 0-d index tensor is advanced indexing (PyTorch: select)",
    "getitem_tensors_mixed": "one Index node for slices mixed with tensors",
    "setitem": "advanced-index writes are CopySlices (PyTorch: IndexPutBackward0)",
    "setitem_mask": "mask writes are CopySlices (PyTorch: IndexPutBackward0)",
    "take": "take is flatten then index",
    "masked_select": "masked_select is expand then index",
    "nn.linear": "the weight edge has no TBackward0; 1-D and 3-D inputs are one Addmm node",
    "nn.linear_no_bias": "the weight edge has no TBackward0",
    "nn.cross_entropy": "one fused node (PyTorch: NllLoss over LogSoftmax)",
    "nn.nll_loss": "4-D inputs are one NllLoss node (PyTorch: NllLoss2d over views)",
    "nn.mse_loss": "broadcast operands are not expanded in their own nodes",
    "nn.smooth_l1_loss": "broadcast operands are not expanded in their own nodes",
    "nn.huber_loss": "broadcast operands are not expanded in their own nodes",
    "nn.l1_loss": "one fused node (PyTorch 2.13: mean of abs of the difference)",
    "nn.smooth_l1_loss_beta0": "one fused node (PyTorch: l1_loss's composite)",
    "nn.mse_loss_weighted": "the weighted form multiplies a fused MseLoss node",
}
# Written as composites of Tensor ops (PyTorch has one node of its own for each).
COMPOSITES = [
    "nn.elu",
    "nn.selu",
    "nn.celu_alpha2.0",
    "nn.softplus",
    "nn.softplus_beta2.0_threshold3.0",
    "nn.mish",
    "nn.logsigmoid",
    "nn.hardsigmoid",
    "nn.hardswish",
    "nn.softshrink",
    "nn.hardshrink",
    "nn.threshold_threshold0.3_value-2.0",
    "nn.rrelu_lower0.1_upper0.3",
    "nn.prelu",
    "nn.glu",
    "nn.pairwise_distance",
    "nn.pairwise_distance_p1",
    "nn.pdist",
    "nn.margin_ranking_loss",
    "nn.soft_margin_loss",
    "nn.multi_margin_loss",
    "nn.multi_margin_loss_1d",
    "nn.multilabel_margin_loss",
    "nn.triplet_margin_loss",
    "nn.triplet_margin_loss_p1",
    "nn.triplet_margin_with_distance_loss",
    "nn.group_norm",
    "nn.instance_norm",
    "nn.instance_norm_running_stats",
    "cdist",
    "cdist_mm",
    "nan_to_num", "lerp", "Tensor.lerp_", "addcmul", "addcdiv", "Tensor.addcdiv_", "ldexp",
    "Tensor.logit_polygamma_", "special.ndtr", "special.log_ndtr",
    "special.multigammaln",
]
STRUCTURE_DIFFERS.update(dict.fromkeys(COMPOSITES, "a composite of Tensor ops (PyTorch: one node)"))
STRUCTURE_DIFFERS.update({
    "matmul": "1-D operands go through one Mm node and a squeeze (PyTorch: views around Mm/Mv)",
    "bmm": "batched matmul of broadcast batches is one Bmm node on the broadcast views",
    "repeat_interleave": "an IndexSelect of the repeated positions (PyTorch: an int count is "
                         "unsqueeze, expand, clone and view)",
    "Tensor.repeat_interleave": "an IndexSelect of the repeated positions (PyTorch: unsqueeze, "
                                "expand, clone and view)",
    "nn.pad_reflect": "one IndexSelect node per padded dim (PyTorch: ReflectionPadNd)",
    "nn.pad_replicate": "one IndexSelect node per padded dim (PyTorch: ReplicationPadNd)",
    "nn.pad_circular": "one IndexSelect node per padded dim (PyTorch: CopySlices)",
    "nn.conv1d": "convolution is unfold + matmul + add (PyTorch: one ConvolutionBackward0)",
    "nn.conv2d": "convolution is unfold + matmul + add (PyTorch: one ConvolutionBackward0)",
    "nn.fold": "an unbatched input is unsqueezed around the Col2Im node",
    "nn.conv_transpose1d": "transposed convolution is matmul + fold + add (PyTorch: one "
                           "ConvolutionBackward0)",
    "nn.conv_transpose2d": "transposed convolution is matmul + fold + add (PyTorch: one "
                           "ConvolutionBackward0)",
    "nn.max_pool1d": "1-D pooling is 2-D pooling of one row (PyTorch: its own squeezes)",
    "nn.max_pool2d": "an unbatched input is unsqueezed around the pooling node",
    "nn.bilinear": "a matmul with the reshaped weight, a product and a sum (PyTorch: "
                   "_trilinear's node and views)",
    "nn.embedding_bag_sum": "embedding rows summed into bags by index_add (PyTorch: one "
                            "EmbeddingBagBackward0)",
    "nn.embedding_bag_mean": "embedding rows summed into bags by index_add, then divided "
                             "(PyTorch: one EmbeddingBagBackward0)",
    "nn.embedding_bag_max": "embedding rows gathered into a padded block, max over it and a "
                            "where for empty bags (PyTorch: one EmbeddingBagBackward0)",
    "nn.embedding_bag_weighted": "embedding rows times the weights, summed by index_add "
                                 "(PyTorch: one EmbeddingBagBackward0)",
    "nn.avg_pool1d": "average pooling is unfold, a mean and a view (PyTorch: AvgPool2DBackward0)",
    "nn.avg_pool2d": "average pooling is unfold, a mean and a view (PyTorch: AvgPool2DBackward0)",
    "nn.avg_pool2d_exclude_pad": "average pooling is unfold, a sum, a division and a view",
    "nn.avg_pool2d_divisor": "average pooling is unfold, a sum, a division and a view",
    "nn.max_pool2d_ceil": "an unbatched input is unsqueezed around the pooling node",
    "nn.avg_pool2d_ceil": "average pooling is unfold, a sum, a division and a view",
    "nn.avg_pool2d_ceil_exclude_pad": "average pooling is unfold, a sum, a division and a view",
    "nn.avg_pool1d_ceil": "average pooling is unfold, a sum, a division and a view",
    "nn.max_pool2d_indices": "an unbatched input is unsqueezed around the pooling node",
    "nn.max_pool1d_indices": "1-D pooling is 2-D pooling of one row (PyTorch: its own squeezes)",
    "nn.max_unpool2d": "unpooling is a scatter into zeros (PyTorch: MaxUnpool2DBackward0)",
    "nn.adaptive_avg_pool2d": "uneven windows are two matmuls with averaging matrices, even "
                              "ones a mean (PyTorch: AdaptiveAvgPool2DBackward0)",
    "nn.adaptive_avg_pool1d": "uneven windows are matmuls with an averaging matrix (PyTorch: "
                              "AdaptiveAvgPool2DBackward0)",
    **dict.fromkeys([f"nn.adaptive_max_pool{d}d{s}" for d in (1, 2, 3)
                     for s in ("", "_indices", "_with_indices")],
                    "adaptive max pooling is a gather at each window's argmax (PyTorch: "
                    "AdaptiveMaxPool2DBackward0 / AdaptiveMaxPool3DBackward0)"),
    "nn.max_unpool1d": "unpooling is a scatter into zeros (PyTorch: MaxUnpool2DBackward0)",
    "nn.conv3d": "convolution is unfold + matmul + add (PyTorch: one ConvolutionBackward0)",
    "nn.conv_transpose3d": "transposed convolution is matmul + fold + add (PyTorch: one "
                           "ConvolutionBackward0)",
    **dict.fromkeys(["nn.max_pool3d", "nn.max_pool3d_indices"],
                    "an unbatched input is unsqueezed around the pooling node"),
    **dict.fromkeys([f"nn.avg_pool3d{s}" for s in ("", "_ceil", "_ceil_exclude_pad",
                                                   "_divisor")],
                    "average pooling is unfold, a sum, a division and a view (PyTorch: "
                    "AvgPool3DBackward0)"),
    "nn.max_unpool3d": "unpooling is a scatter into zeros (PyTorch: MaxUnpool3DBackward0)",
    "nn.adaptive_avg_pool3d": "uneven windows are a matmul with an averaging matrix per dim, "
                              "even ones a mean (PyTorch: AdaptiveAvgPool3DBackward0)",
    "nn.batch_norm": "batch norm is a composite of Tensor ops (PyTorch: one node)",
    "nn.batch_norm_eval": "batch norm is a composite of Tensor ops (PyTorch: one node)",
    "nn.dropout": "dropout is a product with the scaled mask (PyTorch: NativeDropoutBackward0)",
    "nn.lstm_layer": "PyTorch composes its float64 LSTM of per-step ops; its float32 LSTM is "
                     "this one node (tests/ops/test_rnn.py)",
    "nn.scaled_dot_product_attention": "attention is composed of matmuls and softmax (PyTorch: "
                                       "one fused node)",
})
STRUCTURE_DIFFERS.update(dict.fromkeys(
    [f"nn.interpolate_{m}" for m in ("nearest", "nearest_exact", "linear", "bilinear", "bicubic",
                                     "trilinear")],
    "interpolation is one Resample node per spatial dim (a product with the dim's "
    "interpolation matrix, or a gather for nearest) (PyTorch: one Upsample*Backward0 node)"))
STRUCTURE_DIFFERS.update(dict.fromkeys(
    [f"nn.grid_sample_{m}" for m in ("bilinear", "nearest", "bicubic")],
    "grid sampling is gathers at the corners times weights computed from the grid (PyTorch: "
    "one GridSampler2DBackward0 node)"))
STRUCTURE_DIFFERS["nn.affine_grid"] = ("the base grid times theta transposed, then a view "
                                       "(PyTorch: one AffineGridGeneratorBackward0 node)")
STRUCTURE_DIFFERS.update({
    **dict.fromkeys([f"nn.fractional_max_pool{d}d{s}" for d in (2, 3)
                     for s in ("", "_with_indices")],
                    "fractional max pooling is a gather at each window's maximum (PyTorch: "
                    "FractionalMaxPool2DBackward0 / FractionalMaxPool3DBackward0)"),
    **dict.fromkeys(["nn.interpolate_bilinear_antialias", "nn.interpolate_bicubic_antialias",
                     "nn.interpolate_lanczos"],
                    "antialiased interpolation is one Resample node per spatial dim (PyTorch: "
                    "one Upsample*AaBackward0 node)"),
    **dict.fromkeys(["nn.max_pool2d_with_indices", "max_pool2d"],
                    "an unbatched input is unsqueezed around the pooling node"),
    "avg_pool1d": "average pooling is unfold, a sum, a division and a view",
    "adaptive_avg_pool1d": "uneven windows are matmuls with an averaging matrix (PyTorch: "
                           "AdaptiveAvgPool2DBackward0)",
    "adaptive_max_pool1d": "adaptive max pooling is a gather at each window's argmax (PyTorch: "
                           "AdaptiveMaxPool2DBackward0)",
})
STRUCTURE_DIFFERS.update(dict.fromkeys(
    ["einsum", "einsum_list", "einsum_sublist", "tensordot", "inner", "Tensor.inner"],
    "einsum is one node, its backward einsums (PyTorch: permutes, views and bmm)"))
STRUCTURE_DIFFERS.update(dict.fromkeys(
    ["addmm", "Tensor.addmm", "Tensor.addmm_", "addmv", "Tensor.addmv_", "addr", "Tensor.addr_",
     "baddbmm", "Tensor.baddbmm_", "addbmm", "Tensor.addbmm_"],
    "beta * input + alpha * product is composed of matmul, mul and add (PyTorch: one "
    "Add*Backward0 node)"))
STRUCTURE_DIFFERS.update({
    "kron": "the product is reshaped by a view (PyTorch: an unsafe view)",
    "Tensor.kron": "the product is reshaped by a view (PyTorch: an unsafe view)",
    "chain_matmul": "matmuls left to right (PyTorch: multi_dot's order and views)",
    "cross_default_dim": "cross is composed of selects, products and stack (PyTorch: "
                         "LinalgCrossBackward0)",
    "Tensor.cross": "cross is composed of selects, products and stack (PyTorch: "
                    "LinalgCrossBackward0)",
    "diag": "a matrix's diagonal is the diagonal view then a clone (PyTorch: "
            "DiagonalBackward0_copy)",
    "trace": "trace is the diagonal view then a sum (PyTorch: TraceBackward0)",
    "Tensor.fill_diagonal_": "a masked_fill adopted in place (PyTorch: a write through an "
                             "as_strided view, CopySlices)",
    "cartesian_prod": "the grids are flattened by views (PyTorch: unsafe views)",
    "combinations": "one gather of the index rows (PyTorch: masked_select per column, stack)",
    "linalg.matrix_norm": "1/-1/inf/-inf norms are an amax/amin over a sum of abs (PyTorch: "
                          "over a vector norm); the extreme keeps its dims, then a squeeze",
    "linalg.norm": "matrix norms as linalg.matrix_norm's",
    "linalg.cond": "the ratio of the extreme singular values is a Div of two slices (PyTorch: "
                   "a Div and a squeeze)",
    "linalg.solve": "a vector right side is unsqueezed into a matrix around the solve (PyTorch: "
                    "one node)",
    "linalg.solve_triangular": "left=False solves the transposed system between transposes",
    "linalg.cholesky": "upper=True is the transpose of the lower factor",
    "cholesky": "the LinalgCholeskyEx node (PyTorch: a CholeskyBackward0 of its own)",
    "cholesky_solve": "the spec's upper factor comes from linalg.cholesky(upper=True), a "
                      "transpose of the lower one (that op's own difference)",
    "cholesky_inverse": "cholesky_solve of the identity (PyTorch: one "
                        "CholeskyInverseBackward0)",
    "linalg.lstsq": "the solution is pinv(A) @ B (PyTorch: one LinalgLstsqBackward0)",
    "linalg.matrix_power": "repeated squaring in matmuls (PyTorch: views around Mm/Bmm); the "
                           "zeroth power is a where (PyTorch: a copy)",
    "linalg.multi_dot": "1-D ends are unsqueezed and squeezed around Mm (PyTorch: views)",
    "linalg.cross": "the cross product is a cat of products of slices (PyTorch: one node)",
    "cross": "the cross product is a cat of products of slices (PyTorch: one node)",
    "linalg.vander": "the powers are repeated products, stacked (PyTorch: a cumprod and a cat)",
    "linalg.lu_solve": "a product with the permutation and two triangular solves (PyTorch: one "
                       "LinalgLuSolveBackward0)",
    "linalg.tensorinv": "inv of a reshape, then a view (PyTorch: LinalgInvEx under views)",
    "linalg.tensorsolve": "solve of reshapes, then a view (PyTorch: its own views around it)",
})
STRUCTURE_DIFFERS["nn.interpolate_area"] = (
    "area is a product with a matrix of window means per spatial dim (PyTorch: "
    "AdaptiveAvgPool2DBackward0 or a mean)")
for _module in vars(opinfo.specs).values():  # a spec module may list its own, beside its specs
    STRUCTURE_DIFFERS.update(getattr(_module, "STRUCTURE_DIFFERS", {}))


def _describe(t):
    fn = t.grad_fn
    if fn is None:
        return None
    return (type(fn).__name__, fn.name(),
            tuple(None if n is None else n.name() for n, _ in fn.next_functions))


def _first_output(spec, out):
    out = spec.outputs(out) if spec.outputs else out
    return out[0] if isinstance(out, (tuple, list)) else out


def _graphs(spec):
    for sample in spec.samples(np.random.default_rng(0)):
        g_args, t_args, grad_idx, _ = build_args(sample, "float64", "contiguous", True)
        if not grad_idx:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = _first_output(spec, spec.op(gpugrad, *g_args, **sample.kwargs))
            theirs = _first_output(spec, spec.op(torch, *t_args, **sample.kwargs))
        yield _describe(ours), _describe(theirs)


@pytest.mark.parametrize("spec", [s for s in REGISTRY if s.differentiable],
                         ids=lambda s: s.name)
def test_registry_nodes_are_named_and_linked_as_torch(spec):
    graphs = list(_graphs(spec))
    differ = [pair for pair in graphs if pair[0] != pair[1]]
    if spec.name in STRUCTURE_DIFFERS:
        assert differ, f"{spec.name} now matches PyTorch: drop it from STRUCTURE_DIFFERS"
        for ours, theirs in differ:  # the gradients' graph differs, the names do not lie
            assert ours is not None and theirs is not None
        return
    assert not differ, differ[0]


def _outputs(spec, out):
    out = spec.outputs(out) if spec.outputs else out
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


@pytest.mark.parametrize("spec", [s for s in REGISTRY if s.differentiable],
                         ids=lambda s: s.name)
def test_registry_nodes_list_as_many_outputs_as_torch(spec):
    """A node named as PyTorch's lists as many outputs (the gradients its hooks see) as
    PyTorch's: none for the int outputs PyTorch's node leaves out (frexp's exponent, the
    pivots of lu_factor), one each for the outputs of one node (aminmax's min and max)."""
    for sample in spec.samples(np.random.default_rng(0)):
        g_args, t_args, grad_idx, _ = build_args(sample, "float64", "contiguous", True)
        if not grad_idx:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = _outputs(spec, spec.op(gpugrad, *g_args, **sample.kwargs))
            theirs = _outputs(spec, spec.op(torch, *t_args, **sample.kwargs))
        for o, t in zip(ours, theirs, strict=True):
            fn, t_fn = getattr(o, "grad_fn", None), getattr(t, "grad_fn", None)
            if fn is not None and t_fn is not None and fn.name() == t_fn.name():
                # (torch's node: one input metadata per output of the forward)
                assert fn._n_outputs == len(t_fn._input_metadata), fn.name()


def test_sum_and_the_tutorial_walk_match_torch():
    def walk(m):
        m.manual_seed(0)
        net = m.nn.Sequential(m.nn.Linear(3, 4), m.nn.ReLU(), m.nn.Linear(4, 2))
        loss = m.nn.MSELoss()(net(m.ones(5, 3)), m.zeros(5, 2))
        fn, names = loss.grad_fn, []
        while fn is not None:  # as the PyTorch tutorial walks next_functions[0][0]
            names.append((type(fn).__name__, fn.name()))
            fn = fn.next_functions[0][0] if fn.next_functions else None
        z = m.ones(2, requires_grad=True)
        return names, type(z.sum().grad_fn).__name__, z.sum().grad_fn.name()

    ours, theirs = walk(gpugrad), walk(torch)
    assert ours == theirs
    assert ours[1] == "SumBackward0"


def test_addmm_lists_the_bias_first_and_leaves_accumulate():
    x = gpugrad.ones(2, 3)
    layer = gpugrad.nn.Linear(3, 4)
    out = layer(x)
    (bias_node, _), (input_node, _), (weight_node, _) = out.grad_fn.next_functions
    assert input_node is None and bias_node.variable is layer.bias
    assert weight_node.variable is layer.weight
    assert type(bias_node).__name__ == "AccumulateGrad"
    assert bias_node.name() == "torch::autograd::AccumulateGrad"
    assert bias_node.next_functions == () and bias_node.metadata == {}
    # The same leaf gives the same node while something holds it, as in PyTorch.
    assert layer(x).grad_fn.next_functions[0][0] is bias_node
    assert repr(out).endswith("grad_fn=<AddmmBackward0>)")


def test_custom_functions_are_named_like_torch():
    class Cube(gpugrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3 * x * x * grad

    y = Cube.apply(gpugrad.ones(2, requires_grad=True))
    assert type(y.grad_fn).__name__ == "CubeBackward" and y.grad_fn.name() == "CubeBackward"
    y.sum().backward()


@pytest.mark.parametrize("expr", [
    "x + 2", "2 + x", "x - 2", "2 - x", "m.rsub(x, 2)", "m.sub(2, x)", "x * 2", "x / 2",
    "x ** 2", "2 ** x", "x ** x",
    "x.sum()", "x.sum(0)", "x.mean()", "x.mean(0)", "x.prod()", "x.prod(0)", "w.t()",
    "w.unsqueeze(0).squeeze()", "w.unsqueeze(0).squeeze(0)", "w.unsqueeze(0).squeeze((0,))",
    "w.split(2)[0]", "w.split([1, 3])[0]", "w.chunk(2)[0]", "w @ x", "x @ x", "w @ w.t()",
    "m.outer(x, x)", "x.masked_fill(x > 0, 0.0)", "x.masked_fill(x > 0, m.tensor(1.0))",
    "m.where(x > 0, x, 0.0)", "F.layer_norm(w, (3,))", "F.nll_loss(w, m.tensor([0, 1, 2, 0]))",
    "m.cat([x, m.ones(3, dtype=m.long)])",
    "F.binary_cross_entropy(x.sigmoid(), x.detach().sigmoid(), weight=m.ones(3))",
])
def test_common_nodes_match_torch(expr):
    def describe(m):
        m.manual_seed(0)
        x = m.rand(3, dtype=m.float64).add(0.1).requires_grad_()
        w = m.rand(4, 3, dtype=m.float64).requires_grad_()
        return _describe(eval(expr, {"m": m, "x": x, "w": w, "F": m.nn.functional}))

    assert describe(gpugrad) == describe(torch)
