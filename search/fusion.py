"""Fusing ranked lists from several signals into one ranking.

Two classic methods, both available per request:
- rrf: reciprocal-rank fusion, sum of w / (k + rank);
- weighted: min-max normalise each list's scores to [0, 1], then a weighted sum.

The default, "adaptive", is the weighted method with one extra rule: the keyword weight grows
with how *decisive* the keyword evidence is for this query. An identifier query ("IMG_5195",
"1000268201") matches one document with a rare term and nothing else comes close: the keyword
list is decisive and should win outright. A description ("two dogs on a beach") spreads keyword
scores over many documents with small gaps: the semantic signals should lead. Decisiveness is
read from the keyword scores alone (the gap between the best and the runner-up), so it needs no
tuning to a query set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

RRF_K = 60


@dataclass
class Candidate:
    asset_id: int
    signals: dict[str, dict] = field(default_factory=dict)  # name -> {"score": s, "rank": r}
    fused: float = 0.0


def rrf(lists: Mapping[str, list[tuple[int, float]]], weights: Mapping[str, float], k: int = RRF_K) -> dict[int, float]:
    fused: dict[int, float] = {}
    for name, ranked in lists.items():
        weight = weights.get(name, 1.0)
        for rank, (asset_id, _) in enumerate(ranked, start=1):
            fused[asset_id] = fused.get(asset_id, 0.0) + weight / (k + rank)
    return fused


def _minmax(ranked: list[tuple[int, float]]) -> dict[int, float]:
    if not ranked:
        return {}
    scores = [score for _, score in ranked]
    low, high = min(scores), max(scores)
    if high - low < 1e-12:
        return {asset_id: 1.0 for asset_id, _ in ranked}
    return {asset_id: (score - low) / (high - low) for asset_id, score in ranked}


def weighted(lists: Mapping[str, list[tuple[int, float]]], weights: Mapping[str, float]) -> dict[int, float]:
    fused: dict[int, float] = {}
    for name, ranked in lists.items():
        weight = weights.get(name, 1.0)
        for asset_id, score in _minmax(ranked).items():
            fused[asset_id] = fused.get(asset_id, 0.0) + weight * score
    return fused


def keyword_decisiveness(keyword: list[tuple[int, float]]) -> float:
    """0 (no keyword evidence, or many documents tie) .. 1 (one document stands alone).

    The relative gap between the best keyword score and the runner-up: an exact identifier
    match has no runner-up at all.
    """
    if not keyword:
        return 0.0
    best = keyword[0][1]
    if best <= 0:
        return 0.0
    runner_up = keyword[1][1] if len(keyword) > 1 else 0.0
    return max(0.0, min(1.0, (best - runner_up) / best))


def adaptive_weights(
    keyword: list[tuple[int, float]], base: Mapping[str, float], keyword_signal: str = "keyword"
) -> tuple[dict[str, float], float]:
    """Scale the semantic weights down as keyword evidence becomes decisive; returns (weights, d)."""
    decisive = keyword_decisiveness(keyword)
    weights = {}
    for name, weight in base.items():
        weights[name] = weight if name == keyword_signal else weight * (1.0 - decisive)
    return weights, decisive


def fuse(
    lists: Mapping[str, list[tuple[int, float]]],
    *,
    method: str,
    weights: Mapping[str, float],
    keyword_signal: str = "keyword",
) -> tuple[list[Candidate], dict]:
    """Fuse signal lists; returns candidates (best first) and facts about the fusion for explanations."""
    facts: dict = {"method": method}
    if method == "rrf":
        scores = rrf(lists, weights)
        facts["weights"] = dict(weights)
    elif method == "weighted":
        scores = weighted(lists, weights)
        facts["weights"] = dict(weights)
    elif method == "adaptive":
        effective, decisive = adaptive_weights(lists.get(keyword_signal, []), weights, keyword_signal)
        scores = weighted(lists, effective)
        facts.update(weights=effective, keyword_decisiveness=round(decisive, 4))
    else:
        raise ValueError(f"unknown fusion method {method!r}")
    candidates: dict[int, Candidate] = {}
    for name, ranked in lists.items():
        for rank, (asset_id, score) in enumerate(ranked, start=1):
            candidate = candidates.setdefault(asset_id, Candidate(asset_id))
            candidate.signals[name] = {"score": round(float(score), 6), "rank": rank}
    for asset_id, score in scores.items():
        candidates[asset_id].fused = score
    ordered = sorted(candidates.values(), key=lambda c: (-c.fused, c.asset_id))
    return ordered, facts
