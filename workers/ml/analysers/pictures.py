"""What the model-backed analysers share about pictures: any Pillow image as 8-bit RGB, and the
threads a model library may use.

The runner hands analysers upright RGB thumbnails, but an analyser is also called directly (tests,
benchmarks, the shell), so each one accepts whatever Pillow opens: greyscale, 16-bit, CMYK,
palette or transparent images are converted here, and an empty one is a readable error.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from PIL import Image

_TRANSPARENT = ("RGBA", "LA", "PA", "RGBa", "La")


def rgb(image: Image.Image | None) -> Image.Image:
    """`image` as 8-bit RGB (transparency composited on white); ValueError when there is nothing to see."""
    if image is None:
        raise ValueError("no picture")
    if image.width < 1 or image.height < 1:
        raise ValueError(f"empty picture ({image.width}x{image.height})")
    if image.mode == "RGB":
        return image
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        # Pillow's convert() clips these to 0..255, which turns most 16-bit pictures white: stretch instead.
        values = np.asarray(image, dtype=np.float32)
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
        return Image.fromarray(np.nan_to_num(scaled).clip(0, 255).astype(np.uint8), "L").convert("RGB")
    if image.mode in _TRANSPARENT or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


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
