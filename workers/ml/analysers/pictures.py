"""What the model-backed analysers share about pictures: any Pillow image as 8-bit RGB
(``workers.ml.pixels``, whatever mode it came in), shrunk to fit, and the threads a model library
may use."""

from __future__ import annotations

import os
import sys

from PIL import Image

from workers.ml.pixels import rgb

__all__ = ["fitted", "library_threads", "rgb"]


def fitted(image: Image.Image, max_side: int) -> tuple[Image.Image, float]:
    """`image` shrunk to fit `max_side` (never enlarged) and the factor that maps its coordinates
    back to the original's."""
    longest = max(image.size)
    if longest <= max_side:
        return image, 1.0
    scale = max_side / longest
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR), longest / max_side


def library_threads() -> int:
    """Threads for a model library with a pool of its own (onnxruntime): as many as torch uses in
    this process (``MEDIAVAULT_TORCH_THREADS`` sets those per worker), else this process's cores."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return max(1, torch.get_num_threads())
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
