"""MTCNN's three stages as facenet-pytorch 2.6.0's ``detect_face`` runs them (same networks, pyramid,
thresholds, box regression and suppression, its own helper functions), made cheaper on a CPU where
the library spends most of its time on things other than the networks:

- the second and third stages cut every candidate box out of the picture and shrink it to 24 or 48
  px with one ``interpolate(mode="area")`` call per box: thousands of calls a picture, a third of
  the detector's time. Area averaging over a rectangle is four look-ups in an integral image, so
  all boxes are cut in one gather; the integral is of exact integer sums, so the crops equal the
  library's up to float rounding;
- the networks run in channels-last memory order, which the CPU convolution and pooling kernels
  handle about twice as fast on the first stage's large pyramid levels (same weights, same sums).

Kept apart from ``faces.py`` so the detector's mechanics sit beside nothing else; tests compare
its detections with the library's own ``MTCNN.detect`` on real photos.
"""

from __future__ import annotations

import numpy as np
import torch
from facenet_pytorch.models.utils.detect_face import (
    batched_nms,
    batched_nms_numpy,
    bbreg,
    generateBoundingBox,
    imresample,
    pad,
    rerec,
)

_CHANNELS_LAST = torch.channels_last
_NO_FACES = (np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2)))


def prepare(detector) -> None:
    """Put the detector's networks in the memory order `detect` feeds them."""
    for net in (detector.pnet, detector.rnet, detector.onet):
        net.to(memory_format=_CHANNELS_LAST)


def detect(detector, pictures: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(boxes Nx4, probabilities N, landmarks Nx5x2) per picture (HxWx3 uint8, all one size), in
    that picture's pixels, most probable first, as ``MTCNN(keep_all=True).detect`` returns them."""
    with torch.inference_mode():
        pixels = torch.from_numpy(np.stack(pictures)).permute(0, 3, 1, 2)  # uint8 N,3,H,W (a view)
        boxes, image_inds, points = _stages(detector, pixels)
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


def _stages(detector, pixels: torch.Tensor):
    threshold, factor = detector.thresholds, detector.factor
    images = pixels.float()
    height, width = images.shape[2:4]
    scale, scales, side = 12.0 / detector.min_face_size, [], min(height, width) * 12.0 / detector.min_face_size
    while side >= 12:
        scales.append(scale)
        scale, side = scale * factor, side * factor

    # First stage: the proposal network over the pyramid, suppression per level then per picture.
    boxes, image_inds, picks, offset = [], [], [], 0
    for scale in scales:
        level = imresample(images, (int(height * scale + 1), int(width * scale + 1)))
        level = ((level - 127.5) * 0.0078125).contiguous(memory_format=_CHANNELS_LAST)
        reg, probs = detector.pnet(level)
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

    integral = _integral(pixels)
    # Second stage: the refinement network on 24 px crops.
    if len(boxes):
        crops, boxes, image_inds = _crops(integral, boxes, image_inds, width, height, 24)
        reg, probs = detector.rnet(crops)
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
        reg, marks, probs = detector.onet(crops)
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


def _integral(pixels: torch.Tensor) -> torch.Tensor:
    """N,H+1,W+1,3 sums of the pixels above and left of each point (a zero row and column first).
    int32 is exact up to 2**31 / 255 = 8.4 million pixels a picture; `faces` hands over at most 1024 px a side."""
    if pixels.shape[2] * pixels.shape[3] > 2**31 // 255:
        raise ValueError(f"picture too large for an int32 integral image: {tuple(pixels.shape[2:])}")
    sums = torch.zeros((pixels.shape[0], pixels.shape[2] + 1, pixels.shape[3] + 1, 3), dtype=torch.int32)
    torch.cumsum(pixels.permute(0, 2, 3, 1).to(torch.int32), 1, out=sums[:, 1:, 1:])
    sums[:, 1:, 1:].cumsum_(2)
    return sums


def _crops(integral: torch.Tensor, boxes: torch.Tensor, image_inds: torch.Tensor, width: int, height: int,
           size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The boxes' pixels, each area-averaged to size x size and normalised as the networks expect
    (channels-last), with the boxes and picture indices that have any pixels (the library's loop
    skips the empty ones too)."""
    top, bottom, left, right = (torch.from_numpy(v.astype(np.int64)) for v in pad(boxes, width, height))
    top, left = top - 1, left - 1  # pad() gives 1-based starts and inclusive ends: rows top..bottom-1
    keep = (bottom > top) & (right > left)
    if not bool(keep.all()):
        top, bottom, left, right = top[keep], bottom[keep], left[keep], right[keep]
        boxes, image_inds = boxes[keep], image_inds[keep]
    # interpolate(mode="area") is adaptive average pooling: bin i spans floor(i*n/size)..ceil((i+1)*n/size).
    bins = torch.arange(size)
    rows, cols = bottom - top, right - left
    row_start = top[:, None] + bins * rows[:, None] // size
    row_end = top[:, None] + -((-(bins + 1) * rows[:, None]) // size)
    col_start = left[:, None] + bins * cols[:, None] // size
    col_end = left[:, None] + -((-(bins + 1) * cols[:, None]) // size)
    # All four corners of every bin in one gather from the flattened integral (K,size,size per corner).
    _, rows_total, cols_total, _ = integral.shape
    base = (image_inds * rows_total)[:, None, None]
    corners = torch.stack([((base + r[:, :, None]) * cols_total + c[:, None, :])
                           for r, c in ((row_end, col_end), (row_start, col_end), (row_end, col_start),
                                        (row_start, col_start))])
    values = integral.view(-1, 3)[corners]  # 4,K,size,size,3
    sums = values[0] - values[1] - values[2] + values[3]
    area = ((row_end - row_start)[:, :, None] * (col_end - col_start)[:, None, :]).unsqueeze(3)
    crops = sums.to(torch.float32) / area.to(torch.float32)
    crops = (crops - 127.5) * 0.0078125
    return crops.permute(0, 3, 1, 2), boxes, image_inds  # K,3,size,size over channels-last storage
