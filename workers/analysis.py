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
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Q

from assets import leases
from assets.actions import pipeline
from assets.imaging import open_upright
from assets.media_ingest import PAGES_ANALYSER
from assets.models import Asset, MediaType, Rendition
from assets.models.assets import thumbnail_spec
from workers.ml import analysers
from workers.ml.analysers import Analyser, Result, Subject
from workers.ml.errors import ModelUnavailable

log = logging.getLogger(__name__)

IMAGE_SIDE = 1024
LOAD_SECONDS = 600.0  # an analyser's first load (the text analyser's models, an ONNX export) at most
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


def subjects_for(assets: list[Asset]) -> list[Subject]:
    """What the analysers look at: each asset's largest thumbnail (a photo, a video's poster, a
    document's first page), or for a video a few frames of its strip (`keyframes`), one subject each."""
    thumbnails = [thumbnail_spec(size) for size in settings.RENDITION_SIZES]
    wanted = (Q(spec__in=thumbnails) | Q(asset__media_type=MediaType.VIDEO, spec__startswith="frame")
              | Q(asset__media_type=MediaType.DOCUMENT, spec__startswith="page"))
    renditions: dict[int, dict[str, Rendition]] = defaultdict(dict)
    for rendition in Rendition.objects.filter(wanted, asset__in=assets).select_related("blob"):
        renditions[rendition.asset_id][rendition.spec] = rendition
    subjects = []
    for asset in assets:
        own = renditions[asset.pk]
        largest = max((own[s] for s in thumbnails if s in own), key=lambda r: r.width * r.height, default=None)
        views = [(None, None, largest, True)]  # (seconds, page, rendition, stands for the asset)
        if asset.media_type == MediaType.VIDEO:
            views = [(seconds, None, r, poster) for seconds, r, poster in keyframes(asset, own)] or views
        elif asset.media_type == MediaType.DOCUMENT:
            views = [(None, 1, largest, True)] + [(None, n, r, False) for n, r in scanned_pages(asset, own)]
        for seconds, page, rendition, poster in views:
            picture = _picture(asset, rendition) if asset.media_type in PICTURED else None
            subjects.append(Subject(asset.pk, picture, asset.taken_at, asset.gps_latitude, asset.gps_longitude,
                                    asset.exif or {}, has_picture=asset.media_type in PICTURED, seconds=seconds,
                                    page=page, poster=poster))
    return subjects


def scanned_pages(asset: Asset, renditions: dict[str, Rendition]) -> list[tuple[int, Rendition]]:
    """(number, preview) of a document's later pages that have no text layer (scans): the analysers,
    text in the picture first among them, read those; the first page is read in any case."""
    pages = next((a for a in asset.analyses.all() if a.analyser == PAGES_ANALYSER), None)
    without = (pages.data or {}).get("without_text") if pages is not None else None
    if not isinstance(without, list):
        return []
    return [(n, renditions[f"page{n}"]) for n in without if isinstance(n, int) and n > 1 and f"page{n}" in renditions]


def keyframes(asset: Asset, renditions: dict[str, Rendition]) -> list[tuple[float, Rendition, bool]]:
    """(seconds, rendition, is the poster) of the frames a video is analysed in: the poster and
    others spread evenly over the strip, `VIDEO_ANALYSIS_FRAMES` in all, in time order."""
    info = asset.media_info or {}
    strip = [(f.get("seconds"), renditions.get(str(f.get("spec")))) for f in info.get("frames") or []]
    strip = [(seconds, r) for seconds, r in strip if r is not None and isinstance(seconds, int | float)]
    if not strip:
        return []
    poster = min(range(len(strip)), key=lambda i: abs(strip[i][0] - (info.get("poster_seconds") or 0)))
    count = min(settings.VIDEO_ANALYSIS_FRAMES, len(strip))
    spread = {round(i * (len(strip) - 1) / max(1, count - 1)) for i in range(count)} if count > 1 else set()
    nearest = min(spread, key=lambda i: abs(i - poster), default=None)
    chosen = (spread - {nearest}) | {poster}
    return [(strip[i][0], strip[i][1], i == poster) for i in sorted(chosen)]


def _picture(asset: Asset, rendition: Rendition | None):
    """A rendition's picture, upright RGB; None when there is none (or it cannot be read)."""
    if rendition is None:
        return None
    try:
        with rendition.blob.open() as handle:
            return open_upright(io.BytesIO(handle.read()), IMAGE_SIDE)
    except Exception as exc:  # a missing or damaged thumbnail: the image analysers get an error each
        log.warning("picture %s of asset %s unreadable: %s", rendition.spec, asset.pk, exc)
        return None


class _Timeout(Exception):
    pass


class _Lane:
    """A long-lived daemon thread that loads and runs the analysers for one calling thread, one call
    at a time.

    Why one thread for all of them, kept: torch's CPU thread pool (OpenMP) belongs to the thread that
    calls into it, and once a process holds more pool threads than it has cores, every pool waits
    for work by sleeping instead of spinning. Loading on the caller and running each batch on a
    fresh thread did that: with 2 torch threads on 2 cores faces took 75 ms a 1024 px picture, 55
    when one thread both loads and runs them. A call that outlives its time limit keeps its thread
    (a hung model cannot be interrupted); the lane is retired, and the next call gets a new one."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.retired = False
        threading.Thread(target=self._serve, name="analysers", daemon=True).start()

    def _serve(self) -> None:
        while not self.retired:
            call, done, outcome = self._jobs.get()
            try:
                outcome["value"] = call()
            except BaseException as exc:  # handed to the caller
                outcome["error"] = exc
            finally:
                connection.close()  # whatever the call opened on this thread
                done.set()

    def run(self, seconds: float, call):
        done, outcome = threading.Event(), {}
        self._jobs.put((call, done, outcome))
        if not done.wait(seconds):
            self.retired = True
            raise _Timeout(f"took longer than {seconds:.0f} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]


_lanes: dict[int, _Lane] = {}
_lanes_lock = threading.Lock()


def run_on_lane(seconds: float, call):
    """`call()` on the calling thread's analyser lane, waiting at most `seconds`; a hung call is
    left to finish on its own (its result is dropped) and the caller moves on."""
    caller = threading.get_ident()
    with _lanes_lock:
        lane = _lanes.get(caller)
        if lane is None or lane.retired:
            lane = _lanes[caller] = _Lane()
    return lane.run(seconds, call)


def load_analyser(name: str) -> Analyser:
    """The analyser `name`, loaded on the calling thread's lane, where it will run (see `_Lane`);
    ModelUnavailable when it cannot load, or does not within LOAD_SECONDS."""
    try:
        return run_on_lane(LOAD_SECONDS, lambda: analysers.get_analyser(name))
    except _Timeout as exc:
        raise ModelUnavailable(f"{name}: loading {exc}") from exc


def _run(analyser: Analyser, subjects: list[Subject]) -> list[Result | str]:
    """One result or error text per subject (several subjects may be frames of one video)."""
    ready = [i for i, s in enumerate(subjects) if s.image is not None or not analyser.needs_image]
    answers: list[Result | str] = ["no picture to analyse"] * len(subjects)
    if ready:
        batch = [subjects[i] for i in ready]
        budget = analyser.seconds_per_subject * len(batch)
        try:
            results = run_on_lane(budget, lambda: analyser.analyse(batch))
            for i, result in zip(ready, results, strict=True):
                answers[i] = result
        except _Timeout as exc:
            for i in ready:
                answers[i] = f"{analyser.name} timed out: {exc}"
        except Exception:
            # One picture broke the batch: find which, one by one.
            for i in ready:
                try:
                    answers[i] = run_on_lane(analyser.seconds_per_subject,
                                             lambda s=subjects[i]: analyser.analyse([s]))[0]
                except Exception as exc:
                    answers[i] = f"{analyser.name} failed: {type(exc).__name__}: {exc}"[:1000]
    return answers


def _looked_at(analyser: Analyser, subjects: list[Subject]) -> list[Subject]:
    """The subjects this analyser looks at: every picture (a video's frames too) for a picture
    analyser, one subject per asset for the others (place and dates read the asset's facts)."""
    if analyser.needs_image:
        return [s for s in subjects if s.has_picture]
    return [s for s in subjects if s.poster]


def _where(subject: Subject) -> dict:
    return {"page": subject.page} if subject.page is not None else {"seconds": subject.seconds}


def _merged(frames: list[tuple[Subject, Result | str]]) -> Result | str:
    """One answer for one asset from its frames' (or pages') answers: every line any of them found,
    once, in order; the poster's or first page's structured output (else the first one's) with each
    one's text and moment or page number under "frames", so a match can say when or where it is. An
    error only when none worked."""
    if len(frames) == 1:
        return frames[0][1]
    worked = [(s, r) for s, r in frames if isinstance(r, Result)]
    if not worked:
        return frames[0][1]
    lines = list(dict.fromkeys(line for _, r in worked for line in r.text.splitlines() if line.strip()))
    base = next((r for s, r in worked if s.poster), worked[0][1])
    data = {**base.data, "frames": [{**_where(s), "text": r.text} for s, r in worked if r.text]}
    return Result("\n".join(lines), data)


def analyse_claimed(claim: pipeline.Claim, names: list[str] | None = None) -> AnalysisReport:
    report = AnalysisReport(claimed=len(claim.assets))
    findings: list[pipeline.Finding] = []
    with leases.kept(pipeline.ANALYSIS, claim.token):
        subjects = subjects_for(claim.assets)
        for name in names or analysers.enabled():
            try:
                analyser = load_analyser(name)
            except ModelUnavailable as exc:
                report.skipped[name] = exc.reason
                continue
            started = time.perf_counter()
            looked_at = _looked_at(analyser, subjects)
            by_asset: dict[int, list] = defaultdict(list)
            for subject, answer in zip(looked_at, _run(analyser, looked_at), strict=True):
                by_asset[subject.asset_id].append((subject, answer))
            report.seconds[name] = time.perf_counter() - started
            each = report.seconds[name] / max(1, len(by_asset))
            for asset_id, frames in by_asset.items():
                answer = _merged(frames)
                if isinstance(answer, str):
                    findings.append(pipeline.Finding(asset_id, name, analyser.model_id, error=answer))
                    report.errors += 1
                else:
                    findings.append(pipeline.Finding(asset_id, name, analyser.model_id, text=answer.text,
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
