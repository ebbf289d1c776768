"""MTCNN's three stages as facenet-pytorch 2.6.0's ``detect_face`` runs them (same networks, pyramid,
thresholds, box regression and suppression, its own helper functions), made cheaper on a CPU where
the library spends most of its time on things other than the networks:

- the second and third stages cut every candidate box out of the picture and shrink it to 24 or 48
  px with one ``interpolate(mode="area")`` call per box: thousands of calls a picture, a third of
  the detector's time. Area averaging over a rectangle is four look-ups in an integral image, so
  all boxes are cut in one gather; the integral is of exact integer sums, so the crops equal the
  library's up to float rounding;
- the first stage's pyramid levels are the same area averages over a grid of rectangles, so they
  come from that integral image too (two gathers of rows, two of columns) instead of one
  ``interpolate`` over a float copy of the whole batch per level (a sixth of the detector's time);
- the networks run in channels-last memory order, which the CPU convolution and pooling kernels
  handle about twice as fast on the first stage's large pyramid levels (same weights, same sums),
  and the later stages take their crops 256 at a time;
- the first stage runs one picture at a time, its first layer widened with zero channels to a
  whole CPU vector and its two heads joined into one convolution (`prepare`).

Measured here on one thread (23 camera photos, `Faces.analyse` in batches of 8): 107 -> 73 ms a
640x480 picture, 299 -> 159 ms at 1024x768, against the crop step alone. The integral image
itself comes from OpenCV (installed for the text analyser): 12 ms -> 0.6 ms at 1024x768.

Kept apart from ``faces.py`` so the detector's mechanics sit beside nothing else; tests compare
its detections with the library's own ``MTCNN.detect`` on real photos.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from facenet_pytorch.models.utils.detect_face import (
    batched_nms,
    batched_nms_numpy,
    bbreg,
    generateBoundingBox,
    pad,
    rerec,
)

_CHANNELS_LAST = torch.channels_last
CHUNK = 256
VECTOR = 16  # channels a CPU vector holds (AVX-512 floats; two AVX2 vectors)
_NO_FACES = (np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2)))


def prepare(detector) -> None:
    """Put the detector's networks in the memory order `detect` feeds them, the first network's
    first layer widened to VECTOR channels and its two heads joined (`_propose` runs it)."""
    _widen_first_layer(detector.pnet, VECTOR)
    _join_heads(detector.pnet)
    for net in (detector.pnet, detector.rnet, detector.onet):
        net.to(memory_format=_CHANNELS_LAST)


def _join_heads(pnet: torch.nn.Module) -> None:
    """The first network's two 1x1 heads (face or not, box offsets) as one 6-channel convolution
    `pnet.heads`, which `_propose` runs: one pass over the 32-channel map instead of two."""
    heads = torch.nn.Conv2d(pnet.conv4_1.in_channels, 6, 1)
    with torch.no_grad():
        heads.weight.copy_(torch.cat((pnet.conv4_1.weight, pnet.conv4_2.weight)))
        heads.bias.copy_(torch.cat((pnet.conv4_1.bias, pnet.conv4_2.bias)))
    pnet.heads = heads.eval()


def _propose(pnet: torch.nn.Module, level: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(box offsets, face probabilities) as ``PNet.forward`` returns them, with `pnet.heads`."""
    features = level
    for layer in (pnet.conv1, pnet.prelu1, pnet.pool1, pnet.conv2, pnet.prelu2, pnet.conv3, pnet.prelu3):
        features = layer(features)
    heads = pnet.heads(features)
    return heads[:, 2:], torch.softmax(heads[:, :2], dim=1)


def _widen_first_layer(net: torch.nn.Module, channels: int) -> None:
    """Give `net.conv1` `channels` outputs, the extra ones all zero and ignored by `net.conv2`.

    The first network's 10 channels are no multiple of the CPU's vector width, so in channels-last
    order its activation and pooling kernels fall back to a scalar loop: at 384x512 (a 1024 px
    picture's finest level) PReLU and max pooling take 1.9 and 2.4 ms with 10 channels, 1.0 and 1.6
    with 16. Zero weights and bias make the extra channels exactly 0 after every layer up to
    `conv2`, whose weights for them are 0 too: they add only zeros to its sums."""
    conv1, prelu1, conv2 = net.conv1, net.prelu1, net.conv2
    have = conv1.out_channels
    if have >= channels:
        return
    wide1 = torch.nn.Conv2d(conv1.in_channels, channels, conv1.kernel_size, conv1.stride)
    wide_prelu = torch.nn.PReLU(channels)
    wide2 = torch.nn.Conv2d(channels, conv2.out_channels, conv2.kernel_size, conv2.stride)
    with torch.no_grad():
        for layer in (wide1, wide_prelu, wide2):
            for parameter in layer.parameters():
                parameter.zero_()
        wide1.weight[:have], wide1.bias[:have] = conv1.weight, conv1.bias
        wide_prelu.weight[:have] = prelu1.weight
        wide2.weight[:, :have], wide2.bias[:] = conv2.weight, conv2.bias
    net.conv1, net.prelu1, net.conv2 = wide1.eval(), wide_prelu.eval(), wide2.eval()


def detect(detector, pictures: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(boxes Nx4, probabilities N, landmarks Nx5x2) per picture (HxWx3 uint8, all one size), in
    that picture's pixels, most probable first, as ``MTCNN(keep_all=True).detect`` returns them."""
    with torch.inference_mode():
        boxes, image_inds, points = _stages(detector, np.stack(pictures))
    boxes, points, image_inds = boxes.numpy(), points.numpy(), image_inds.numpy()
    found = []
    for index in range(len(pictures)):
        mine = image_inds == index
        if not mine.any():
            found.append(_NO_FACES)
            continue
        order = np.argsort(-boxes[mine, 4], kind="stable")
        found.append((boxes[mine][order, :4].astype(np.float64), boxes[mine][order, 4].astype(np.float64),
                      points[mine][order].astype(np.float64)))
    return found


def _stages(detector, pixels: np.ndarray):
    threshold, factor = detector.thresholds, detector.factor
    height, width = pixels.shape[1:3]
    integral = _integral(pixels)
    scale, scales, side = 12.0 / detector.min_face_size, [], min(height, width) * 12.0 / detector.min_face_size
    while side >= 12:
        scales.append(scale)
        scale, side = scale * factor, side * factor

    # First stage: the proposal network over the pyramid, suppression per level then per picture.
    boxes, image_inds, picks, offset = [], [], [], 0
    for scale in scales:
        rows, cols = int(height * scale + 1), int(width * scale + 1)
        # One picture at a time: a batch of 8 finest levels (384x512 at 1024 px) is 60 MB of
        # activations a layer, which spill the CPU's caches (here 20 -> 10 ms a picture).
        outputs = [_propose(detector.pnet, _level(integral[index : index + 1], rows, cols))
                   for index in range(len(integral))]
        reg, probs = (torch.cat(parts) for parts in zip(*outputs, strict=True))
        level_boxes, level_inds = generateBoundingBox(reg.contiguous(), probs[:, 1].contiguous(), scale, threshold[0])
        boxes.append(level_boxes)
        image_inds.append(level_inds)
        picks.append(batched_nms(level_boxes[:, :4], level_boxes[:, 4], level_inds, 0.5) + offset)
        offset += level_boxes.shape[0]
    if not boxes:
        return torch.zeros(0, 5), torch.zeros(0, dtype=torch.long), torch.zeros(0, 5, 2)
    boxes, image_inds = torch.cat(boxes), torch.cat(image_inds)
    picks = torch.cat(picks)
    boxes, image_inds = boxes[picks], image_inds[picks]
    pick = batched_nms(boxes[:, :4], boxes[:, 4], image_inds, 0.7)
    boxes, image_inds = boxes[pick], image_inds[pick]
    regw, regh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    boxes = torch.stack([boxes[:, 0] + boxes[:, 5] * regw, boxes[:, 1] + boxes[:, 6] * regh,
                         boxes[:, 2] + boxes[:, 7] * regw, boxes[:, 3] + boxes[:, 8] * regh, boxes[:, 4]], dim=1)
    boxes = rerec(boxes)

    # Second stage: the refinement network on 24 px crops.
    if len(boxes):
        crops, boxes, image_inds = _crops(integral, boxes, image_inds, width, height, 24)
        reg, probs = _in_chunks(detector.rnet, crops)
        score = probs[:, 1]
        passed = score > threshold[1]
        boxes = torch.cat((boxes[passed, :4], score[passed].unsqueeze(1)), dim=1)
        image_inds, reg = image_inds[passed], reg[passed]
        pick = batched_nms(boxes[:, :4], boxes[:, 4], image_inds, 0.7)
        boxes, image_inds, reg = boxes[pick], image_inds[pick], reg[pick]
        boxes = rerec(bbreg(boxes, reg))

    # Third stage: the output network on 48 px crops gives the final boxes and the landmarks.
    points = torch.zeros(0, 5, 2)
    if len(boxes):
        crops, boxes, image_inds = _crops(integral, boxes, image_inds, width, height, 48)
        reg, marks, probs = _in_chunks(detector.onet, crops)
        score = probs[:, 1]
        passed = score > threshold[2]
        boxes = torch.cat((boxes[passed, :4], score[passed].unsqueeze(1)), dim=1)
        image_inds, reg, marks = image_inds[passed], reg[passed], marks[passed]
        box_w = (boxes[:, 2] - boxes[:, 0] + 1).unsqueeze(1)
        box_h = (boxes[:, 3] - boxes[:, 1] + 1).unsqueeze(1)
        points = torch.stack((box_w * marks[:, :5] + boxes[:, :1] - 1, box_h * marks[:, 5:10] + boxes[:, 1:2] - 1),
                             dim=2)
        boxes = bbreg(boxes, reg)
        pick = batched_nms_numpy(boxes[:, :4], boxes[:, 4], image_inds, 0.7, "Min")
        boxes, image_inds, points = boxes[pick], image_inds[pick], points[pick]
    return boxes, image_inds, points


def _in_chunks(net, crops: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """`net` over the crops CHUNK at a time: a few thousand crops at once spill the CPU's caches
    (here 0.10 ms a 24 px crop in one call of 2,000, 0.07 in calls of 256); same outputs."""
    if len(crops) <= CHUNK:
        return net(crops)
    parts = [net(crops[start : start + CHUNK]) for start in range(0, len(crops), CHUNK)]
    return tuple(torch.cat(outputs) for outputs in zip(*parts, strict=True))


def _integral(pixels: np.ndarray) -> np.ndarray:
    """N,H+1,W+1,3 sums of the pixels (N,H,W,3 uint8) above and left of each point (a zero row and
    column first). int32 is exact up to 2**31 / 255 = 8.4 million pixels a picture; `faces` hands
    over at most MAX_SIDE px a side."""
    count, height, width, _ = pixels.shape
    if height * width > 2**31 // 255:
        raise ValueError(f"picture too large for an int32 integral image: {(height, width)}")
    sums = np.empty((count, height + 1, width + 1, 3), dtype=np.int32)
    for index in range(count):
        # OpenCV's integral: the same exact sums in a twentieth of the time of numpy's two passes,
        # written in place.
        cv2.integral(np.ascontiguousarray(pixels[index]), sum=sums[index], sdepth=cv2.CV_32S)
    return sums


def _bins(start: np.ndarray, length: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `size` bins over `length` pixels from `start` begins and ends (arrays of
    starts and lengths, one row each): ``interpolate(mode="area")`` is adaptive average pooling, whose
    bin i spans floor(i*n/size)..ceil((i+1)*n/size)."""
    bins = np.arange(size)
    first = start[:, None] + bins * length[:, None] // size
    last = start[:, None] + -((-(bins + 1) * length[:, None]) // size)
    return first, last


def _normalised(sums: np.ndarray, area: np.ndarray) -> torch.Tensor:
    """Area sums (...,H,W,3) as the networks' input: their mean, scaled to about -1..1, as an
    N,3,H,W tensor over channels-last storage (the memory order `prepare` gave the networks)."""
    # (mean - 127.5) / 128 as one scale and one shift of the sums.
    means = np.multiply(sums, (0.0078125 / area.astype(np.float32))[..., None], dtype=np.float32)
    means -= np.float32(127.5 * 0.0078125)
    return torch.from_numpy(means).permute(0, 3, 1, 2)


def _level(integral: np.ndarray, rows: int, cols: int) -> torch.Tensor:
    """The pictures area-averaged to rows x cols, as ``imresample`` makes a pyramid level."""
    _, height_1, width_1, _ = integral.shape
    (row_start,), (row_end,) = _bins(np.zeros(1, dtype=np.int64), np.array([height_1 - 1]), rows)
    (col_start,), (col_end,) = _bins(np.zeros(1, dtype=np.int64), np.array([width_1 - 1]), cols)
    # np.take: a quarter of the time of fancy indexing along a middle axis.
    across = np.take(integral, row_end, axis=1) - np.take(integral, row_start, axis=1)  # N,rows,W+1,3
    sums = np.take(across, col_end, axis=2) - np.take(across, col_start, axis=2)
    return _normalised(sums, (row_end - row_start)[:, None] * (col_end - col_start)[None, :])


def _crops(integral: np.ndarray, boxes: torch.Tensor, image_inds: torch.Tensor, width: int, height: int,
           size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The boxes' pixels, each area-averaged to size x size and normalised as the networks expect
    (channels-last), with the boxes and picture indices that have any pixels (the library's loop
    skips the empty ones too)."""
    top, bottom, left, right = (v.astype(np.int64) for v in pad(boxes, width, height))
    top, left = top - 1, left - 1  # pad() gives 1-based starts and inclusive ends: rows top..bottom-1
    keep = (bottom > top) & (right > left)
    if not keep.all():
        top, bottom, left, right = top[keep], bottom[keep], left[keep], right[keep]
        keep_t = torch.from_numpy(keep)
        boxes, image_inds = boxes[keep_t], image_inds[keep_t]
    row_start, row_end = _bins(top, bottom - top, size)
    col_start, col_end = _bins(left, right - left, size)
    # All four corners of every bin, gathered from the flattened integral (K,size,size,3 each).
    _, rows_total, cols_total, _ = integral.shape
    flat = integral.reshape(-1, 3)
    base = image_inds.numpy()[:, None, None] * rows_total

    def corner(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return np.take(flat, (base + rows[:, :, None]) * cols_total + cols[:, None, :], axis=0)

    sums = corner(row_end, col_end) - corner(row_start, col_end) - corner(row_end, col_start)
    sums += corner(row_start, col_start)
    area = (row_end - row_start)[:, :, None] * (col_end - col_start)[:, None, :]
    return _normalised(sums, area), boxes, image_inds
