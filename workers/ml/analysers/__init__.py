"""The analysers, by name; `MEDIAVAULT_ANALYSERS` chooses which run (default: all of them).

Each is built and loaded on first use, once per worker process. An analyser that cannot load
(its package or weights missing) is skipped with its reason; `active()` reports them for the
status pages.
"""

from __future__ import annotations

import importlib
import threading

from django.conf import settings

from workers.ml.analysers.base import Analyser, Result, Subject
from workers.ml.errors import ModelUnavailable

__all__ = ["ANALYSERS", "Analyser", "Result", "Subject", "enabled", "get_analyser", "reset"]

# name -> "module:Class"; the name is also the search field the analyser fills.
ANALYSERS = {
    "text_in_image": "workers.ml.analysers.ocr:TextInImage",
    "labels": "workers.ml.analysers.labels:Labels",
    "faces": "workers.ml.analysers.faces:Faces",
    "colours": "workers.ml.analysers.colours:Colours",
    "place": "workers.ml.analysers.place:Place",
    "dates": "workers.ml.analysers.dates:DateWords",
    "caption": "workers.ml.analysers.captions:Captions",
}

_lock = threading.Lock()
_built: dict[str, Analyser | ModelUnavailable] = {}


def enabled() -> list[str]:
    return [name for name in ANALYSERS if name in settings.ANALYSERS]


def _build(name: str) -> Analyser:
    module, _, cls = ANALYSERS[name].partition(":")
    try:
        return getattr(importlib.import_module(module), cls)()
    except ImportError as exc:
        raise ModelUnavailable(f"{name}: its package is not installed ({exc})") from exc


def _built_once(name: str) -> Analyser | ModelUnavailable:
    with _lock:
        if name not in _built:
            try:
                _built[name] = _build(name)
            except ModelUnavailable as exc:
                _built[name] = exc
        return _built[name]


def get_analyser(name: str) -> Analyser:
    """The loaded analyser; ModelUnavailable (with the reason) when it cannot run."""
    built = _built_once(name)
    if isinstance(built, ModelUnavailable):
        raise ModelUnavailable(built.reason)
    return built.load()


def describe_enabled() -> dict[str, dict]:
    """Per enabled analyser, what the status pages show: ``describe()`` and ``available: True``, or
    ``available: False`` with the reason. Cheap: builds and checks each, loads no weights."""
    report = {}
    for name in enabled():
        built = _built_once(name)
        try:
            if isinstance(built, ModelUnavailable):
                raise built
            built.check()
            report[name] = {**built.describe(), "available": True}
        except ModelUnavailable as exc:
            report[name] = {"available": False, "reason": exc.reason}
    return report


def reset() -> None:
    with _lock:
        _built.clear()
