"""The analysis step: claim ready assets in batches, let every enabled analyser look at them, report
the findings through the claim (``assets.actions.pipeline.finish_analysis``).

Each analyser reads the asset's largest thumbnail (already upright, at most about 1024 px: decoding
it costs a fraction of the original). One analyser's trouble is that analyser's alone: an
exception in a batch is retried subject by subject so the bad picture is named; an analyser that
runs past its time (``seconds_per_subject`` for each subject) is left behind and the batch's
subjects get a timeout error for it; an analyser that cannot load is skipped with its reason.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from assets import leases
from assets.actions import pipeline
from assets.imaging import open_upright
from assets.models import Asset, MediaType, Rendition
from assets.models.assets import thumbnail_spec
from workers.ml import analysers
from workers.ml.analysers import Analyser, Result, Subject
from workers.ml.errors import ModelUnavailable

log = logging.getLogger(__name__)

IMAGE_SIDE = 1024
# What has a picture for analysers: a photo, a video's poster frame, a document's first page.
PICTURED = (MediaType.IMAGE, MediaType.VIDEO, MediaType.DOCUMENT)


@dataclass
class AnalysisReport:
    claimed: int = 0
    findings: int = 0
    errors: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    discarded: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # per analyser, summed

    def add(self, other: AnalysisReport) -> None:
        self.claimed += other.claimed
        self.findings += other.findings
        self.errors += other.errors
        self.skipped.update(other.skipped)
        self.discarded += other.discarded
        for name, seconds in other.seconds.items():
            self.seconds[name] = self.seconds.get(name, 0.0) + seconds


def _picture(asset: Asset, thumbnails: dict[int, Rendition]):
    """The asset's largest thumbnail, upright RGB; None when it has none (or it cannot be read)."""
    rendition = thumbnails.get(asset.pk)
    if rendition is None:
        return None
    try:
        with rendition.blob.open() as handle:
            return open_upright(io.BytesIO(handle.read()), IMAGE_SIDE)
    except Exception as exc:  # a missing or damaged thumbnail: the image analysers get an error each
        log.warning("thumbnail of asset %s unreadable: %s", asset.pk, exc)
        return None


def subjects_for(assets: list[Asset]) -> list[Subject]:
    largest: dict[int, Rendition] = {}
    # The thumbnails only: a video's strip frames and playable copy, a document's later pages are not it.
    thumbnails = [thumbnail_spec(size) for size in settings.RENDITION_SIZES]
    for rendition in Rendition.objects.filter(asset__in=assets, spec__in=thumbnails).select_related("blob"):
        current = largest.get(rendition.asset_id)
        if current is None or rendition.width * rendition.height > current.width * current.height:
            largest[rendition.asset_id] = rendition
    return [
        Subject(asset.pk, _picture(asset, largest) if asset.media_type in PICTURED else None, asset.taken_at,
                asset.gps_latitude, asset.gps_longitude, asset.exif or {}, has_picture=asset.media_type in PICTURED)
        for asset in assets
    ]


class _Timeout(Exception):
    pass


def _within(seconds: float, call):
    """`call()` on a thread of its own, waiting at most `seconds`; a hung call is left to finish on
    its own (its result is dropped) and the caller moves on."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the caller
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run, name="analyser", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise _Timeout(f"took longer than {seconds:.0f} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _run(analyser: Analyser, subjects: list[Subject]) -> list[Result | str]:
    """One result or error text per subject."""
    ready = [s for s in subjects if s.image is not None or not analyser.needs_image]
    answers: dict[int, Result | str] = {s.asset_id: "no picture to analyse" for s in subjects if s not in ready}
    if ready:
        budget = analyser.seconds_per_subject * len(ready)
        try:
            results = _within(budget, lambda: analyser.analyse(ready))
            answers.update({s.asset_id: r for s, r in zip(ready, results, strict=True)})
        except _Timeout as exc:
            answers.update({s.asset_id: f"{analyser.name} timed out: {exc}" for s in ready})
        except Exception:
            # One picture broke the batch: find which, one by one.
            for subject in ready:
                try:
                    answers[subject.asset_id] = _within(analyser.seconds_per_subject,
                                                        lambda s=subject: analyser.analyse([s]))[0]
                except Exception as exc:
                    answers[subject.asset_id] = f"{analyser.name} failed: {type(exc).__name__}: {exc}"[:1000]
    return [answers[s.asset_id] for s in subjects]


def analyse_claimed(claim: pipeline.Claim, names: list[str] | None = None) -> AnalysisReport:
    report = AnalysisReport(claimed=len(claim.assets))
    findings: list[pipeline.Finding] = []
    with leases.kept(pipeline.ANALYSIS, claim.token):
        subjects = subjects_for(claim.assets)
        for name in names or analysers.enabled():
            try:
                analyser = analysers.get_analyser(name)
            except ModelUnavailable as exc:
                report.skipped[name] = exc.reason
                continue
            started = time.perf_counter()
            looked_at = [s for s in subjects if s.has_picture or not analyser.needs_image]
            answers = _run(analyser, looked_at)
            report.seconds[name] = time.perf_counter() - started
            each = report.seconds[name] / max(1, len(looked_at))
            for subject, answer in zip(looked_at, answers, strict=True):
                if isinstance(answer, str):
                    findings.append(pipeline.Finding(subject.asset_id, name, analyser.model_id, error=answer))
                    report.errors += 1
                else:
                    findings.append(pipeline.Finding(subject.asset_id, name, analyser.model_id, text=answer.text,
                                                     data=answer.data, seconds=each))
                    report.findings += 1
    kept = pipeline.finish_analysis(claim, findings, report.skipped)
    report.discarded = len(set(claim.ids) - set(kept))
    return report


def analyse_pending(asset_ids: list[int] | None = None, max_batches: int = 20) -> AnalysisReport:
    """Worker entry point: claim and analyse batches until nothing is pending (bounded per call)."""
    total = AnalysisReport()
    for _ in range(max_batches):
        claim = pipeline.claim_analysis(settings.ANALYSIS_BATCH_SIZE, asset_ids)
        if claim is None:
            break
        total.add(analyse_claimed(claim))
    return total


def analyse_now(asset_ids: list[int], names: list[str] | None = None) -> AnalysisReport:
    """Analyse these ready assets in this process, whatever their state (`reanalyse`, tests)."""
    total = AnalysisReport()
    size = settings.ANALYSIS_BATCH_SIZE
    for start in range(0, len(asset_ids), size):
        batch = list(asset_ids[start : start + size])
        claim = pipeline.claim_analysis(len(batch), batch, include_done=True)
        if claim is not None:
            total.add(analyse_claimed(claim, names))
    return total
