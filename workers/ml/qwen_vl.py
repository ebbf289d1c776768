"""What the Qwen3-VL models MediaVault runs share: a processor and model loaded from a hub id or a
local folder (bf16 on CUDA, fp32 on CPU), pictures within a pixel budget, batches of pictures of
similar size, and chat messages.

The budget: Qwen3-VL reads a picture as one token per 32x32 pixels (16 px patches, merged 2x2),
so a 50-MP photo would be 49,000 tokens and minutes of work. Every picture is shrunk to at most
``max_pixels`` before the processor sees it, and the processor is given the same bound (its own
resize then only rounds the sides to whole tokens). Pictures are batched by size because a batch
is padded to its longest prompt: one panorama among squares would pad them all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch
from PIL import Image

from workers.ml.pixels import rgb

PIXELS_PER_TOKEN = 32 * 32
T = TypeVar("T")


def load(source: str, *, device: torch.device, dtype: torch.dtype, local_files_only: bool,
         model_class: str = "AutoModelForImageTextToText") -> tuple[Any, Any]:
    """(processor, model in eval mode on `device`); the tokenizer pads on the left, so that every
    prompt of a batch ends at the last position (where generation starts and pooling reads)."""
    import transformers

    processor = transformers.AutoProcessor.from_pretrained(source, local_files_only=local_files_only)
    processor.tokenizer.padding_side = "left"
    model = getattr(transformers, model_class).from_pretrained(source, dtype=dtype, local_files_only=local_files_only)
    return processor, model.to(device).eval()


def bounded(image: Image.Image, max_pixels: int) -> Image.Image:
    """`image` as RGB with at most `max_pixels` pixels (aspect kept; never enlarged), each side at
    least one token wide."""
    picture = rgb(image)
    pixels = picture.width * picture.height
    if pixels <= max_pixels:
        return picture
    scale = math.sqrt(max_pixels / pixels)
    size = (max(32, int(picture.width * scale)), max(32, int(picture.height * scale)))
    return picture.resize(size, Image.Resampling.BICUBIC)


def size_budget(max_pixels: int) -> dict[str, int]:
    """The processor's own bound, the same as `bounded`'s (its resize rounds sides to whole tokens)."""
    return {"longest_edge": max_pixels, "shortest_edge": PIXELS_PER_TOKEN}


def decode_side(max_pixels: int) -> int:
    """The side pictures are decoded at (draft JPEG decoding): enough for the pixel budget."""
    return int(max_pixels**0.5)


def inputs(processor: Any, chats: list[str], pictures: list, max_pixels: int, device: torch.device) -> Any:
    """The model's inputs for these chat prompts (padded on the left) and the pictures they mark, in
    order, under the pixel budget; on `device`."""
    extra = {"images": pictures, "images_kwargs": {"size": size_budget(max_pixels)}} if pictures else {}
    return processor(text=chats, padding=True, return_tensors="pt", **extra).to(device)


def by_size(items: Sequence[T], pixels: Callable[[T], int], batch_size: int) -> list[list[T]]:
    """`items` in batches of at most `batch_size`, neighbours in size together."""
    ordered = sorted(items, key=pixels)
    return [list(ordered[start : start + batch_size]) for start in range(0, len(ordered), batch_size)]


def clipped(tokenizer: Any, text: str, max_tokens: int) -> str:
    """`text` cut to its first `max_tokens` tokens: a PDF's 100,000 characters must not become the
    prompt (the processor cannot truncate text next to picture tokens without cutting those)."""
    if len(text) <= max_tokens:  # no token is shorter than a character
        return text
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return text if len(ids) <= max_tokens else tokenizer.decode(ids[:max_tokens])


def user_turn(text: str, *, picture: bool, system: str | None = None) -> list[dict]:
    """A chat of one user turn: a picture (when `picture`) then `text`, after an optional system turn."""
    content: list[dict] = ([{"type": "image"}] if picture else []) + [{"type": "text", "text": text}]
    turns = [{"role": "system", "content": [{"type": "text", "text": system}]}] if system else []
    return [*turns, {"role": "user", "content": content}]
