"""The tiny anchor-based detector (``tiny_detector.py``), run with gpugrad and with PyTorch:
both learn to find the rectangles (the top detection's IoU with the truth rises, the loss
falls) and land in a band around each other (the random streams differ); from the same
weights and the same batch, one float64 training step gives PyTorch's losses, gradients,
updated weights and BatchNorm statistics; the anchors, IoUs, GIoUs, target assignment and the
decoding with its greedy NMS give PyTorch's answers given the same inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import assert_trains_like_torch, load

DET = load("tiny_detector")
LIBS = pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])


def test_detector_learns_like_torch():
    ours, theirs = DET.main(gpugrad), DET.main(torch)
    for result in (ours, theirs):
        assert result["steps"] == 20 and result["bn_tracked"] == 20, result
        assert result["final_iou"] > result["initial_iou"] + 0.15, result
        assert result["final_iou"] > 0.35, result
        assert result["last"]["num_pos"] > 8, result
        for key, value in result["last"].items():
            assert np.isfinite(value), (key, result)
    assert_trains_like_torch(ours, theirs, shrink=0.75, rel=0.3)
    assert abs(ours["final_iou"] - theirs["final_iou"]) <= 0.15, (ours, theirs)


# ----------------------------------------------------------------------------- float64 step

def twin_models():
    """The detector in float64 built by gpugrad, and PyTorch's loaded with its weights and
    BatchNorm buffers."""
    gpugrad.manual_seed(0)
    ours = DET.build_model(gpugrad).to(gpugrad.float64)
    theirs = DET.build_model(torch).to(torch.float64)
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in state.items()})
    return ours, theirs


def twin_batch(lib, n: int = 4, seed: int = 5):
    """``n`` images and their targets, NumPy-made, as float64 ``lib`` tensors, through the
    program's ``Dataset``, ``DataLoader`` and ``collate_fn``."""
    dataset = DET.build_dataset(lib, n, seed)
    loader = lib.utils.data.DataLoader(dataset, batch_size=n, collate_fn=DET.collate_fn)
    images, targets = next(iter(loader))
    assert isinstance(targets, list) and [t["image_id"] for t in targets] == list(range(n))
    images = lib.stack(images).to(lib.float64)
    targets = [{"boxes": t["boxes"].double(), "labels": t["labels"]} for t in targets]
    return images, targets


def snapshot(model, optimizer) -> dict:
    out = {}
    for k, v in model.state_dict().items():
        out[k] = v.detach().numpy().copy()
    for k, p in model.named_parameters():
        out[f"{k}.grad"] = p.grad.numpy().copy()
        state = optimizer.state[p]
        for name in ("exp_avg", "exp_avg_sq", "momentum_buffer"):
            if name in state:
                out[f"{k}.{name}"] = state[name].numpy().copy()
    return out


@pytest.mark.parametrize("focal,box_loss,opt", [("bce", "smooth_l1", "adamw"),
                                                ("manual", "l1", "sgd")])
def test_same_start_same_step_in_float64(focal, box_loss, opt):
    """Two steps on the same batch (gradient clipping active): the three losses, every
    gradient, the optimizer state, the weights and the BatchNorm running statistics agree
    with PyTorch's to ~1e-10."""
    ours, theirs = twin_models()
    infos, snaps = [], []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        images, targets = twin_batch(lib)
        anchors = DET.make_anchors(lib, 8, 8, DET.STRIDE, dtype=lib.float64)
        if opt == "adamw":
            optimizer = lib.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-2)
        else:
            optimizer = lib.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9,
                                      weight_decay=1e-4, nesterov=True)
        model.train()
        infos.append([DET.train_step(lib, model, optimizer, anchors, images, targets,
                                     focal=focal, box_loss=box_loss, max_norm=0.5)
                      for _ in range(2)])
        snaps.append(snapshot(model, optimizer))
    for step, (a, b) in enumerate(zip(*infos)):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-10, abs=1e-12), (step, key, a, b)
    mine, ref = snaps
    assert mine.keys() == ref.keys()
    for key, expected in ref.items():
        got = mine[key]
        assert got.dtype == expected.dtype, key
        scale = max(np.abs(expected).max(), 1e-300)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10 * scale, err_msg=key)
    assert int(mine["backbone.0.1.num_batches_tracked"]) == 2


@LIBS
def test_focal_loss_two_ways_agree(lib):
    """The BCE-with-logits focal loss and the log-sigmoid one agree, also for huge logits
    (where ``sigmoid`` saturates), and their gradients agree."""
    rng = np.random.default_rng(0)
    x = rng.normal(0, 3, (64, 2))
    x[:4] = [[40.0, -40.0], [-40.0, 40.0], [80.0, 0.0], [0.0, -80.0]]
    t = (rng.uniform(0, 1, (64, 2)) < 0.3).astype(np.float64)
    grads = []
    for fn in (DET.sigmoid_focal_loss, DET.sigmoid_focal_loss_manual):
        logits = lib.tensor(x, requires_grad=True)
        loss = fn(lib, logits, lib.tensor(t))
        assert tuple(loss.shape) == (64, 2)
        loss.sum().backward()
        grads.append((loss.detach().numpy(), logits.grad.numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-9, atol=1e-12)


def test_focal_loss_matches_torch():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 4, (50, 2)).astype(np.float32)
    t = (rng.uniform(0, 1, (50, 2)) < 0.2).astype(np.float32)
    out = []
    for lib in (gpugrad, torch):
        for fn in (DET.sigmoid_focal_loss, DET.sigmoid_focal_loss_manual):
            logits = lib.tensor(x, requires_grad=True)
            loss = fn(lib, logits, lib.tensor(t), alpha=0.5, gamma=1.5).sum()
            loss.backward()
            out.append((loss.item(), logits.grad.numpy()))
    for a, b in zip(out[:2], out[2:]):
        assert a[0] == pytest.approx(b[0], rel=1e-5)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-4, atol=1e-7)


# ----------------------------------------------------------------------------- boxes

def test_anchors_iou_giou_and_codec_match_torch():
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 24, (12, 2))
    wh = rng.uniform(2, 12, (12, 2))
    gt = np.concatenate([xy, xy + wh], axis=1)
    deltas = rng.normal(0, 0.3, (12, 4))
    deltas[0, 2] = 50.0  # clipped to log(1000 / 16)
    res = []
    for lib in (gpugrad, torch):
        anchors = DET.make_anchors(lib, 8, 8, DET.STRIDE, dtype=lib.float64)
        boxes = lib.tensor(gt)
        iou = DET.box_iou(lib, anchors, boxes)
        giou = DET.paired_giou(lib, anchors[:12], boxes)
        enc = DET.encode(lib, anchors[100:112], boxes)
        dec = DET.decode(lib, anchors[100:112], enc)
        dec2 = DET.decode(lib, anchors[100:112], lib.tensor(deltas))
        res.append([t.numpy() for t in (anchors, iou, giou, enc, dec, dec2)])
        assert tuple(anchors.shape) == (8 * 8 * DET.NUM_ANCHORS, 4)
        np.testing.assert_allclose(dec.numpy(), gt, rtol=1e-12, atol=1e-12)
        # the diagonal of the pairwise IoU is the paired IoU; GIoU <= IoU, in [-1, 1]
        g = giou.numpy()
        assert np.all(g <= np.diag(iou.numpy()[:12]) + 1e-12) and np.all(g >= -1)
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)
    # the first anchors: the first cell's six anchors, centred at (2, 2)
    np.testing.assert_allclose((res[1][0][:6, :2] + res[1][0][:6, 2:]) / 2, 2.0)
    np.testing.assert_allclose((res[1][0][6:12, :2] + res[1][0][6:12, 2:]) / 2,
                               [[6.0, 2.0]] * 6)


def test_assignment_matches_torch():
    """Positives, ignored anchors, matched boxes and one-hot class targets, with an empty
    image and an image whose small box matches no anchor above 0.5 (a low-quality match)."""
    images = {"two": (np.array([[2.0, 3.0, 14.0, 11.0], [18.0, 16.0, 30.0, 31.0]]),
                      np.array([1, 0])),
              "tiny": (np.array([[9.0, 9.0, 12.0, 11.0]]), np.array([1])),
              "empty": (np.zeros((0, 4)), np.zeros((0,), dtype=np.int64))}
    res = {}
    for lib in (gpugrad, torch):
        anchors = DET.make_anchors(lib, 8, 8, DET.STRIDE, dtype=lib.float64)
        for name, (boxes, labels) in images.items():
            out = DET.assign(lib, anchors, lib.tensor(boxes, dtype=lib.float64),
                             lib.tensor(labels, dtype=lib.int64))
            res.setdefault(name, []).append([t.numpy() for t in out])
            cls_target, matched, pos, valid = out
            assert pos.dtype == lib.bool and valid.dtype == lib.bool
            assert cls_target.dtype == lib.float64
            assert int(pos.sum()) == int(cls_target.sum())
    for name, (a, b) in res.items():
        for x, y in zip(a, b):
            assert x.dtype == y.dtype, name
            np.testing.assert_array_equal(x, y, err_msg=name)
    assert res["tiny"][1][2].sum() == 1 and res["empty"][1][2].sum() == 0


# ----------------------------------------------------------------------------- inference

def reference_nms(boxes, scores, thr):
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        lt = np.maximum(boxes[i, :2], boxes[rest, :2])
        rb = np.minimum(boxes[i, 2:], boxes[rest, 2:])
        inter = np.clip(rb - lt, 0, None).prod(-1)
        area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
        iou = inter / (area(boxes[i]) + area(boxes[rest]) - inter)
        order = rest[iou <= thr]
    return np.array(keep, dtype=np.int64)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_decoding_and_nms_identical_given_same_scores(dtype):
    """The same logits and deltas (a cluster of overlapping candidates per object, of both
    classes, plus clutter) decode to the same kept boxes, scores and labels in both
    libraries, and NMS keeps what a NumPy greedy NMS keeps."""
    rng = np.random.default_rng(3)
    a = DET.NUM_ANCHORS * 64
    logits = rng.normal(-4.0, 1.0, (3, a, DET.NUM_CLASSES)).astype(dtype)
    logits[:, rng.choice(a, 60, replace=False), :] += rng.uniform(3, 7, (60, 2)).astype(dtype)
    deltas = rng.normal(0, 0.4, (3, a, 4)).astype(dtype)
    logits[2] = -20.0  # an image with nothing above the threshold
    res = []
    for lib in (gpugrad, torch):
        anchors = DET.make_anchors(lib, 8, 8, DET.STRIDE, dtype=getattr(lib, dtype))
        with lib.no_grad():
            dets = DET.postprocess(lib, lib.from_numpy(logits), lib.from_numpy(deltas), anchors,
                                   score_thresh=0.2, topk_candidates=40, nms_thresh=0.4,
                                   detections_per_img=12)
        res.append(dets)
        for det in dets:
            boxes = det["boxes"].numpy()
            assert boxes.dtype == np.dtype(dtype) and det["labels"].dtype == lib.int64
            assert boxes.size == 0 or (boxes.min() >= 0 and boxes.max() <= DET.IMG)
            s = det["scores"].numpy()
            assert np.all(np.diff(s) <= 0)
    assert len(res[1][0]["boxes"]) == 12 and len(res[1][2]["boxes"]) == 0
    for ours, theirs in zip(*res):
        assert ours.keys() == theirs.keys()
        np.testing.assert_array_equal(ours["labels"].numpy(), theirs["labels"].numpy())
        for key in ("boxes", "scores"):
            np.testing.assert_allclose(ours[key].numpy(), theirs[key].numpy(), rtol=1e-6,
                                       atol=1e-5)
    # plain NMS against NumPy's
    boxes = np.concatenate([rng.uniform(0, 20, (80, 2)), np.zeros((80, 2))], axis=1)
    boxes[:, 2:] = boxes[:, :2] + rng.uniform(3, 12, (80, 2))
    scores = rng.permutation(80).astype(dtype) / 80
    want = reference_nms(boxes.astype(dtype), scores, 0.3)
    for lib in (gpugrad, torch):
        keep = DET.nms(lib, lib.tensor(boxes, dtype=getattr(lib, dtype)), lib.tensor(scores),
                       0.3)
        assert keep.dtype == lib.int64 and keep.ndim == 1
        np.testing.assert_array_equal(keep.numpy(), want, err_msg=lib.__name__)
        empty = DET.nms(lib, lib.zeros(0, 4), lib.zeros(0), 0.5)
        assert tuple(empty.shape) == (0,) and empty.dtype == lib.int64
        one = DET.batched_nms(lib, lib.tensor([[1.0, 1.0, 5.0, 5.0], [1.0, 1.0, 5.0, 5.0]]),
                              lib.tensor([0.9, 0.8]), lib.tensor([0, 1]), 0.5)
        assert one.tolist() == [0, 1], lib.__name__


@LIBS
def test_eval_mode_uses_running_statistics(lib):
    """After ``model.eval()`` the outputs do not depend on the batch; in train mode they do,
    and the running statistics moved."""
    lib.manual_seed(0)
    model = DET.build_model(lib)
    images, _ = twin_batch(lib)
    images = images.float()
    model.train()
    model(images)
    bn = model.backbone[0][1]
    assert float(bn.running_mean.abs().sum()) > 0 and int(bn.num_batches_tracked) == 1
    model.eval()
    with lib.no_grad():
        full, _ = model(images)
        single, _ = model(images[:1])
    np.testing.assert_allclose(full[:1].numpy(), single.numpy(), rtol=1e-5, atol=1e-6)
    assert int(bn.num_batches_tracked) == 1
    # the prior bias: every class starts near PRIOR
    assert float(lib.sigmoid(full).mean()) == pytest.approx(DET.PRIOR, rel=0.2)


# ----------------------------------------------------------------------------- nearby idioms

@LIBS
def test_integer_arguments_given_as_0d_tensors(lib):
    """``scores.topk(min(k, keep.sum()))`` caps the candidates at the number above the
    threshold, which is then a 0-d int64 tensor: PyTorch takes one (or a one-element integer
    tensor) wherever an int goes, ``k`` and ``dim`` included; ``max(dim=tensor)`` is the
    reduction, not the elementwise maximum."""
    scores = lib.tensor([0.3, 0.9, 0.1, 0.8, 0.5])
    keep = scores > 0.4
    num_topk = min(100, keep.sum())
    assert isinstance(num_topk, lib.Tensor)
    values, idxs = scores[keep].topk(num_topk)
    assert idxs.tolist() == [0, 1, 2] and values.tolist() == pytest.approx([0.9, 0.8, 0.5])
    assert scores.topk(lib.tensor([2])).indices.tolist() == [1, 3]
    iou = lib.tensor([[0.1, 0.6, 0.3], [0.7, 0.2, 0.5]])
    dim = lib.tensor(1)
    max_iou, matched = iou.max(dim=dim)
    assert matched.tolist() == [1, 0] and max_iou.tolist() == pytest.approx([0.6, 0.7])
    assert lib.min(iou, dim=lib.tensor(0)).indices.tolist() == [0, 1, 0]
    assert iou.argmax(dim=dim).tolist() == [1, 0]
    assert iou.sum(dim).tolist() == pytest.approx([1.0, 1.4])
    assert tuple(iou.unsqueeze(lib.tensor(0)).shape) == (1, 2, 3)


@LIBS
def test_elementwise_max_min_with_other_keyword(lib):
    """``torch.max(input, other=...)`` / ``Tensor.min(other=...)``: the documented keyword of
    the elementwise form, in the pairwise IoU."""
    a = lib.tensor([[0.0, 0, 4, 4], [2, 2, 6, 6]])
    b = lib.tensor([[1.0, 1, 3, 3], [3, 3, 9, 9]])
    lt = lib.max(a[:, None, :2], other=b[:, :2])
    rb = a[:, None, 2:].min(other=b[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    assert inter.tolist() == [[4.0, 1.0], [1.0, 9.0]]


@LIBS
def test_integer_arange_from_float_bounds(lib):
    """Float bounds with an integer ``dtype``: for int64 PyTorch casts start, end and step to
    int64 first; for the narrower integer types it counts ``ceil((end - start) / step)``
    values from the truncated start by the truncated step."""
    assert lib.arange(0.5, 3.7, dtype=lib.int64).tolist() == [0, 1, 2]
    assert lib.arange(1.7, 5.0, 1.5, dtype=lib.int64).tolist() == [1, 2, 3, 4]
    assert lib.arange(3.7, dtype=lib.int64).tolist() == [0, 1, 2]
    assert lib.arange(0.5, 3.7, dtype=lib.int32).tolist() == [0, 1, 2, 3]
    assert lib.arange(1.7, 5.0, 1.5, dtype=lib.int32).tolist() == [1, 2, 3]
