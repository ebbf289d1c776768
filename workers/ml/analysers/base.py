"""What every analyser shares: a name (the search field it fills), a model id recorded beside each
result, a cheap availability check, loading once under a lock (a failed load is retried after a
backoff, not remembered for ever), and a batch call that returns one result per subject.

An analyser never fails an asset: an exception or a timeout becomes a readable error on that
analyser's row for the subjects concerned (workers.analysis), and an analyser that cannot load is
skipped, with its reason, until it can.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from PIL import Image

from workers.ml.errors import ModelUnavailable

log = logging.getLogger(__name__)

RETRY_LOAD_AFTER_S = 300.0


@dataclass
class Subject:
    """One asset as analysers see it: its picture upright (a rendition, at most about 1024 px) and
    the facts ingest read from the file."""

    asset_id: int
    image: Image.Image | None
    taken_at: dt.datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    exif: dict = field(default_factory=dict)
    # A sound has no picture to look at (its thumbnail is a drawing of its waveform): picture analysers
    # pass it by, leaving no finding rather than an error.
    has_picture: bool = True
    # A video is looked at in a few of its frames, a scanned document in its pages, one subject each
    # (workers.analysis merges them): the frame's moment or the page's number, and whether it is the
    # poster or first page (whose structured output stands for the asset).
    seconds: float | None = None
    page: int | None = None
    poster: bool = True


@dataclass
class Result:
    text: str  # what search reads: words, one phrase per line
    data: dict = field(default_factory=dict)  # structured output: boxes, scores, names


class Analyser(ABC):
    name: ClassVar[str]  # also the search field it fills (assets.documents)
    needs_image: ClassVar[bool] = True
    # Longest an analyser may take per subject before its batch counts as hung.
    seconds_per_subject: ClassVar[float] = 30.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded = False
        self._failure: tuple[str, float] | None = None  # reason, when it happened

    @property
    @abstractmethod
    def model_id(self) -> str:
        """Names the model (and its version) that made a result; a different id means re-analyse."""

    def check(self) -> None:  # noqa: B027 - most analysers have nothing to check
        """Raise ModelUnavailable when loading clearly cannot work (cheap: no weights)."""

    def _load(self) -> None:  # noqa: B027 - analysers without a model load nothing
        """Load weights (once, under the lock); nothing to do for analysers without a model."""

    def load(self) -> Analyser:
        if self._loaded:
            return self
        with self._lock:
            if self._loaded:
                return self
            if self._failure is not None and time.monotonic() - self._failure[1] < RETRY_LOAD_AFTER_S:
                raise ModelUnavailable(self._failure[0])
            try:
                self.check()
                self._load()
            except ModelUnavailable as exc:
                self._failure = (exc.reason, time.monotonic())
                raise
            except Exception as exc:
                reason = f"{type(self).__name__} could not be loaded: {type(exc).__name__}: {exc}"
                self._failure = (reason, time.monotonic())
                raise ModelUnavailable(reason) from exc
            self._failure = None
            self._loaded = True
            log.info("loaded analyser %s (%s)", self.name, self.model_id)
        return self

    @abstractmethod
    def analyse(self, subjects: list[Subject]) -> list[Result]:
        """One result per subject, in order. Raise for a subject that cannot be analysed."""

    def describe(self) -> dict[str, Any]:
        return {"kind": f"analyser:{self.name}", "model_id": self.model_id, "loaded": self._loaded}
