"""Device settings ("auto", "cpu", "cuda", "cuda:N"): validated without torch, resolved with it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from workers.ml.errors import ModelUnavailable

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N"
_DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def validate_device_setting(setting: str) -> str:
    """The normalised setting; ValueError for anything that is not a device choice."""
    value = setting.strip().lower()
    if not _DEVICE_RE.match(value):
        raise ValueError(f"device {setting!r} is not one of {DEVICE_CHOICES}")
    return value


def resolve_device(setting: str) -> torch.device:
    """A torch device for the setting; CUDA that is not there makes the model unavailable."""
    import torch

    value = validate_device_setting(setting)
    if value == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if value == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ModelUnavailable(f"device {value!r} was requested but torch sees no CUDA device")
    device = torch.device(value)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise ModelUnavailable(f"device {value!r} was requested but only {torch.cuda.device_count()} exist")
    return device
