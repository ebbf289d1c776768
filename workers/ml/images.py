"""Image decoding for the image model; Pillow only, so CPU threads can run it beside the GPU."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from PIL import Image

from assets.imaging import open_upright


def load_image_for_model(source: str | Path | IO[bytes], size: int) -> Image.Image:
    """Upright RGB, decoded no larger than needed for a ``size`` x ``size`` input (see
    ``assets.imaging.upright``); the model's own resize then works from a much smaller image."""
    return open_upright(source, size)
