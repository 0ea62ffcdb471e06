"""LoRA fine-tuning (``lora_finetune.py``), run with gpugrad and with PyTorch: pre-training on
task A then LoRA fine-tuning on task B reach good accuracy with both libraries, in a band
around PyTorch's (the random streams differ); the surgery swaps the same layers and leaves
the same parameters (and counts) trainable; merged LoRA weights give the unmerged outputs
and unmerging restores the frozen weights; from shared float64 weights, LoRA steps give
PyTorch's losses, gradients and AdamW updates to rounding, in both layer styles;
adapter-only state dicts round-trip and ``load_state_dict(strict=False)`` reports the same
missing and unexpected keys as PyTorch; and a LoRA layer under bf16 autocast gives
PyTorch's outputs and adapter gradients bit for bit."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import load

L = load("lora_finetune")
STYLES = ("wrap", "subclass")


def test_lora_finetuning_learns_like_torch():
    ours, theirs = L.main(gpugrad, pre_steps=60, ft_steps=80), L.main(
        torch, pre_steps=60, ft_steps=80)
    for result in (ours, theirs):
        assert result["acc_a"] > 0.9, result
        assert result["pre_final"] < 0.4 * result["pre_initial"], result
        # a new head on the frozen encoder is at chance on B; LoRA gets it well above
        assert result["acc_b_before"] < 0.7, result
        assert result["acc_b"] > 0.85, result
        assert result["ft_final"] < 0.5 * result["ft_initial"], result
        assert result["frozen_kept"] and result["head_moved"], result
        assert not result["buffers_in_state"], result
        assert result["hook_logits_match"], result
        assert result["attn_out_shape"] == (256, L.SEQ, L.D_MODEL), result
        assert result["n_merged"] == 3 and result["merge_diff"] < 1e-4, result
        assert result["merged_acc"] == result["acc_b"], result
        assert result["unexpected"] == [], result
        assert result["fresh_diff"] == 0.0 and result["fresh_acc"] == result["acc_b"], result
    for key in ("total", "trainable", "trainable_names", "swapped", "adapter_keys", "missing",
                "lora_numel"):
        assert ours[key] == theirs[key], key
    assert abs(ours["acc_b"] - theirs["acc_b"]) <= 0.1, (ours, theirs)
    assert abs(ours["acc_a"] - theirs["acc_a"]) <= 0.08, (ours, theirs)


def twin_models(style: str, rank: int = 2):
    """The encoder built by gpugrad and by PyTorch in float64 with the same weights, LoRA
    injected in ``style`` and the adapters (``B`` included, so that ``A`` gets a gradient)
    set to the same NumPy draws."""
    gpugrad.manual_seed(0)
    ours = L.build_model(gpugrad).to(gpugrad.float64)
    ours.apply(lambda m: L.init_weights(gpugrad, m))
    theirs = L.build_model(torch).double()
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(0)
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        L.inject_lora(lib, model, style=style, r=rank, lora_alpha=4.0)
        L.mark_only_lora_as_trainable(model)
    adapters = {k: rng.standard_normal(tuple(v.shape)) * 0.3
                for k, v in L.lora_state_dict(ours).items()}
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        result = model.load_state_dict({k: lib.from_numpy(v.copy()) for k, v in adapters.items()},
                                       strict=False)
        assert result.unexpected_keys == [] and len(result.missing_keys) > 0
    return ours, theirs


def task_b(lib, n: int = 48):
    x, y = L.make_task("B", n, 5)
    return lib.from_numpy(x), lib.from_numpy(y)


@pytest.mark.parametrize("style", STYLES)
def test_same_start_same_lora_steps_in_float64(style):
    """Three AdamW steps (with gradient clipping) on the same minibatches: the losses, the
    gradients of every trainable parameter and the updated weights agree with
    PyTorch's to ~1e-10, and the frozen weights get no gradient and do not move."""
    ours, theirs = twin_models(style)
    frozen_before = {k: v.detach().numpy().copy() for k, v in theirs.named_parameters()
                     if not v.requires_grad}
    losses, snaps = [], []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        x, y = task_b(lib)
        losses.append(L.train(lib, model, x, y, steps=3, lr=1e-2, batch=16, seed=3))
        snap = {}
        for n, p in model.named_parameters():
            snap[n] = p.detach().numpy().copy()
            if p.requires_grad:
                snap[n + ".grad"] = p.grad.numpy().copy()
            else:
                assert p.grad is None, n
        snaps.append(snap)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-10)
    mine, ref = snaps
    assert mine.keys() == ref.keys()
    for key, expected in ref.items():
        scale = max(np.abs(expected).max(), 1e-300)
        np.testing.assert_allclose(mine[key], expected, rtol=0, atol=1e-10 * scale,
                                   err_msg=key)
    for key, w in frozen_before.items():
        np.testing.assert_array_equal(ref[key], w, err_msg=key)
        np.testing.assert_array_equal(mine[key], w, err_msg=key)


@pytest.mark.parametrize("style", STYLES)
def test_one_lora_step_gradients_in_float64(style):
    """One forward/backward on shared weights: the loss and the LoRA gradients (which
    PyTorch gives ``A`` through ``B @ A`` and not the frozen weight) agree to rounding, and
    the frozen base layers and embeddings get no gradient."""
    ours, theirs = twin_models(style)
    grads = []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        x, y = task_b(lib)
        model.train()
        loss = lib.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        grads.append({"loss": np.array(loss.item()), **{
            n: p.grad.numpy().copy() for n, p in model.named_parameters() if p.requires_grad}})
        assert all(p.grad is None for p in model.parameters() if not p.requires_grad)
    assert grads[0].keys() == grads[1].keys()
    for key, expected in grads[1].items():
        np.testing.assert_allclose(grads[0][key], expected, rtol=1e-10, atol=1e-14,
                                   err_msg=key)


@pytest.mark.parametrize("style", STYLES)
def test_trainable_parameter_counts_equal_torch(style):
    counts = []
    for lib in (gpugrad, torch):
        lib.manual_seed(0)
        model = L.build_model(lib)
        total = sum(p.numel() for p in model.parameters())
        swapped = L.inject_lora(lib, model, style=style, r=4)
        L.mark_only_lora_as_trainable(model)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        names = [n for n, p in model.named_parameters() if p.requires_grad]
        frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
        # r * (in + out) for each adapter, plus the head
        expected = sum(4 * (m.in_features + m.out_features)
                       for m in (model.get_submodule(n) for n in swapped))
        assert trainable == expected + L.D_MODEL * 2 + 2
        assert frozen == total - (L.D_MODEL * 2 + 2)  # all but the new head
        vec = lib.nn.utils.parameters_to_vector(
            p for p in model.parameters() if p.requires_grad)
        assert vec.numel() == trainable and vec.requires_grad
        counts.append((total, trainable, names, swapped, repr(model)))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("style", STYLES)
def test_merged_model_gives_the_unmerged_outputs(style):
    """``merge`` under ``no_grad`` folds ``B @ A * scaling`` into the frozen weight: the
    merged deep copy gives the same logits, its weights stay leaves without gradient graph,
    and ``unmerge`` restores the original weights."""
    ours, theirs = twin_models(style)
    logits = []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        x, _ = task_b(lib)
        model.eval()
        with lib.no_grad():
            before = model(x)
        q = model.blocks[0].attn.q
        w0 = q.weight.detach().clone()
        merged = copy.deepcopy(model)
        assert L.merge_all(lib, merged) == 3
        mq = merged.blocks[0].attn.q
        assert mq.merged and not q.merged
        assert "merged=True" in mq.extra_repr() and "merged=False" in q.extra_repr()
        assert mq.weight.is_leaf and mq.weight.grad_fn is None
        assert not mq.weight.requires_grad
        with lib.no_grad():
            after = merged(x)
        np.testing.assert_allclose(after.numpy(), before.numpy(), rtol=1e-12, atol=1e-12)
        expected = w0 + (q.lora_B @ q.lora_A).detach() * q.scaling
        np.testing.assert_allclose(mq.weight.detach().numpy(), expected.numpy(), rtol=1e-14)
        # merging again is a no-op; unmerging restores the frozen weights
        mq.merge()
        merged.apply(lambda m: m.unmerge() if hasattr(m, "unmerge") else None)
        np.testing.assert_allclose(mq.weight.detach().numpy(), w0.numpy(), rtol=0, atol=1e-15)
        assert lib.equal(q.weight, w0)  # the original was not touched by the copy
        logits.append(before.numpy())
    np.testing.assert_allclose(logits[0], logits[1], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("style", STYLES)
def test_state_dict_round_trips_and_key_reports_equal_torch(style):
    reports = []
    for lib in (gpugrad, torch):
        lib.manual_seed(0)
        model = L.build_model(lib)
        pretrained = copy.deepcopy(model.state_dict())
        assert "pos_ids" not in pretrained
        assert "pos_ids" in dict(model.named_buffers())
        L.inject_lora(lib, model, style=style)
        with lib.no_grad():
            for n, p in model.named_parameters():
                if "lora_B" in n:
                    p.normal_()
        adapters = L.lora_state_dict(model)
        # a fresh model, the pre-trained weights, the surgery, then the adapters
        fresh = L.build_model(lib)
        fresh.load_state_dict(pretrained)
        L.inject_lora(lib, fresh, style=style)
        result = fresh.load_state_dict(adapters, strict=False)
        assert not result.unexpected_keys
        for k, v in fresh.state_dict().items():
            assert lib.equal(v, model.state_dict()[k]), k
        # the adapters loaded into a model without the surgery are all unexpected
        plain = L.build_model(lib)
        plain_result = plain.load_state_dict(adapters, strict=False)
        # strict loading of the adapters alone names the missing keys
        with pytest.raises(RuntimeError) as err:
            fresh.load_state_dict(adapters)
        message = str(err.value).replace(lib.__name__ + ".", "torch.")
        # the full LoRA state dict loads strictly; its frozen weights live under the names
        # of the surgery (``base_layer.`` for the wrapper, unchanged for the subclass)
        full = model.state_dict()
        strict = fresh.load_state_dict(full)
        own = [n for n, _ in fresh.blocks[0].attn.q.named_parameters(prefix="q",
                                                                       recurse=False)]
        reports.append((list(adapters), result.missing_keys, result.unexpected_keys,
                        plain_result.missing_keys, plain_result.unexpected_keys, message,
                        repr(strict), list(full), own, repr(result)))
    for ours, theirs in zip(*reports):
        assert ours == theirs


def test_forward_hooks_capture_and_change_activations():
    outs = []
    for lib in (gpugrad, torch):
        ours, theirs = twin_models("wrap")
        model = ours if lib is gpugrad else theirs
        x, _ = task_b(lib, 8)
        seen = {}

        def keep_output(module, args, out, seen=seen):
            seen["v"] = out.detach().clone()

        def keep_input(module, args, seen=seen):
            seen["pooled"] = args[0].detach().clone()

        handles = [model.blocks[0].attn.v.register_forward_hook(keep_output),
                   model.head.register_forward_pre_hook(keep_input)]
        model.eval()
        with lib.no_grad():
            base = model(x)
        # a pre-hook that returns a value replaces the input
        h = model.head.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
        with lib.no_grad():
            zeroed = model(x)
        h.remove()
        for handle in handles:
            handle.remove()
        with lib.no_grad():
            again = model(x)
        assert lib.equal(again, base)
        np.testing.assert_allclose(zeroed.numpy(), model.head.bias.detach().expand(8, 2).numpy())
        outs.append((base.numpy(), seen["v"].numpy(), seen["pooled"].numpy()))
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("style", STYLES)
def test_lora_layer_under_bf16_autocast_matches_torch(style, bias):
    """A LoRA layer fed a (batch, seq, features) input under ``torch.autocast("cpu",
    dtype=torch.bfloat16)``, as mixed-precision LoRA training runs it: the bf16 outputs (the
    frozen layer's ``addmm`` adds its bias before the one rounding to bf16) and the float32
    gradients of ``A`` and ``B`` (each a product over the folded batch and sequence, rounded
    once to bf16 as PyTorch's ``mm`` does) are PyTorch's, bit for bit."""
    rng = np.random.default_rng(1)
    arrays = {"weight": rng.standard_normal((16, 16)), "bias": rng.standard_normal(16),
              "lora_A": rng.standard_normal((4, 16)), "lora_B": rng.standard_normal((16, 4))}
    if not bias:
        del arrays["bias"]
    x_np = rng.standard_normal((4, L.SEQ, 16)).astype(np.float32)
    results = []
    for lib in (gpugrad, torch):
        wrapper, subclass = L.lora_classes(lib)
        layer = (wrapper(lib.nn.Linear(16, 16, bias=bias), r=4, lora_alpha=8.0)
                 if style == "wrap" else subclass(16, 16, r=4, lora_alpha=8.0, bias=bias))
        with lib.no_grad():
            for name, value in arrays.items():
                getattr(layer, name).copy_(lib.from_numpy(value.astype(np.float32)))
        with lib.autocast("cpu", dtype=lib.bfloat16):
            y = layer(lib.from_numpy(x_np))
            loss = y.float().pow(2).mean()
        loss.backward()
        assert y.dtype == lib.bfloat16 and layer.lora_A.grad.dtype == lib.float32
        results.append((y.float().detach().numpy(), layer.lora_A.grad.numpy(),
                        layer.lora_B.grad.numpy()))
    for name, ours, theirs in zip(("output", "lora_A.grad", "lora_B.grad"), *results):
        np.testing.assert_array_equal(ours, theirs, err_msg=name)
