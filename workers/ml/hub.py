"""Where weights come from: a local path, the local Hugging Face cache, or the hub itself.

Many machines here have no network, and a hub request there retries for about 25 seconds before
it gives up. So the registry decides once per process whether the hub is reachable and, if it
is not, switches every Hugging Face library to offline mode: missing weights then fail at once.
"""

from __future__ import annotations

import logging
import os
import threading
import urllib.error
import urllib.request
from pathlib import Path

from workers.ml.errors import ModelUnavailable

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 3.0
_WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt", ".json")
_TRUE = {"1", "true", "yes", "on"}

_probe_lock = threading.Lock()
_probe_result: bool | None = None


def is_offline() -> bool:
    """True when the Hugging Face libraries are (or have been told to be) in offline mode."""
    from huggingface_hub import constants

    env = (os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or "").lower()
    return bool(constants.HF_HUB_OFFLINE) or env in _TRUE


def go_offline() -> None:
    """Make every later hub look-up use the local cache only, failing fast when a file is missing."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # huggingface_hub reads HF_HUB_OFFLINE once, at import; libraries imported before us
    # (open_clip, transformers) only see the switch through its constants module.
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = True


def hub_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """One HEAD request to the hub endpoint, at most once per process; offline mode means no."""
    global _probe_result
    if is_offline():
        return False
    with _probe_lock:
        if _probe_result is None:
            _probe_result = _probe(timeout)
            log.info("Hugging Face hub %s", "reachable" if _probe_result else "unreachable")
        return _probe_result


def reset_probe() -> None:
    global _probe_result
    with _probe_lock:
        _probe_result = None


def _probe(timeout: float) -> bool:
    from huggingface_hub import constants

    answers: list[bool] = []

    def attempt() -> None:
        try:
            urllib.request.urlopen(urllib.request.Request(constants.ENDPOINT, method="HEAD"), timeout=timeout)
            answers.append(True)
        except urllib.error.HTTPError:
            answers.append(True)  # the server answered, whatever it said
        except (OSError, ValueError):
            answers.append(False)

    # urlopen's timeout does not cover DNS resolution, which can stall; a daemon thread bounds it.
    thread = threading.Thread(target=attempt, name="hub-probe", daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(answers and answers[0])


def local_path(name: str) -> Path | None:
    """The existing local file or directory ``name`` names, else None."""
    path = Path(name).expanduser()
    return path if name and path.exists() else None


def looks_like_path(name: str) -> bool:
    """A name meant as a local path (absolute, relative with ./, ~, or a weights file), not a hub id."""
    return name.startswith(("/", "./", "../", "~")) or name.endswith(_WEIGHT_SUFFIXES) or name.count("/") > 1


def is_local(name: str) -> bool:
    return local_path(name) is not None or looks_like_path(name)


def cached_file(repo_id: str, filename: str) -> str | None:
    """Path of ``filename`` from ``repo_id`` in the local Hugging Face cache, without any network."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, filename)
    return found if isinstance(found, str) else None


def check_hf_source(name: str, *, local_files_only: bool, marker: str = "config.json") -> None:
    """Raise ModelUnavailable unless ``name`` is a model directory or a hub id we may fetch or have cached."""
    path = local_path(name)
    if path is not None:
        if not (path / marker).is_file():
            raise ModelUnavailable(f"{name}: not a model directory (no {marker} in it)")
        return
    if looks_like_path(name):
        raise ModelUnavailable(f"{name}: no such directory")
    if local_files_only and cached_file(name, marker) is None:
        raise ModelUnavailable(
            f"{name} is not in the local Hugging Face cache and the hub is not reachable "
            "(offline); copy the model to a local directory and point the setting at it"
        )
