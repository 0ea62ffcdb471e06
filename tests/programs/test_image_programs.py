"""Our PyTorch-style image programs (a small CNN with restarts, a DCGAN, a ResNet under
autocast, style transfer, metric learning, a U-Net, mixup/cutmix with an EMA), each run with
gpugrad and with PyTorch: both must train, and gpugrad must land in a band around PyTorch."""

from __future__ import annotations

import pytest

from ._compare import assert_trains_like_torch, both, load


def test_shapes_cnn_with_restarts():
    """Antialiased resizing, LPPool2d and FractionalMaxPool2d, NAdam under SequentialLR: both
    learn the shapes; the confusion matrix (bincount, diag, unique) reads the same way."""
    program = load("shapes_cnn")
    ours, theirs = both(lambda m: program.main(m))
    assert_trains_like_torch(ours, theirs, shrink=0.4, rel=1.0)
    for result in (ours, theirs):
        assert result["accuracy"] >= 0.85 and min(result["recall"]) >= 0.7, result
        assert result["classes"] == [0, 1, 2]
    assert ours["lr_after"] == pytest.approx(theirs["lr_after"])


def test_dcgan():
    """A DCGAN on squares: both games stay balanced (the discriminator's loss near PyTorch's,
    the generator's finite and not collapsed to zero)."""
    program = load("dcgan")
    ours, theirs = both(lambda m: program.main(m))
    assert ours["shape"] == theirs["shape"] == (16, 1, 8, 8)
    assert abs(ours["D_last"] - theirs["D_last"]) <= 0.4, (ours, theirs)
    for result in (ours, theirs):
        assert 0.3 < result["G_last"] < 3.0 and result["G_first"] > 0.3, result


def test_resnet_with_autocast_and_one_cycle():
    """A BasicBlock ResNet (Sequential shortcut, Kaiming init by isinstance) trained by Nesterov
    SGD under OneCycleLR with clipping, bfloat16 autocast and label smoothing; its state_dict
    saved to a BytesIO and loaded into a fresh model that predicts the same."""
    program = load("resnet_amp")
    ours, theirs = both(lambda m: program.main(m))
    assert_trains_like_torch(ours, theirs, shrink=0.5, rel=0.2)
    for result in (ours, theirs):
        assert result["accuracy"] >= 90 and result["agreement"] == 1.0, result
        assert result["restored_accuracy"] == result["accuracy"], result
        assert result["dtypes"] == ["bfloat16", "float32"], result  # logits; the loss
        assert result["steps"] == 12 * 10, result
    assert ours["state"] == theirs["state"]  # names, shapes and dtypes, buffers included
    assert ours["lr_end"] == pytest.approx(theirs["lr_end"], rel=1e-9)


def test_style_transfer_by_input_optimization():
    """A fixed CNN (frozen, eval) rebuilt child by child into a Sequential with content and
    style loss modules (Gram matrices), L-BFGS over the image with an in-place clamp in the
    closure; then a hooked channel's activation ascended with Adam: the image, not the
    weights, learns, in both libraries."""
    program = load("input_optimization")
    ours, theirs = both(lambda m: program.main(m))
    # the same "pretrained" weights and images: the first L-BFGS step agrees closely
    assert ours["step_losses"][0] == pytest.approx(theirs["step_losses"][0], rel=1e-5)
    assert ours["step_losses"][1] == pytest.approx(theirs["step_losses"][1], rel=0.5)
    assert_trains_like_torch(ours, theirs, shrink=0.005, rel=0.3)
    for result in (ours, theirs):
        assert 0.0 <= result["range"][0] and result["range"][1] <= 1.0, result
        assert result["closure_calls"] == 160 and result["final_content"] < 2.0, result
        assert result["input_grad"] and not result["weights_grad"], result
        assert result["visual_last"] > 2 * result["visual_first"] > 0, result
        assert result["hook_removed"] and result["hook_requires_grad"], result
    assert ours["names"] == theirs["names"] and ours["names"][-1] == "style_loss_4"
    assert ours["hook_shape"] == theirs["hook_shape"] == (1, 16, 8, 8)


def test_metric_learning_with_batch_hard_triplets():
    """P-by-K batches, normalized embeddings, batch-hard mining on cdist (masked max, topk of a
    masked_fill), TripletMarginLoss plus a contrastive loss on cosine_similarity, clipping:
    both learn embeddings that retrieve unseen classes better than at the start."""
    program = load("metric_learning")
    ours, theirs = both(lambda m: program.main(m))
    assert_trains_like_torch(ours, theirs, shrink=0.5, rel=0.5)
    for result in (ours, theirs):
        assert result["recall_after"] >= 0.6, result
        assert result["recall_after"] > result["recall_before"], result
        assert result["unit_norm"] < 1e-5 and result["finite_norms"], result
        assert result["active_last"] < result["active_first"], result
        # the functional cosine-distance triplet loss and PairwiseDistance agree with by-hand
        assert result["cosine_triplet_gap"] < 1e-6 and result["pairwise_gap"] < 1e-5, result
    assert ours["lr_end"] == pytest.approx(theirs["lr_end"], rel=1e-12)


def test_unet_segmentation_with_dice_and_plateau():
    """A U-Net (ConvTranspose2d and bilinear interpolate decoders, padded cat skips, weight-
    and spectral-normed convs) trained on BCEWithLogitsLoss(pos_weight) plus a soft Dice loss
    under ReduceLROnPlateau on the validation IoU: both segment the shapes."""
    program = load("unet_segmentation")
    ours, theirs = both(lambda m: program.main(m))
    assert_trains_like_torch(ours, theirs, shrink=0.6, rel=0.3)
    for result in (ours, theirs):
        assert result["val_iou"] >= 0.7 and result["val_dice"] >= 0.8, result
        assert result["val_losses"][-1] < 0.6 * result["val_losses"][0], result
        assert abs(result["sigma"] - 1.0) < 1e-3, result  # spectral norm keeps sigma at 1
        # the plateau scheduler only ever halves the rate
        lrs = result["lrs"]
        assert all(b in (a, a / 2) for a, b in zip([1e-2] + lrs, lrs)), result
    for key in ("out_shape", "n_params", "param_names"):
        assert ours[key] == theirs[key], key
    assert ours["out_shape"] == (40, 1, 15, 15)
    assert ours["pos_weight"] == pytest.approx(theirs["pos_weight"], rel=1e-6)


def test_cnn_with_mixup_cutmix_and_ema():
    """Mixup (Beta ratio, randperm partner, soft one-hot targets) or cutmix (a sliced box) per
    batch, label smoothing, SGD under SequentialLR (LinearLR warmup, then warm restarts), an
    EMA by AveragedModel(get_ema_multi_avg_fn): both learn the pictures, the EMA too."""
    program = load("cutmix_cnn")
    ours, theirs = both(lambda m: program.main(m))
    assert_trains_like_torch(ours, theirs, shrink=0.8, rel=0.3)
    for result in (ours, theirs):
        assert result["accuracy"] >= 0.9 and result["ema_accuracy"] >= 0.9, result
        assert result["n_averaged"] == result["steps"] == 96, result
    for key in ("first_lr", "max_lr", "restart_lr"):  # the schedule is arithmetic: the same
        assert ours[key] == pytest.approx(theirs[key], rel=1e-12), key
