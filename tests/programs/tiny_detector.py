"""A tiny single-stage, anchor-based object detector (RetinaNet-like, written by hand, no
torchvision) trained on synthetic 32x32 images made with NumPy: one or two red or green
rectangles (the two classes) on Gaussian noise.

Idioms: anchors on a feature grid from ``torch.arange`` and ``torch.meshgrid(...,
indexing="ij")``, ``torch.stack`` / ``repeat`` / broadcasting to place the base anchors;
boxes taken apart with ``unbind(-1)`` and put together with ``torch.stack(..., dim=-1)``; box
IoU written by hand (``torch.max(a[:, None, :2], b[:, :2])``, ``.clamp(min=0)``,
``.prod(-1)``) and the paired generalized IoU (GIoU); box encoding and decoding as
``(dx, dy, log dw, log dh)`` deltas with ``dw.clamp(max=...)``; target assignment with
``iou.max(dim=1)``, the low-quality matches of ``iou.argmax(dim=0)``, boolean masks,
``nonzero(as_tuple=True)``, ``torch.where``, ``gather`` of the matched boxes and
``F.one_hot`` of the matched labels; the sigmoid focal loss written twice, through
``F.binary_cross_entropy_with_logits(reduction="none")`` and by hand from ``F.logsigmoid``;
``F.smooth_l1_loss(beta=1/9)`` or ``F.l1_loss`` on the deltas plus a GIoU loss on the decoded
boxes, each ``sum() / max(1, num_pos)``; a small conv backbone of ``nn.Conv2d`` /
``nn.BatchNorm2d`` / ``nn.ReLU(inplace=True)`` blocks and two conv heads initialised with
``nn.init.normal_(std=0.01)`` and the prior bias ``nn.init.constant_(bias,
-math.log((1 - p) / p))``; ``permute(0, 2, 3, 1).reshape(B, -1, C)`` of the head outputs;
``model.train()`` / ``model.eval()``; gradient clipping with ``clip_grad_norm_``; inference
decoding with ``sigmoid``, a score threshold, ``topk``, ``torch.div(..., rounding_mode=
"floor")`` and ``%`` to split flat indices into anchor and class, ``torch.clamp`` of the
boxes to the image, the class-offset trick for class-aware NMS, and a hand-written greedy NMS
loop (``sort(descending=True)``, ``while order.numel() > 0``, ``order[1:][iou <= thr]``); a
``torch.utils.data.Dataset`` feeding a ``DataLoader`` whose custom ``collate_fn`` stacks the
images and returns the targets as a list of dicts.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

IMG = 32
NUM_CLASSES = 2
STRIDE = 4
ANCHOR_SIZES = (8.0, 16.0)
ASPECT_RATIOS = (0.5, 1.0, 2.0)
NUM_ANCHORS = len(ANCHOR_SIZES) * len(ASPECT_RATIOS)
PRIOR = 0.01
BBOX_CLIP = math.log(1000.0 / 16)


# ----------------------------------------------------------------------------- data

def make_sample(rng, max_objects: int = 2):
    """One image (3, IMG, IMG) of noise with ``1..max_objects`` rectangles, brighter in the
    red channel (class 0) or the green channel (class 1), and their boxes (x1, y1, x2, y2)
    and labels. Rectangles are drawn not to overlap much."""
    image = rng.normal(0.0, 0.15, (3, IMG, IMG)).astype(np.float32)
    n = int(rng.integers(1, max_objects + 1))
    boxes, labels = [], []
    while len(boxes) < n:
        w, h = (int(v) for v in rng.integers(6, 17, size=2))
        x0, y0 = int(rng.integers(0, IMG - w + 1)), int(rng.integers(0, IMG - h + 1))
        box = np.array([x0, y0, x0 + w, y0 + h], dtype=np.float32)
        if boxes and max(_np_iou(box, b) for b in boxes) > 0.1:
            continue
        label = int(rng.integers(0, NUM_CLASSES))
        image[label, y0:y0 + h, x0:x0 + w] += 1.0
        image[2, y0:y0 + h, x0:x0 + w] += 0.3
        boxes.append(box)
        labels.append(label)
    return image, np.stack(boxes), np.array(labels, dtype=np.int64)


def _np_iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def build_dataset(torch, n: int, seed: int, max_objects: int = 2):
    class RectangleDataset(torch.utils.data.Dataset):
        def __init__(self):
            rng = np.random.default_rng(seed)
            self.samples = [make_sample(rng, max_objects) for _ in range(n)]

        def __len__(self):
            return len(self.samples)

        def __getitem__(self, idx):
            image, boxes, labels = self.samples[idx]
            target = {"boxes": torch.as_tensor(boxes, dtype=torch.float32),
                      "labels": torch.as_tensor(labels, dtype=torch.int64),
                      "image_id": idx}
            return torch.from_numpy(image), target

    return RectangleDataset()


def collate_fn(batch):
    """Images of one size are stacked; the targets (a varying number of boxes each) stay a
    list of dicts."""
    images, targets = tuple(zip(*batch))
    return images, list(targets)


# ----------------------------------------------------------------------------- boxes

def make_anchors(torch, feat_h: int, feat_w: int, stride: int, dtype=None):
    """(feat_h * feat_w * NUM_ANCHORS, 4) anchors, the NUM_ANCHORS of one cell together, the
    cells in row-major order (as the head's ``permute(0, 2, 3, 1)`` lays out its outputs)."""
    dtype = dtype or torch.float32
    shifts_y = (torch.arange(feat_h, dtype=dtype) + 0.5) * stride
    shifts_x = (torch.arange(feat_w, dtype=dtype) + 0.5) * stride
    cy, cx = torch.meshgrid(shifts_y, shifts_x, indexing="ij")
    centers = torch.stack((cx.reshape(-1), cy.reshape(-1)), dim=1)
    base = []
    for size in ANCHOR_SIZES:
        for ratio in ASPECT_RATIOS:
            w, h = size / math.sqrt(ratio), size * math.sqrt(ratio)
            base.append([-w / 2, -h / 2, w / 2, h / 2])
    base = torch.tensor(base, dtype=dtype)
    return (centers.repeat(1, 2)[:, None, :] + base[None, :, :]).reshape(-1, 4)


def box_area(boxes):
    return (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)


def box_iou(torch, boxes1, boxes2):
    """(N, M) IoU of every pair."""
    area1, area2 = box_area(boxes1), box_area(boxes2)
    lt = torch.max(boxes1[:, None, :2], boxes2[:, :2])
    rb = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = area1[:, None] + area2 - inter
    return inter / union


def paired_giou(torch, boxes1, boxes2, eps: float = 1e-7):
    """Generalized IoU of ``boxes1[i]`` with ``boxes2[i]``."""
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    xi1, yi1 = torch.max(x1, x1g), torch.max(y1, y1g)
    xi2, yi2 = torch.min(x2, x2g), torch.min(y2, y2g)
    inter = (xi2 - xi1).clamp(min=0) * (yi2 - yi1).clamp(min=0)
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter
    iou = inter / (union + eps)
    xc1, yc1 = torch.min(x1, x1g), torch.min(y1, y1g)
    xc2, yc2 = torch.max(x2, x2g), torch.max(y2, y2g)
    area_c = (xc2 - xc1) * (yc2 - yc1)
    return iou - (area_c - union) / (area_c + eps)


def encode(torch, anchors, gt):
    """The deltas that take ``anchors`` to ``gt``."""
    aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    ax, ay = anchors[:, 0] + 0.5 * aw, anchors[:, 1] + 0.5 * ah
    gw, gh = gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]
    gx, gy = gt[:, 0] + 0.5 * gw, gt[:, 1] + 0.5 * gh
    return torch.stack(((gx - ax) / aw, (gy - ay) / ah, torch.log(gw / aw),
                        torch.log(gh / ah)), dim=1)


def decode(torch, anchors, deltas):
    """Boxes from ``anchors`` moved by ``deltas``; the log-size deltas are clipped."""
    aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    ax, ay = anchors[:, 0] + 0.5 * aw, anchors[:, 1] + 0.5 * ah
    dx, dy, dw, dh = deltas.unbind(-1)
    dw, dh = dw.clamp(max=BBOX_CLIP), dh.clamp(max=BBOX_CLIP)
    cx, cy = dx * aw + ax, dy * ah + ay
    w, h = torch.exp(dw) * aw, torch.exp(dh) * ah
    return torch.stack((cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h), dim=-1)


def nms(torch, boxes, scores, iou_threshold: float):
    """Greedy NMS: indices of the kept boxes, by decreasing score."""
    x1, y1, x2, y2 = boxes.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    _, order = scores.sort(descending=True)
    keep = []
    while order.numel() > 0:
        i = order[0]
        keep.append(i)
        if order.numel() == 1:
            break
        rest = order[1:]
        xx1 = torch.max(x1[i], x1[rest])
        yy1 = torch.max(y1[i], y1[rest])
        xx2 = torch.min(x2[i], x2[rest])
        yy2 = torch.min(y2[i], y2[rest])
        inter = (xx2 - xx1).clamp(min=0) * (yy2 - yy1).clamp(min=0)
        iou = inter / (areas[i] + areas[rest] - inter)
        order = order[1:][iou <= iou_threshold]
    if not keep:
        return torch.zeros(0, dtype=torch.long)
    return torch.stack(keep)


def batched_nms(torch, boxes, scores, labels, iou_threshold: float):
    """Class-aware NMS by the offset trick: boxes of different classes never overlap."""
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64)
    offsets = labels.to(boxes) * (boxes.max() + 1)
    return nms(torch, boxes + offsets[:, None], scores, iou_threshold)


# ----------------------------------------------------------------------------- model

def build_model(torch, width: int = 32):
    nn = torch.nn

    class ConvBNReLU(nn.Sequential):
        def __init__(self, cin, cout, stride=1):
            super().__init__(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                             nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    class TinyDetector(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(ConvBNReLU(3, 16, stride=2),
                                          ConvBNReLU(16, width, stride=2),
                                          ConvBNReLU(width, width))
            self.cls_head = nn.Sequential(nn.Conv2d(width, width, 3, padding=1),
                                          nn.ReLU(inplace=True),
                                          nn.Conv2d(width, NUM_ANCHORS * NUM_CLASSES, 3,
                                                    padding=1))
            self.reg_head = nn.Sequential(nn.Conv2d(width, width, 3, padding=1),
                                          nn.ReLU(inplace=True),
                                          nn.Conv2d(width, NUM_ANCHORS * 4, 3, padding=1))
            for head in (self.cls_head, self.reg_head):
                for layer in head.modules():
                    if isinstance(layer, nn.Conv2d):
                        nn.init.normal_(layer.weight, std=0.01)
                        nn.init.constant_(layer.bias, 0)
            nn.init.constant_(self.cls_head[-1].bias, -math.log((1 - PRIOR) / PRIOR))

        def forward(self, images):
            features = self.backbone(images)
            n = images.shape[0]
            cls_logits = self.cls_head(features).permute(0, 2, 3, 1).reshape(n, -1,
                                                                             NUM_CLASSES)
            deltas = self.reg_head(features).permute(0, 2, 3, 1).reshape(n, -1, 4)
            return cls_logits, deltas

    return TinyDetector()


# ----------------------------------------------------------------------------- losses

def sigmoid_focal_loss(torch, logits, targets, alpha: float = 0.25, gamma: float = 2.0):
    """The focal loss through ``binary_cross_entropy_with_logits``, unreduced."""
    F = torch.nn.functional
    p = torch.sigmoid(logits)
    ce_loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return loss


def sigmoid_focal_loss_manual(torch, logits, targets, alpha: float = 0.25,
                              gamma: float = 2.0):
    """The same loss written out from log-sigmoids."""
    F = torch.nn.functional
    p = logits.sigmoid()
    pos_term = -alpha * targets * (1 - p).pow(gamma) * F.logsigmoid(logits)
    neg_term = -(1 - alpha) * (1 - targets) * p.pow(gamma) * F.logsigmoid(-logits)
    return pos_term + neg_term


def assign(torch, anchors, boxes, labels, fg_iou: float = 0.5, bg_iou: float = 0.4):
    """Per anchor: its one-hot class target (zeros for background), its matched box, and the
    masks of positives and of anchors that count in the classification loss (not ignored)."""
    F = torch.nn.functional
    num_anchors = anchors.shape[0]
    if boxes.numel() == 0:
        pos = torch.zeros(num_anchors, dtype=torch.bool)
        return (torch.zeros(num_anchors, NUM_CLASSES, dtype=anchors.dtype),
                torch.zeros_like(anchors), pos, ~pos)
    iou = box_iou(torch, anchors, boxes)                      # (A, G)
    max_iou, matched = iou.max(dim=1)
    pos = max_iou >= fg_iou
    neg = max_iou < bg_iou
    # low-quality matches: every box keeps the anchor it overlaps best
    best_anchor = iou.argmax(dim=0)
    pos[best_anchor] = True
    neg[best_anchor] = False
    matched[best_anchor] = torch.arange(boxes.shape[0])
    gt_classes = torch.where(pos, labels[matched], torch.full_like(matched, NUM_CLASSES))
    cls_target = F.one_hot(gt_classes, NUM_CLASSES + 1)[:, :NUM_CLASSES].to(anchors.dtype)
    matched_boxes = boxes.gather(0, matched[:, None].expand(-1, 4))
    return cls_target, matched_boxes, pos, pos | neg


def detection_loss(torch, cls_logits, deltas, anchors, targets, focal: str = "bce",
                   box_loss: str = "smooth_l1"):
    """Focal classification loss, a delta regression loss and a GIoU loss, each summed over
    the batch and divided by the number of positive anchors."""
    F = torch.nn.functional
    focal_fn = sigmoid_focal_loss if focal == "bce" else sigmoid_focal_loss_manual
    cls_loss = reg_loss = giou_loss = 0.0
    num_pos = 0
    for i, target in enumerate(targets):
        cls_target, matched_boxes, pos, valid = assign(torch, anchors, target["boxes"],
                                                       target["labels"])
        pos_idx = pos.nonzero(as_tuple=True)[0]
        num_pos += pos_idx.numel()
        cls_loss = cls_loss + focal_fn(torch, cls_logits[i][valid], cls_target[valid]).sum()
        pos_anchors, pos_boxes = anchors[pos_idx], matched_boxes[pos_idx]
        pred = deltas[i][pos_idx]
        target_deltas = encode(torch, pos_anchors, pos_boxes)
        if box_loss == "smooth_l1":
            reg_loss = reg_loss + F.smooth_l1_loss(pred, target_deltas, beta=1 / 9,
                                                   reduction="sum")
        else:
            reg_loss = reg_loss + F.l1_loss(pred, target_deltas, reduction="sum")
        giou = paired_giou(torch, decode(torch, pos_anchors, pred), pos_boxes)
        giou_loss = giou_loss + (1 - giou).sum()
    normalizer = max(1, num_pos)
    return {"cls": cls_loss / normalizer, "reg": reg_loss / normalizer,
            "giou": giou_loss / normalizer, "num_pos": num_pos}


# ----------------------------------------------------------------------------- inference

def postprocess(torch, cls_logits, deltas, anchors, score_thresh: float = 0.05,
                topk_candidates: int = 100, nms_thresh: float = 0.5,
                detections_per_img: int = 10):
    """Per image: a dict of the kept boxes (clamped to the image), scores and labels."""
    results = []
    for logits_i, deltas_i in zip(cls_logits, deltas):
        scores = torch.sigmoid(logits_i).flatten()
        keep = scores > score_thresh
        scores = scores[keep]
        topk_idxs = torch.where(keep)[0]
        num_topk = min(topk_candidates, topk_idxs.size(0))
        scores, idxs = scores.topk(num_topk)
        topk_idxs = topk_idxs[idxs]
        anchor_idxs = torch.div(topk_idxs, NUM_CLASSES, rounding_mode="floor")
        labels = topk_idxs % NUM_CLASSES
        boxes = decode(torch, anchors[anchor_idxs], deltas_i[anchor_idxs])
        boxes = torch.clamp(boxes, min=0, max=IMG)
        kept = batched_nms(torch, boxes, scores, labels, nms_thresh)[:detections_per_img]
        results.append({"boxes": boxes[kept], "scores": scores[kept], "labels": labels[kept]})
    return results


def top_detection_iou(torch, model, anchors, images, targets) -> tuple[float, float]:
    """Mean over images of the IoU of the best-scoring detection with its image's (single)
    box, and the fraction of those detections with the right label."""
    model.eval()
    with torch.no_grad():
        cls_logits, deltas = model(images)
        detections = postprocess(torch, cls_logits, deltas, anchors, score_thresh=0.0,
                                 topk_candidates=10)
    model.train()
    ious, hits = [], []
    for det, target in zip(detections, targets):
        if det["boxes"].shape[0] == 0:
            ious.append(0.0)
            hits.append(0.0)
            continue
        iou = box_iou(torch, det["boxes"][:1], target["boxes"])
        ious.append(float(iou.max()))
        hits.append(float(det["labels"][0] == target["labels"][iou.argmax()]))
    return float(np.mean(ious)), float(np.mean(hits))


# ----------------------------------------------------------------------------- training

def train_step(torch, model, optimizer, anchors, images, targets, focal="bce",
               box_loss="smooth_l1", max_norm=10.0):
    losses = detection_loss(torch, *model(images), anchors, targets, focal=focal,
                            box_loss=box_loss)
    loss = losses["cls"] + losses["reg"] + losses["giou"]
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return {"loss": loss.item(), "cls": losses["cls"].item(), "reg": losses["reg"].item(),
            "giou": losses["giou"].item(), "num_pos": losses["num_pos"]}


def main(torch, epochs: int = 1, n_train: int = 160, batch_size: int = 8, lr: float = 5e-3,
         seed: int = 0, focal: str = "bce", box_loss: str = "smooth_l1", n_eval: int = 32) -> dict:
    """Train for ``epochs`` passes over ``n_train`` images with AdamW; returns the mean loss
    of the first and last fifths of the steps, and the top detection's mean IoU and label
    accuracy on ``n_eval`` one-rectangle images before and after training."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    train_set = build_dataset(torch, n_train, seed)
    eval_set = build_dataset(torch, n_eval, seed + 1000, max_objects=1)
    loader = torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=True,
                                         collate_fn=collate_fn, drop_last=True)
    eval_images = torch.stack([eval_set[i][0] for i in range(len(eval_set))])
    eval_targets = [eval_set[i][1] for i in range(len(eval_set))]

    model = build_model(torch)
    anchors = make_anchors(torch, IMG // STRIDE, IMG // STRIDE, STRIDE)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    initial_iou, initial_acc = top_detection_iou(torch, model, anchors, eval_images,
                                                 eval_targets)
    model.train()
    history = []
    for _ in range(epochs):
        for images, targets in loader:
            images = torch.stack(images)
            history.append(train_step(torch, model, optimizer, anchors, images, targets,
                                      focal=focal, box_loss=box_loss))
    final_iou, final_acc = top_detection_iou(torch, model, anchors, eval_images, eval_targets)
    window = max(1, len(history) // 5)
    return {"initial_loss": float(np.mean([h["loss"] for h in history[:window]])),
            "final_loss": float(np.mean([h["loss"] for h in history[-window:]])),
            "initial_iou": initial_iou, "final_iou": final_iou,
            "initial_acc": initial_acc, "final_acc": final_acc,
            "steps": len(history), "last": history[-1],
            "bn_tracked": int(model.backbone[0][1].num_batches_tracked)}


if __name__ == "__main__":
    import argparse
    import importlib
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    print(main(importlib.import_module(args.lib), epochs=args.epochs))
    print(f"{time.perf_counter() - start:.2f}s")
