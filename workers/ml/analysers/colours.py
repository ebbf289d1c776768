"""Dominant colours by name ("red", "dark blue"), so "a red car" or "blue sky" can match a photo
nobody described. No model: the picture's pixels are counted into a small palette of named
colours, and the colours covering at least a tenth of it are kept, commonest first."""

from __future__ import annotations

import numpy as np

from workers.ml.analysers.base import Analyser, Result, Subject

# Named colours people use in searches, as RGB.
PALETTE = {
    "black": (20, 20, 20), "white": (240, 240, 240), "grey": (128, 128, 128), "red": (200, 30, 30),
    "orange": (240, 140, 20), "yellow": (240, 220, 40), "green": (40, 150, 50), "blue": (40, 90, 200),
    "purple": (130, 50, 160), "pink": (240, 130, 180), "brown": (120, 75, 40), "beige": (220, 200, 160),
    "dark blue": (20, 30, 90), "light blue": (140, 190, 240), "dark green": (20, 70, 30),
}
MIN_SHARE = 0.10
SIDE = 64  # enough pixels to count shares, few enough to be instant


class Colours(Analyser):
    name = "colours"
    seconds_per_subject = 5.0

    @property
    def model_id(self) -> str:
        return "colours-v1"

    def analyse(self, subjects: list[Subject]) -> list[Result]:
        names = list(PALETTE)
        palette = np.array([PALETTE[name] for name in names], dtype=np.float32)
        results = []
        for subject in subjects:
            small = subject.image.convert("RGB").resize((SIDE, SIDE))
            pixels = np.asarray(small, dtype=np.float32).reshape(-1, 3)
            nearest = np.argmin(((pixels[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2), axis=1)
            shares = np.bincount(nearest, minlength=len(names)) / len(nearest)
            order = [i for i in np.argsort(-shares) if shares[i] >= MIN_SHARE]
            kept = [{"name": names[i], "share": round(float(shares[i]), 3)} for i in order]
            results.append(Result(" ".join(item["name"] for item in kept), {"colours": kept}))
        return results
