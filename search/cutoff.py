"""Where real matches end: which ranked results are strong matches and which only weakly
supported ones, shown behind "show weaker matches".

Vector search always returns the nearest documents, however far; min-max fusion then spreads
whatever came back over [0, 1]. So strength is read from each signal's own evidence, never from
the fused score:

- literal matches are strong: the query as a whole identifier, a file name holding the fragment,
  or (a query of filters only) the filters themselves;
- a keyword match is strong when the document holds at least half of what the query says,
  each word weighed by its idf (a word in no document counts in full: "red kayak" where nobody
  wrote "kayak" is not matched by "red"); the Lucene habit of a minimum should-match share;
- a vector match is strong when its similarity reaches the model's calibrated cutoff
  (search/cutoffs.json, measured by bench/calibrate_cutoff.py on real pairs: the similarity that
  one unrelated document in a hundred reaches; see the operating points in bench/RESULTS.md). A
  model without a calibration cannot tell, so its matches count as strong, as before calibration,
  and the response says so. The calibration is of sentences: under a query that is a code
  ("c4e91b07", search.identifiers.is_code) vector neighbours are never strong (search.service).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from django.conf import settings

MIN_COVERAGE = 0.5


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, dict]:
    file = Path(path)
    if not file.exists():
        return {}
    return json.loads(file.read_text())


def calibration(model_id: str) -> dict | None:
    """The calibration of a model's similarities, or None."""
    return _load(str(settings.SEARCH_CUTOFFS_FILE)).get(model_id)


@dataclass
class Judgement:
    strong: set[int] = field(default_factory=set)
    uncalibrated: set[str] = field(default_factory=set)  # model ids whose matches could not be judged
    cutoffs: dict[str, float] = field(default_factory=dict)  # signal -> similarity cutoff applied


def judge(
    lists: dict[str, list[tuple[int, float]]],
    *,
    literal: set[str],
    keyword: str,
    coverage: dict[int, float],
    vector_models: dict[str, str],
) -> Judgement:
    """Which ids of the ranked lists are strong matches.

    `literal`: signals whose every result is a literal match; `coverage`: each keyword result's
    share of the query's idf; `vector_models`: signal -> the model id of its vectors."""
    judgement = Judgement()
    for name in literal & lists.keys():
        judgement.strong.update(asset_id for asset_id, _ in lists[name])
    judgement.strong.update(asset_id for asset_id, _ in lists.get(keyword, ()) if coverage.get(asset_id, 0.0)
                            >= MIN_COVERAGE)
    for name, model_id in vector_models.items():
        found = calibration(model_id)
        if found is None:
            judgement.uncalibrated.add(model_id)
            judgement.strong.update(asset_id for asset_id, _ in lists.get(name, ()))
            continue
        cutoff = float(found["similarity"])
        judgement.cutoffs[name] = cutoff
        judgement.strong.update(asset_id for asset_id, score in lists.get(name, ()) if score >= cutoff)
    return judgement
