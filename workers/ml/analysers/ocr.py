"""Text in the picture (signs, posters, labels, documents) with PP-OCRv4: text detection, a 0/180
degree angle classifier and recognition, as ONNX models shipped in the ``rapidocr-onnxruntime``
wheel (Apache-2.0), run by onnxruntime on the CPU.

``text`` is the confident lines, one per line, top to bottom; ``data["lines"]`` is every line the
recogniser returned above the library's floor, with its box (four corners, in the subject picture's
pixels), its confidence and whether it counted.

A line counts when its recognition confidence is at least ``MIN_CONFIDENCE`` (0.8) and it holds at
least two letters or digits. On the sample photos and rendered text, real words score 0.9-1.0 and
the junk read out of textures, logos and edges ("，", "X", "A5Eh", "?") scores 0.37-0.79; a single
character is rarely searchable and often an artefact whatever its score.

A page of small print is read only in part: recognition costs grow faster than the length of a
line (2 cores: 0.05 s for a 20-character line, 1.7 s for 160 characters), so lines are read top to
bottom until their total length reaches ``MAX_TEXT_WIDTH`` line-heights (about 1,200 characters,
several seconds here); the rest are counted in ``data["unread_lines"]``. Deterministic, unlike a
time budget: the same picture gives the same text on every machine.

PP-OCRv4's recogniser is the Chinese-and-English model: Latin text is read well, but the spaces
between words are often lost in wide-spaced capitals ("SABINEBOSS"), and accents are not in its
alphabet.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import numpy as np

from workers.ml.analysers.base import Analyser, Result, Subject
from workers.ml.analysers.pictures import library_threads, rgb
from workers.ml.errors import ModelUnavailable

PACKAGE = "rapidocr-onnxruntime"
PACKAGE_VERSION = "1.4.4"
MODELS = "PP-OCRv4"  # ch_PP-OCRv4_det + ch_PP-OCRv4_rec + ch_ppocr_mobile_v2.0_cls
MODEL_FILES = ("ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx", "ch_ppocr_mobile_v2.0_cls_infer.onnx")

MIN_CONFIDENCE = 0.8
LIBRARY_FLOOR = 0.5  # the library drops lines below this; the ones between it and MIN_CONFIDENCE stay in data
MIN_SIDE = 8  # pixels: nothing narrower holds a legible line
# The detector enlarges a picture until its short side is 736 px, so a thin strip (1024x10) would
# become tens of megapixels: pictures longer than this ratio are padded first (cost bounded by
# about 736*4 x 736 px) -- the text stays where it was, so boxes need no correction.
MAX_ASPECT = 4.0
# Lines are read until their widths, in multiples of their heights, add up to this (a 1024 px page
# of 12 px print has ~70 lines of ~50 each: about 12 of them get read).
MAX_TEXT_WIDTH = 600.0
SPLIT_WIDTH = 24.0  # line-heights: longer lines are read in pieces (see _pieces)
_WORD = re.compile(r"\w", re.UNICODE)


class TextInImage(Analyser):
    name = "text_in_image"
    # Measured here (2 cores): 0.2-0.6 s for a photo or a poster, about 4 s for a 1024 px page of
    # small print (~100 lines); the margin covers a busy machine.
    seconds_per_subject = 20.0

    def __init__(self) -> None:
        super().__init__()
        self._engine: Any = None
        # The engine keeps per-call state (the detector's resize step): one call at a time, also
        # when a timed-out batch is still running on its own thread.
        self._run_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return f"{PACKAGE}-{PACKAGE_VERSION}/{MODELS}"

    def check(self) -> None:
        import importlib.metadata
        import importlib.util
        from pathlib import Path

        spec = importlib.util.find_spec("rapidocr_onnxruntime")
        if spec is None or spec.origin is None:
            raise ModelUnavailable(f"text_in_image: {PACKAGE} is not installed "
                                   f"(pip install --no-deps {PACKAGE}=={PACKAGE_VERSION}, see requirements-nodeps.txt)")
        installed = importlib.metadata.version(PACKAGE)
        if installed != PACKAGE_VERSION:
            raise ModelUnavailable(f"text_in_image: {PACKAGE} {installed} is installed; model id {self.model_id} "
                                   f"names {PACKAGE_VERSION} (pin it, or change PACKAGE_VERSION and reanalyse)")
        models = Path(spec.origin).parent / "models"
        missing = [name for name in MODEL_FILES if not (models / name).is_file()]
        if missing:
            raise ModelUnavailable(f"text_in_image: {PACKAGE} lacks its models {missing} in {models}")

    def _load(self) -> None:
        from rapidocr_onnxruntime import RapidOCR

        threads = library_threads()
        self._engine = RapidOCR(text_score=LIBRARY_FLOOR, intra_op_num_threads=threads,
                                inter_op_num_threads=1, print_verbose=False)

    def analyse(self, subjects: list[Subject]) -> list[Result]:
        # The engine reads one picture per call (it batches a picture's lines itself).
        return [self._one(subject) for subject in subjects]

    def _one(self, subject: Subject) -> Result:
        image = rgb(subject.image)
        if min(image.size) < MIN_SIDE:
            return Result("", {"lines": [], "skipped": f"picture too small for text ({image.width}x{image.height})"})
        pixels = _padded(np.asarray(image))[:, :, ::-1]  # the engine reads OpenCV's BGR order
        with self._run_lock:
            found, unread = self._read(np.ascontiguousarray(pixels))
        lines = []
        for box, text, score in found:
            if float(score) < LIBRARY_FLOOR or not text.strip():
                continue
            corners = np.clip(np.asarray(box, dtype=np.float32), 0, [image.width, image.height])
            confident = float(score) >= MIN_CONFIDENCE and len(_WORD.findall(text)) >= 2
            lines.append({"text": text.strip(), "confidence": round(float(score), 3),
                          "box": corners.round(1).tolist(), "kept": confident})
        text = "\n".join(line["text"] for line in lines if line["kept"])
        data: dict[str, Any] = {"lines": lines, "min_confidence": MIN_CONFIDENCE}
        if unread:
            data["unread_lines"] = unread
        return Result(text, data)

    def _read(self, pixels: np.ndarray) -> tuple[list[tuple[Any, str, float]], int]:
        """``RapidOCR.__call__`` of rapidocr-onnxruntime 1.4.4, step by step (``check()`` holds the
        version), so that long lines are read in pieces and reading stops at MAX_TEXT_WIDTH:
        ([(corners, text, score)], lines left unread)."""
        engine = self._engine
        height, width = pixels.shape[:2]
        picture, ratio_h, ratio_w = engine.preprocess(pixels)
        steps: dict[str, Any] = {"preprocess": {"ratio_h": ratio_h, "ratio_w": ratio_w}}
        picture, steps = engine.maybe_add_letterbox(picture, steps)
        boxes, _ = engine.auto_text_det(picture)
        if boxes is None or len(boxes) == 0:
            return [], 0
        crops = engine.get_crop_img_list(picture, boxes)
        total, budget, count = len(crops), MAX_TEXT_WIDTH, 0
        for crop in crops:  # top to bottom, left to right
            budget -= crop.shape[1] / max(1, crop.shape[0])
            if budget < 0 and count:
                break
            count += 1
        crops, boxes = crops[:count], boxes[:count]
        crops, _, _ = engine.text_cls(crops)  # turns upside-down lines (before splitting: whole lines)
        pieces, owner = [], []
        for index, crop in enumerate(crops):
            for piece in _pieces(crop):
                pieces.append(piece)
                owner.append(index)
        recognised, _ = engine.text_rec(pieces, False)
        texts: list[list[str]] = [[] for _ in crops]
        weights: list[list[tuple[float, int]]] = [[] for _ in crops]
        for index, (text, score, *_) in zip(owner, recognised, strict=True):
            if text.strip():
                texts[index].append(text.strip())
                weights[index].append((float(score), len(text.strip())))
        corners = engine._get_origin_points(boxes, steps, height, width)
        found = []
        for box, parts, scored in zip(corners, texts, weights, strict=True):
            if parts:  # a line's score: its pieces' scores weighted by their lengths
                score = sum(value * size for value, size in scored) / sum(size for _, size in scored)
                found.append((box, " ".join(parts), score))
        return found, total - count


def _pieces(crop: np.ndarray) -> list[np.ndarray]:
    """A line image cut into pieces at most SPLIT_WIDTH line-heights long, each cut at the emptiest
    column of the last quarter of its piece (between words, where there is a gap). The recogniser
    attends over the whole width of what it reads, so one long line costs far more than its pieces
    (here: 1.7 s for 160 characters, 4 x 0.2 s for 40)."""
    height, width = crop.shape[:2]
    limit = int(SPLIT_WIDTH * height)
    if width <= limit or height < 2:
        return [crop]
    grey = crop.mean(axis=2) if crop.ndim == 3 else crop.astype(np.float32)
    ink = np.abs(grey - np.median(grey)).mean(axis=0)  # per column: how far from the background
    pieces, start = [], 0
    while width - start > limit:
        window = ink[start + limit * 3 // 4 : start + limit]
        cut = start + limit * 3 // 4 + int(np.argmin(window))
        pieces.append(crop[:, start:cut])
        start = cut
    pieces.append(crop[:, start:])
    return pieces


def _padded(pixels: np.ndarray) -> np.ndarray:
    """Pad a very long or very tall picture (bottom or right, black as the engine pads) to MAX_ASPECT."""
    height, width = pixels.shape[:2]
    if width > height * MAX_ASPECT:
        return np.pad(pixels, ((0, int(width / MAX_ASPECT) - height), (0, 0), (0, 0)))
    if height > width * MAX_ASPECT:
        return np.pad(pixels, ((0, 0), (0, int(height / MAX_ASPECT) - width), (0, 0)))
    return np.ascontiguousarray(pixels)

