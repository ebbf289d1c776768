"""Any Pillow image as 8-bit RGB, for the models that read pictures.

The runner hands models upright RGB thumbnails, but a model is also called directly (tests,
benchmarks, the shell), so each accepts whatever Pillow opens: greyscale, 16-bit, CMYK, palette or
transparent images are converted here, and an empty one is a readable error. Imports no Django
(the GPU benchmark runs the vision-language models without it).
"""

from __future__ import annotations

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
