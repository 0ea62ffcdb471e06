"""The table of bad inputs that tests/reliability/test_bad_input.py runs: one ``Case`` per
input across ops, autograd, losses, modules, optimizers, devices and dtypes, each a function of
the library namespace (``gpugrad`` or ``torch``) with the exception type and message gpugrad
must raise and the type PyTorch raises."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import gpugrad

SAME = "same"  # torch raises the same type as gpugrad


@dataclass(frozen=True)
class Case:
    id: str
    run: Callable[[Any], Any]
    exc: type
    match: str
    torch_exc: Any = SAME  # a type where torch differs, None where torch cannot run it
    cpu_only: bool = False  # expected to raise only where no GPU is present


def _leaf(m, *shape, **kw):
    return m.randn(*shape, **kw).requires_grad_()


def _wrong_shape_gradient(m):
    class Wrong(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * 2 + y

        @staticmethod
        def backward(ctx, grad):
            return grad, m.ones(3)

    Wrong.apply(_leaf(m, 2), _leaf(m, 2)).sum().backward()


def _backward_twice(m):
    x = _leaf(m, 3)
    y = (x.exp() * x).sum()
    y.backward()
    y.backward()


def _modified_saved_tensor(m):
    x = _leaf(m, 3)
    y = x.exp()
    z = (y * y).sum()
    with m.no_grad():
        y.add_(1)
    z.backward()


def _inplace_on_leaf(m):
    _leaf(m, 3).add_(1)


def _assign_grad(m, grad):
    x = _leaf(m, 3)
    x.grad = grad


def _linear_state_dict(m, drop=(), extra=(), reshape=None):
    layer = m.nn.Linear(3, 2)
    state = {k: v for k, v in layer.state_dict().items() if k not in drop}
    for k in extra:
        state[k] = m.zeros(2)
    if reshape:
        state[reshape] = m.zeros(5, 5)
    layer.load_state_dict(state, strict=True)


def _register_plain_tensor(m):
    m.nn.Linear(2, 2).register_parameter("scale", m.ones(2))


def _module_without_forward(m):
    class Empty(m.nn.Module):
        pass

    Empty()(m.ones(2))


def _optimizer(m, name, **kw):
    return getattr(m.optim, name)([_leaf(m, 2)], **kw)


def _duplicate_groups(m):
    p = _leaf(m, 2)
    m.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


def _optimizer_state_mismatch(m):
    a = m.optim.SGD([_leaf(m, 2)], lr=0.1)
    b = m.optim.SGD([{"params": [_leaf(m, 2)]}, {"params": [_leaf(m, 2)]}], lr=0.1)
    a.load_state_dict(b.state_dict())


def _other_device(m):
    """A CUDA tensor: a real one where a GPU is present, otherwise a NumPy-backed stand-in
    whose backend reports ``cuda:0``; ops check backends, so the stand-in trips the same
    check a real GPU tensor would."""
    from gpugrad.backend import NumpyBackend, cuda_available

    if cuda_available():
        return gpugrad.ones(2, 3, device="cuda")
    return gpugrad.Tensor._make(np.ones((2, 3), np.float32),
                                NumpyBackend(dev=gpugrad.device("cuda", 0)))


def _mixed_optimizer_group(m):
    p = _other_device(m).requires_grad_()
    q = m.ones(2, 3, device="cpu", requires_grad=True)
    (p.sum() + 0).backward()
    q.sum().backward()
    m.optim.SGD([p, q], lr=0.1).step()


CASES = [
    # ---------------------------------------------------------------- elementwise, broadcasting
    Case("add-shapes", lambda m: m.ones(2, 3) + m.ones(4), RuntimeError,
         r"size of tensor a \(3\) must match the size of tensor b \(4\)"),
    Case("mul-shapes-3d", lambda m: m.ones(2, 3, 4) * m.ones(3, 3, 4), RuntimeError,
         r"size of tensor a \(2\) must match the size of tensor b \(3\)"),
    Case("int-inplace-float", lambda m: m.ones(2, dtype=m.int64).add_(0.5), RuntimeError,
         r"result type Float can't be cast to the desired output type Long"),
    Case("bitwise-float", lambda m: m.ones(2) & m.ones(2), NotImplementedError,
         r"bitwise_and.*not implemented for '(Float|gpugrad.float32)'"),
    Case("clamp-no-bounds", lambda m: m.clamp(m.ones(2)), RuntimeError,
         r"At least one of 'min' or 'max' must not be None"),
    Case("int-negative-power", lambda m: m.tensor([2]) ** -1, RuntimeError,
         r"Integers to negative integer powers are not allowed"),
    Case("int-floor-divide-zero", lambda m: m.tensor([1, 2]) // m.tensor([1, 0]), RuntimeError,
         r"ZeroDivisionError"),
    Case("int-remainder-zero", lambda m: m.tensor([1, 2]) % 0, RuntimeError,
         r"ZeroDivisionError"),
    Case("bool-floor-divide", lambda m: m.tensor([True]) // m.tensor([True]),
         NotImplementedError, r"div_floor.*not implemented for 'Bool'"),
    Case("div-rounding-mode-name", lambda m: m.div(m.ones(2), 2, rounding_mode="round"),
         RuntimeError, r"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                       r"found 'round'"),
    Case("div-rounding-mode-case", lambda m: m.ones(2).divide(2, rounding_mode="Floor"),
         RuntimeError, r"rounding_mode to be one of None, 'trunc', or 'floor'.*'Floor'"),
    Case("div_-rounding-mode-empty", lambda m: m.ones(2).div_(2, rounding_mode=""),
         RuntimeError, r"rounding_mode to be one of None, 'trunc', or 'floor' but found ''"),
    Case("div-rounding-mode-int", lambda m: m.div(m.ones(2), 2, rounding_mode=1), TypeError,
         r"div\(\): argument 'rounding_mode' must be str or None, not int"),
    Case("div_-rounding-mode-list", lambda m: m.ones(2).div_(2, rounding_mode=["floor"]),
         TypeError, r"div_\(\): argument 'rounding_mode' must be str or None, not list"),
    Case("true-divide-rounding-mode",
         lambda m: m.true_divide(m.ones(2), 2, rounding_mode="floor"), TypeError,
         r"true_divide\(\) got an unexpected keyword argument 'rounding_mode'"),
    Case("true_divide_-rounding-mode", lambda m: m.ones(2).true_divide_(2, rounding_mode="trunc"),
         TypeError, r"true_divide_\(\) got an unexpected keyword argument 'rounding_mode'"),
    Case("where-float-condition", lambda m: m.where(m.ones(2), m.ones(2), m.zeros(2)),
         RuntimeError, r"where expected condition to be a boolean tensor.*(Float|float32)"),
    Case("softmax-int", lambda m: m.softmax(m.ones(3, dtype=m.int64), 0), NotImplementedError,
         r"not implemented for '(Long|gpugrad.int64)'"),
    Case("mean-int", lambda m: m.tensor([1, 2]).mean(), RuntimeError,
         r"mean\(\): could not infer output dtype.*(Long|int64)"),
    # ------------------------------------------------------------------------------ linalg
    Case("matmul-inner", lambda m: m.ones(2, 3) @ m.ones(4, 5), RuntimeError,
         r"shapes cannot be multiplied \(2x3 and 4x5\)"),
    Case("matmul-0d", lambda m: m.matmul(m.tensor(1.0), m.ones(2)), RuntimeError,
         r"both arguments to matmul need to be at least 1D"),
    Case("matmul-f32-f64", lambda m: m.ones(2, 3) @ m.ones(3, 2, dtype=m.float64), RuntimeError,
         r"expected m1 and m2 to have the same dtype, but got: float != double"),
    # ----------------------------------------------------------------- dims, shapes, views
    Case("sum-dim", lambda m: m.ones(2, 3).sum(dim=2), IndexError,
         r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    Case("softmax-dim", lambda m: m.softmax(m.ones(2, 3), dim=-3), IndexError,
         r"Dimension out of range.*got -3"),
    Case("transpose-dim", lambda m: m.ones(2, 3).transpose(0, 5), IndexError,
         r"Dimension out of range.*got 5"),
    Case("reshape-size", lambda m: m.ones(2, 3).reshape(4, 2), RuntimeError,
         r"shape '\[4, 2\]' is invalid for input of size 6"),
    Case("view-strided", lambda m: m.ones(2, 3).t().view(6), RuntimeError,
         r"view size is not compatible with input tensor's size and stride"),
    Case("view-two-inferred", lambda m: m.ones(6).view(-1, -1), RuntimeError,
         r"only one dimension can be inferred"),
    Case("unsqueeze-dim", lambda m: m.ones(2).unsqueeze(3), IndexError,
         r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 3\)"),
    Case("split-sizes", lambda m: m.ones(4).split([1, 2]), RuntimeError,
         r"split_with_sizes expects split_sizes to sum exactly to 4"),
    Case("cat-ndims", lambda m: m.cat([m.ones(2, 3), m.ones(3)]), RuntimeError,
         r"Tensors must have same number of dimensions: got 2 and 1"),
    Case("permute-ndims", lambda m: m.ones(2, 3).permute(0), RuntimeError,
         r"number of dimensions in the tensor input does not match the length of the desired "
         r"ordering of dimensions i.e. input.dim\(\) = 2 is not equal to len\(dims\) = 1"),
    Case("expand-size", lambda m: m.ones(2, 3).expand(4, 3), RuntimeError,
         r"expanded size of the tensor \(4\) must match the existing size \(2\)"),
    Case("cat-sizes", lambda m: m.cat([m.ones(2, 3), m.ones(2, 4)], dim=0), RuntimeError,
         r"Sizes of tensors must match except in dimension 0.*Expected size 3 but got size 4"),
    Case("stack-sizes", lambda m: m.stack([m.ones(2), m.ones(3)]), RuntimeError,
         r"stack expects each tensor to be equal size"),
    Case("chunk-zero", lambda m: m.ones(4).chunk(0), RuntimeError,
         r"chunk expects `chunks` to be greater than 0, got: 0"),
    Case("negative-size", lambda m: m.zeros(2, -1), RuntimeError,
         r"negative dimension -1"),
    Case("max-empty", lambda m: m.ones(0).max(), RuntimeError,
         r"max\(\): Expected reduction dim to be specified for input.numel\(\) == 0"),
    Case("arange-step-zero", lambda m: m.arange(0, 5, 0), RuntimeError, r"step must be nonzero"),
    Case("randint-range", lambda m: m.randint(5, 2, (3,)), RuntimeError,
         r"random_ expects 'from' to be less than 'to', but got from=5 >= to=2"),
    Case("full-string", lambda m: m.full((2,), "a"), TypeError,
         r"full\(\): argument 'fill_value'.*must be Number, not str"),
    # ---------------------------------------------------------------------------- indexing
    Case("index-range", lambda m: m.ones(3)[5], IndexError,
         r"index 5 is out of bounds for dimension 0 with size 3"),
    Case("gather-range", lambda m: m.gather(m.ones(2, 3), 1, m.tensor([[0, 3]])), RuntimeError,
         r"index 3 is out of bounds for dimension 1 with size 3"),
    Case("gather-float-index", lambda m: m.gather(m.ones(2, 3), 1, m.tensor([[0.0]])),
         RuntimeError, r"gather\(\): Expected dtype int32/int64 for index"),
    Case("index-select-range", lambda m: m.ones(3).index_select(0, m.tensor([3])), IndexError,
         r"index out of range in self"),
    Case("tensor-index-range", lambda m: m.ones(3)[m.tensor([3])], IndexError,
         r"index 3 is out of bounds for dimension 0 with size 3"),
    Case("float-index", lambda m: m.ones(3)[m.tensor([0.5])], IndexError,
         r"tensors used as indices must be long, int, byte or bool tensors"),
    Case("mask-shape", lambda m: m.ones(3)[m.tensor([True, False])], IndexError,
         r"shape of the mask \[2\] at index 0 does not match the shape of the indexed tensor "
         r"\[3\]"),
    Case("setitem-range", lambda m: m.ones(3).__setitem__(5, 1.0), IndexError,
         r"index 5 is out of bounds for dimension 0 with size 3"),
    Case("masked-fill-int-mask", lambda m: m.ones(3).masked_fill(m.tensor([1, 0, 1]), 0.0),
         RuntimeError, r"masked_fill_? only supports boolean masks"),
    # a mask or condition that does not broadcast: PyTorch's message, not NumPy's ValueError
    Case("masked-fill-mask-shape",
         lambda m: m.ones(3, 4).masked_fill(m.zeros(4, 4, dtype=m.bool), 0.0), RuntimeError,
         r"size of tensor a \(4\) must match the size of tensor b \(3\) at non-singleton "
         r"dimension 0"),
    Case("where-shapes", lambda m: m.where(m.zeros(3, 1, dtype=m.bool), m.ones(4, 1), 0.0),
         RuntimeError, r"size of tensor a \(3\) must match the size of tensor b \(4\)"),
    Case("masked-select-shape",
         lambda m: m.ones(3, 4).masked_select(m.zeros(4, 4, dtype=m.bool)), RuntimeError,
         r"size of tensor a \(4\) must match the size of tensor b \(3\)"),
    # ------------------------------------------------------------------- dtypes, creation
    Case("int-requires-grad", lambda m: m.tensor([1, 2], requires_grad=True), RuntimeError,
         r"(O|o)nly Tensors of floating point.*can require gradients"),
    Case("int-requires-grad_", lambda m: m.ones(3, dtype=m.int64).requires_grad_(),
         RuntimeError, r"(O|o)nly Tensors of floating point.*can require gradients"),
    Case("ragged-list", lambda m: m.tensor([[1.0, 2.0], [3.0]]), ValueError,
         r"expected sequence of length 2 at dim 1 \(got 1\)"),
    Case("ragged-deep", lambda m: m.tensor([[[1, 2], [3, 4]], [[1, 2], [3]]]), ValueError,
         r"expected sequence of length 2 at dim 2 \(got 1\)"),
    Case("string-data", lambda m: m.tensor("abc"), TypeError, r"invalid data type 'str'"),
    Case("none-data", lambda m: m.tensor([None, 1.0]), RuntimeError,
         r"Could not infer dtype of list"),
    Case("dtype-unknown", lambda m: m.ones(2, dtype="banana"), TypeError, r"banana"),
    Case("item-many", lambda m: m.ones(2, 3).item(), RuntimeError,
         r"a Tensor with 6 elements cannot be converted to Scalar"),
    Case("bool-many", lambda m: bool(m.ones(2)), RuntimeError,
         r"Boolean value of Tensor with more than one value is ambiguous"),
    Case("bool-empty", lambda m: bool(m.ones(0)), RuntimeError,
         r"Boolean value of Tensor with no values is ambiguous"),
    Case("numpy-requires-grad", lambda m: _leaf(m, 2).numpy(), RuntimeError,
         r"Can't call numpy\(\) on Tensor that requires grad"),
    # ---------------------------------------------------------------------------- autograd
    Case("backward-non-scalar", lambda m: (_leaf(m, 3) * 2).backward(), RuntimeError,
         r"grad can be implicitly created only for scalar outputs"),
    Case("backward-twice", _backward_twice, RuntimeError,
         r"backward through the graph a second time"),
    Case("backward-no-grad", lambda m: m.ones(3).sum().backward(), RuntimeError,
         r"element 0 of tensors does not require grad and does not have a grad_fn"),
    Case("backward-gradient-shape", lambda m: (_leaf(m, 3) * 2).backward(m.ones(4)),
         RuntimeError, r"(M|m)ismatch in shape.*\[4\].*\[3\]"),
    Case("inplace-leaf", _inplace_on_leaf, RuntimeError,
         r"a leaf Variable that requires grad is being used in an in-place operation"),
    Case("modified-saved", _modified_saved_tensor, RuntimeError,
         r"modified by an inplace operation"),
    Case("grad-wrong-shape", lambda m: _assign_grad(m, m.ones(4)), RuntimeError,
         r"attempting to assign a gradient of size '\[4\]' to a tensor of size '\[3\]'"),
    Case("grad-wrong-dtype", lambda m: _assign_grad(m, m.ones(3, dtype=m.float64)),
         RuntimeError, r"attempting to assign a gradient with dtype 'double'"),
    Case("grad-not-tensor", lambda m: _assign_grad(m, 3), TypeError,
         r"assigned grad expected to be a Tensor or None but got grad of type int"),
    Case("autograd-grad-unrelated",
         lambda m: m.autograd.grad((_leaf(m, 2) * 2).sum(), [m.ones(2)]), RuntimeError,
         r"One of the differentiated Tensors does not require grad"),
    # ------------------------------------------------------------------------------ losses
    Case("ce-target-range",
         lambda m: m.nn.functional.cross_entropy(m.randn(3, 4), m.tensor([0, 7, 1])),
         IndexError, r"Target 7 is out of bounds"),
    Case("ce-target-int32",
         lambda m: m.nn.functional.cross_entropy(m.randn(3, 4), m.tensor([0, 1, 2],
                                                                          dtype=m.int32)),
         RuntimeError, r"(expected target dtype to be Long|expected scalar type Long).*Int"),
    Case("ce-batch",
         lambda m: m.nn.functional.cross_entropy(m.randn(3, 4), m.tensor([0, 1])),
         ValueError, r"Expected input batch_size \(3\) to match target batch_size \(2\)"),
    Case("ce-int-logits",
         lambda m: m.nn.functional.cross_entropy(m.ones(3, 4, dtype=m.int64),
                                                 m.tensor([0, 1, 2])),
         RuntimeError, r"log_softmax.*not implemented for '(Long|gpugrad.int64)'"),
    Case("ce-weight-size",
         lambda m: m.nn.functional.cross_entropy(m.randn(3, 4), m.tensor([0, 1, 2]),
                                                 weight=m.ones(3)),
         RuntimeError, r"weight tensor should be defined either for all 4 classes"),
    Case("ce-label-smoothing",
         lambda m: m.nn.functional.cross_entropy(m.randn(3, 4), m.tensor([0, 1, 2]),
                                                 label_smoothing=1.5),
         RuntimeError, r"label_smoothing must be between 0.0 and 1.0. Got: 1.5"),
    Case("ce-ignore-index-float",
         lambda m: m.nn.CrossEntropyLoss(ignore_index=0.5)(m.randn(3, 4), m.tensor([0, 1, 2])),
         TypeError, r"argument 'ignore_index' must be int, not float"),
    Case("nll-ignore-index-none",
         lambda m: m.nn.functional.nll_loss(m.randn(3, 4), m.tensor([0, 1, 2]),
                                            ignore_index=None),
         TypeError, r"argument 'ignore_index' must be int, not NoneType"),
    Case("loss-reduction", lambda m: m.nn.MSELoss(reduction="avg")(m.ones(2), m.ones(2)),
         ValueError, r"avg is not a valid value for reduction"),
    Case("nll-float-target",
         lambda m: m.nn.functional.nll_loss(m.randn(3, 4), m.tensor([0.0, 1.0, 2.0])),
         RuntimeError, r"expected target dtype to be Long or Byte, but got Float"),
    Case("nll-0d", lambda m: m.nn.functional.nll_loss(m.tensor(1.0), m.tensor(0)), ValueError,
         r"Expected 1 or more dimensions \(got 0\)"),
    Case("bce-range",
         lambda m: m.nn.functional.binary_cross_entropy(m.tensor([0.5, 1.5]), m.ones(2)),
         RuntimeError, r"all elements of input should be between 0 and 1"),
    Case("bce-logits-shape",
         lambda m: m.nn.functional.binary_cross_entropy_with_logits(m.ones(3, 2), m.ones(3)),
         ValueError, r"Target size .*3.* must be the same as input size .*3, 2"),
    Case("mse-int", lambda m: m.nn.functional.mse_loss(m.ones(2, dtype=m.int64),
                                                      m.ones(2, dtype=m.int64)),
         RuntimeError, r"mse.*not implemented for '(Long|gpugrad.int64)'"),
    Case("huber-delta", lambda m: m.nn.functional.huber_loss(m.ones(2), m.ones(2), delta=0.0),
         RuntimeError, r"huber_loss does not support non-positive values for delta"),
    # ----------------------------------------------------------------------------- modules
    Case("linear-in-features", lambda m: m.nn.Linear(3, 2)(m.ones(4, 5)), RuntimeError,
         r"shapes cannot be multiplied \(4x5 and 3x2\)"),
    Case("linear-f64-input", lambda m: m.nn.Linear(3, 2)(m.ones(4, 3, dtype=m.float64)),
         RuntimeError, r"same dtype|(F|f)loat.*(D|d)ouble"),
    Case("load-missing-key", lambda m: _linear_state_dict(m, drop=("bias",)), RuntimeError,
         r'Missing key\(s\) in state_dict: "bias"'),
    Case("load-unexpected-key", lambda m: _linear_state_dict(m, extra=("scale",)),
         RuntimeError, r'Unexpected key\(s\) in state_dict: "scale"'),
    Case("load-size-mismatch", lambda m: _linear_state_dict(m, reshape="weight"), RuntimeError,
         r"size mismatch for weight.*\[5, 5\].*\[2, 3\]"),
    Case("module-attribute", lambda m: m.nn.Linear(2, 2).wieght, AttributeError,
         r"'Linear' object has no attribute 'wieght'"),
    Case("train-not-bool", lambda m: m.nn.Linear(2, 2).train("yes"), ValueError,
         r"training mode is expected to be boolean"),
    Case("embedding-padding-idx", lambda m: m.nn.Embedding(4, 2, padding_idx=7), AssertionError,
         r"Padding_idx must be within num_embeddings"),
    Case("register-plain-tensor", _register_plain_tensor, TypeError,
         r"cannot assign .* to parameter 'scale' \((torch|gpugrad).nn.Parameter or None"),
    Case("module-no-forward", _module_without_forward, NotImplementedError,
         r"forward"),
    Case("dropout-p", lambda m: m.nn.Dropout(p=1.5), ValueError,
         r"dropout probability has to be between 0 and 1, but got 1.5"),
    Case("embedding-range", lambda m: m.nn.Embedding(4, 2)(m.tensor([1, 4])), IndexError,
         r"index out of range in self"),
    Case("embedding-float-index", lambda m: m.nn.Embedding(4, 2)(m.tensor([1.0])),
         RuntimeError, r"indices.*Long, Int"),
    Case("layer-norm-shape", lambda m: m.nn.LayerNorm(4)(m.ones(2, 3)), RuntimeError,
         r"normalized_shape=\[4\].*\[\*, 4\].*\[2, 3\]"),
    Case("pad-sequence-side",
         lambda m: m.nn.utils.rnn.pad_sequence([m.ones(2)], padding_side="middle"),
         RuntimeError, r"Expected padding_side to be one of left or right, but got middle"),
    Case("sequential-index", lambda m: m.nn.Sequential(m.nn.ReLU())[3], IndexError,
         r"index 3 is out of range"),
    # -------------------------------------------------------------------------- optimizers
    Case("sgd-lr", lambda m: _optimizer(m, "SGD", lr=-0.1), ValueError,
         r"Invalid learning rate: -0.1"),
    Case("sgd-momentum", lambda m: _optimizer(m, "SGD", lr=0.1, momentum=-0.5), ValueError,
         r"Invalid momentum value: -0.5"),
    Case("sgd-nesterov", lambda m: _optimizer(m, "SGD", lr=0.1, nesterov=True), ValueError,
         r"Nesterov momentum requires a momentum and zero dampening"),
    Case("adam-beta", lambda m: _optimizer(m, "Adam", betas=(1.5, 0.999)), ValueError,
         r"Invalid beta parameter at index 0: 1.5"),
    Case("adam-eps", lambda m: _optimizer(m, "Adam", eps=-1e-8), ValueError,
         r"Invalid epsilon value: -1e-08"),
    Case("adam-weight-decay", lambda m: _optimizer(m, "Adam", weight_decay=-1), ValueError,
         r"Invalid weight_decay value: -1"),
    Case("rmsprop-alpha", lambda m: _optimizer(m, "RMSprop", alpha=-0.9), ValueError,
         r"Invalid alpha value: -0.9"),
    Case("optim-empty", lambda m: m.optim.SGD([], lr=0.1), ValueError,
         r"optimizer got an empty parameter list"),
    Case("optim-tensor-params", lambda m: m.optim.SGD(_leaf(m, 2), lr=0.1), TypeError,
         r"params argument given to the optimizer should be an iterable of Tensors"),
    Case("optim-non-leaf", lambda m: m.optim.SGD([_leaf(m, 2) * 2], lr=0.1), ValueError,
         r"can't optimize a non-leaf Tensor"),
    Case("optim-duplicate-groups", _duplicate_groups, ValueError,
         r"some parameters appear in more than one parameter group"),
    Case("optim-state-groups", _optimizer_state_mismatch, ValueError,
         r"different number of parameter groups"),
    Case("scheduler-not-optimizer", lambda m: m.optim.lr_scheduler.StepLR("sgd", 2), TypeError,
         r"str is not an Optimizer"),
    # ----------------------------------------------------------------------------- devices
    # torch's CPU build asserts at CUDA initialization (AssertionError, "Torch not compiled
    # with CUDA enabled"); gpugrad raises RuntimeError as PyTorch's CUDA builds do without a
    # device.
    Case("cuda-factory", lambda m: m.ones(2, device="cuda"), RuntimeError,
         r"CUDA is not available", torch_exc=AssertionError, cpu_only=True),
    Case("cuda-to", lambda m: m.ones(2).to("cuda"), RuntimeError,
         r"CUDA is not available", torch_exc=AssertionError, cpu_only=True),
    Case("cuda-module-to", lambda m: m.nn.Linear(2, 2).cuda(), RuntimeError,
         r"CUDA is not available", torch_exc=AssertionError, cpu_only=True),
    Case("bad-device-string", lambda m: m.ones(2, device="tpu"), RuntimeError,
         r"Expected one of cpu, cuda.*device string: 'tpu'"),
    # Mixing devices needs a second device in torch's CPU build: gpugrad alone is checked, on
    # a real GPU where present and on a NumPy-backed cuda stand-in otherwise.
    Case("mixed-add", lambda m: m.ones(2, 3, device="cpu") + _other_device(m), RuntimeError,
         r"Expected all tensors to be on the same device.*cpu.*cuda", torch_exc=None),
    Case("mixed-matmul", lambda m: m.ones(3, 2, device="cpu") @ _other_device(m), RuntimeError,
         r"Expected all tensors to be on the same device.*cpu.*cuda", torch_exc=None),
    Case("mixed-loss-target",
         lambda m: m.nn.functional.mse_loss(m.ones(2, 3, device="cpu"), _other_device(m)),
         RuntimeError, r"Expected all tensors to be on the same device.*cpu.*cuda",
         torch_exc=None),
    Case("mixed-optimizer-group", _mixed_optimizer_group, RuntimeError,
         r"same device.*cuda.*cpu", torch_exc=None),
    # ---------------------------------------------------------- PyTorch's words, checked again
    Case("conv1d-padding-string",
         lambda m: m.nn.functional.conv1d(m.ones(1, 3, 5), m.ones(3, 3, 3), padding="full"),
         RuntimeError, r"^Invalid padding string: 'full'$"),
    Case("conv2d-groups-zero",
         lambda m: m.nn.functional.conv2d(m.ones(1, 2, 5, 5), m.ones(2, 2, 3, 3), groups=0),
         RuntimeError, r"^non-positive groups is not supported$"),
    Case("conv1d-groups-divide",
         lambda m: m.nn.functional.conv1d(m.ones(1, 4, 7), m.ones(6, 1, 3), groups=4),
         RuntimeError, r"^Given groups=4, expected weight to be divisible by 4 at dimension 0, "
                       r"but got weight of size \[\[6, 1, 3\]\] instead$"),
    Case("max-pool2d-padding",
         lambda m: m.nn.functional.max_pool2d(m.ones(1, 1, 6, 6), (3, 5), padding=(1, 3)),
         RuntimeError, r"^pad should be at most half of effective kernel size, but got pad=3, "
                       r"kernel_size=5 and dilation=1$"),
    Case("max-pool2d-dilated-padding",
         lambda m: m.nn.functional.max_pool2d(m.ones(1, 1, 6, 6), (3, 5), padding=(1, 3),
                                              dilation=2),
         RuntimeError, r"^pad should be smaller than or equal to half of kernel size, but got "
                       r"padW = 3, padH = 1, kW = 5, kH = 3$"),
    Case("max-pool1d-padding",
         lambda m: m.nn.functional.max_pool1d(m.ones(1, 1, 6), 3, padding=2), RuntimeError,
         r"^max_pool1d\(\) padding should be at most half of kernel size, but got padding=2 "
         r"and kernel_size=3$"),
    Case("mean-repeated-dim", lambda m: m.ones(2, 3).mean((1, 1)), RuntimeError,
         r"^dim 1 appears multiple times in the list of dims$"),
    Case("nuclear-norm-of-4d", lambda m: m.ones(2, 3, 4, 5).norm(p="nuc"), RuntimeError,
         r"^linalg.matrix_norm: dim must be a 2-tuple. Got 0 1 2 3$"),
    Case("matrix-norm-same-dims", lambda m: m.linalg.matrix_norm(m.ones(2, 3), dim=(-1, -1)),
         RuntimeError, r"^linalg.matrix_norm: dims must be different. Got \(1, 1\)$"),
    Case("grad-outputs-checked-first",
         lambda m: m.autograd.grad((m.ones(2) * 2).sum(), m.ones(2)), RuntimeError,
         r"^element 0 of tensors does not require grad and does not have a grad_fn$"),
    Case("embedding-bag-range",
         lambda m: m.nn.functional.embedding_bag(m.tensor([1, 7]), m.ones(5, 2), m.tensor([0])),
         RuntimeError, r"^Index 1 of input takes value 7 which is not in the valid range "
                       r"\[0, 5\)$"),
    Case("get-parameter-missing", lambda m: m.nn.Linear(2, 2).get_parameter("nope"),
         AttributeError, r"^Linear has no attribute `nope`$"),
    Case("get-parameter-of-buffer", lambda m: m.nn.BatchNorm1d(2).get_parameter("running_mean"),
         AttributeError, r"^`running_mean` is not an nn.Parameter$"),
    Case("optimizer-of-one-parameter",
         lambda m: m.optim.SGD(m.nn.Parameter(m.ones(2)), lr=0.1), TypeError,
         r"should be an iterable of Tensors or dicts, but got torch.FloatTensor$"),
    Case("bitwise-of-floats", lambda m: m.ones(2) << 1, NotImplementedError,
         r"^\"lshift_cpu\" not implemented for 'Float'$", cpu_only=True),
    Case("pad-given-a-tensor", lambda m: m.nn.functional.pad(m.ones(2), m.tensor([2, 0])),
         TypeError, r"^pad\(\): argument 'pad' \(position 2\) must be tuple of ints, not "
                    r"Tensor$"),
    Case("pad-given-a-float", lambda m: m.nn.functional.pad(m.ones(2), [1, 2.5]), TypeError,
         r"failed to unpack the object at pos 2 with error \"type must be tuple of ints,but "
         r"got float\"$"),
    Case("function-gradient-shape", _wrong_shape_gradient, RuntimeError,
         r"^Function WrongBackward returned an invalid gradient at index 1 - got \[3\] but "
         r"expected shape compatible with \[2\]$"),
    Case("clamp-int-by-float", lambda m: m.tensor([3, 9]).clamp_(0, 4.5), RuntimeError,
         r"^result type Float can't be cast to the desired output type long int$"),
]
