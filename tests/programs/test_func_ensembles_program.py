"""The ``torch.func`` ensembling / per-sample-gradient program and the pruning and
parametrization utilities of ``func_ensembles.py``, run with gpugrad and with PyTorch. Each
part runs on its own so that one failing idiom does not hide the others: the ensemble run by
``vmap`` + ``functional_call`` on a ``meta`` base equals the loop over the models and trains
like PyTorch's; per-sample gradients by ``vmap(grad(...))`` equal a ``backward`` loop; the
Jacobians and Hessian equal their closed forms; the pruning masks have the exact sparsities
PyTorch's rounding gives and survive training and ``prune.remove``; the parametrized weights
stay symmetric / orthogonal while training."""

from __future__ import annotations

import math

import pytest
import torch

import gpugrad

from ._compare import assert_trains_like_torch, load

PROGRAM = load("func_ensembles")
LIBS = pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])

N_MODELS, IN, HIDDEN, CLASSES, BATCH = 4, 8, 16, 3, 16


def run(part, lib, *args, seed: int = 0):
    lib.manual_seed(seed)
    return part(lib, "cpu", *args)


def run_ensemble(lib, steps: int = 30):
    return run(PROGRAM.ensemble_part, lib, N_MODELS, IN, HIDDEN, CLASSES, BATCH, steps, 0.5)


@LIBS
def test_ensemble_by_vmap_equals_the_loop(lib):
    result = run_ensemble(lib, steps=5)
    assert result["n_params"] == 4 and result["n_buffers"] == 1, result
    assert result["stacked_shapes"] == {
        "fc1.weight": (N_MODELS, HIDDEN, IN), "fc1.bias": (N_MODELS, HIDDEN),
        "fc2.weight": (N_MODELS, CLASSES, HIDDEN), "fc2.bias": (N_MODELS, CLASSES)}
    assert result["stacked_requires_grad"] is True
    assert result["base_device"] == "meta"
    assert result["ensemble_same_shape"] == (N_MODELS, BATCH, CLASSES)
    assert result["ensemble_diff_shape"] == (N_MODELS, BATCH, CLASSES)
    assert result["ensemble_same_diff"] < 1e-5, result
    assert result["ensemble_diff_diff"] < 1e-5, result
    assert result["trained_diff"] < 1e-5, result


def test_ensemble_trains_by_func_grad_like_torch():
    ours, theirs = run_ensemble(gpugrad), run_ensemble(torch)
    for result in (ours, theirs):
        history = result["history"]
        assert len(history) == 30
        # from about chance (4 ln 3) down by a plain SGD step on the stacked weights
        assert abs(result["initial_loss"] - N_MODELS * math.log(CLASSES)) < 0.5, result
        assert all(b < a for a, b in zip(history, history[1:])), history
        assert history[-1] == pytest.approx(result["final_loss"], rel=1e-5)
        assert all(f < 0.5 * i for i, f in zip(result["initial_losses"],
                                                 result["final_losses"])), result
    # PyTorch (seed 0): 4.36 -> 0.69
    assert_trains_like_torch(ours, theirs, shrink=0.3, rel=0.5)


@LIBS
def test_per_sample_gradients_by_vmap_grad_equal_the_backward_loop(lib):
    result = run(PROGRAM.per_sample_part, lib, IN, HIDDEN, CLASSES, BATCH)
    assert result["per_sample_shapes"] == {
        "fc1.weight": (BATCH, HIDDEN, IN), "fc1.bias": (BATCH, HIDDEN),
        "fc2.weight": (BATCH, CLASSES, HIDDEN), "fc2.bias": (BATCH, CLASSES)}
    for name, diff in result["per_sample_diffs"].items():
        assert diff < 1e-6, (name, diff)
    assert result["per_sample_mean_diff"] < 1e-6, result
    assert result["per_sample_grad_is_leafless"] is True
    assert result["aux_grad_diff"] < 1e-7, result
    assert result["aux_logits_diff"] < 1e-6, result
    # the inputs were detached: the auxiliary output carries no graph (PyTorch: False)
    assert result["aux_requires_grad"] is False, result


@LIBS
def test_jacrev_jacfwd_hessian_equal_closed_forms(lib):
    result = run(PROGRAM.jacobian_part, lib)
    assert result["jac_shape"] == (5, 5)
    assert result["jac_x_shape"] == (4, 4)
    assert result["batched_shape"] == (6, 4, 4)
    assert result["jac_w_shape"] == (4, 4, 4) and result["jac_b_shape"] == (4, 4)
    assert result["hessian_shape"] == (3, 3)
    for key in ("jacrev_err", "jacfwd_err", "jac_x_err", "jac_x_fwd_err", "batched_err",
                "jac_b_err", "hessian_err", "hessian_fr_err"):
        assert result[key] < 1e-5, (key, result[key])


@LIBS
def test_pruning_masks_sparsity_training_and_remove(lib):
    result = run(PROGRAM.prune_part, lib, IN, HIDDEN, CLASSES, BATCH, 10)
    n = HIDDEN * IN  # 128 weights; PyTorch prunes round(amount * n) of them
    assert result["l1_param_names"] == ["bias", "weight_orig"]
    assert result["l1_buffer_names"] == ["weight_mask"]
    assert result["l1_sparsity"] == result["l1_mask_sparsity"] == round(0.3 * n) / n
    assert result["weight_is_orig_times_mask"] == 0.0
    assert result["weight_orig_unchanged"] == 0.0
    assert result["l1_hooks"] == ["L1Unstructured"]
    assert result["l1_prunes_smallest"] is True
    assert result["bias_sparsity"] == 0.5
    first = round(0.3 * n)
    assert result["iterative_sparsity"] == (first + round(0.3 * (n - first))) / n
    assert result["iterative_hook"] == "PruningContainer"
    assert result["global_sparsity"] == result["global_expected"]
    assert result["is_pruned"] is True
    losses = result["prune_losses"]
    assert losses[-1] < losses[0], losses
    assert result["masked_grads_zero"] is True
    assert result["sparsity_after_training"] == result["layer_sparsities"]
    assert result["removed_param_names"] == ["bias", "weight"]
    assert result["removed_buffer_names"] == []
    assert result["removed_hooks"] == 0
    assert result["is_pruned_after_remove"] is False
    assert result["sparsity_after_remove"] == result["layer_sparsities"]
    assert result["weight_is_parameter"] is True


@LIBS
def test_symmetric_and_orthogonal_parametrizations(lib):
    result = run(PROGRAM.parametrize_part, lib, 10)
    assert result["is_parametrized"] is True and result["is_parametrized_weight"] is True
    assert result["sym_param_names"] == ["bias", "parametrizations.weight.original"]
    for key in ("sym_err", "sym_matches_original", "sym_err_after", "sym_err_after_remove"):
        assert result[key] == 0.0, (key, result[key])
    assert result["sym_losses"][-1] < result["sym_losses"][0]
    assert result["original_has_grad"] is True
    assert result["cached_same_object"] is True
    assert result["assigned_err"] < 1e-6
    assert result["sym_names_after_remove"] == ["bias", "weight"]
    assert result["orth_param_names"] == ["bias", "parametrizations.weight.original"]
    assert result["orth_err"] < 1e-5 and result["orth_err_after"] < 1e-5, result
    assert result["orth_losses"][-1] < result["orth_losses"][0]


def test_main_runs_both_parts_like_torch():
    ours, theirs = PROGRAM.main(gpugrad), PROGRAM.main(torch)
    for result in (ours, theirs):
        assert result["ensemble_same_diff"] < 1e-5 and result["ensemble_diff_diff"] < 1e-5
        assert max(result["per_sample_diffs"].values()) < 1e-6
        assert result["global_sparsity"] == result["global_expected"]
    assert_trains_like_torch(ours, theirs, shrink=0.3, rel=0.5)
