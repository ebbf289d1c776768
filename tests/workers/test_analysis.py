"""The analysis stage: every enabled analyser looks at each ready asset; findings are written through the
claim, feed the keyword index and the text vectors, keep people's corrections, and one analyser's
trouble (an exception, a hang, a missing model) is that analyser's alone."""

from __future__ import annotations

import datetime as dt
import io
import threading
import time

import pytest
from PIL import Image

from assets import actions
from assets.actions import pipeline
from assets.models import Analysis, AnalysisStatus, Asset, EmbeddingStatus, Status
from assets.processing import process_asset
from search.bm25 import bm25_scores
from workers import analysis
from workers.ml import analysers
from workers.ml.analysers import Analyser, Result
from workers.ml.analysers.colours import Colours
from workers.ml.analysers.dates import DateWords
from workers.ml.errors import ModelUnavailable

pytestmark = pytest.mark.django_db


def _photo(user, colour=(200, 20, 20), name="red.jpg", **fields) -> Asset:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(buffer, format="JPEG", comment=name.encode())
    asset = actions.upload_asset(user, io.BytesIO(buffer.getvalue()), name, actions.AssetOptions()).asset
    assert process_asset(asset.pk).startswith("ready")
    if fields:
        Asset.objects.filter(pk=asset.pk).update(**fields)
    return Asset.objects.get(pk=asset.pk)


@pytest.fixture
def only(settings):
    """only("colours", "dates"): run just these analysers (the model-backed ones are tested on their own)."""

    def choose(*names):
        settings.ANALYSERS = list(names)
        analysers.reset()

    yield choose
    analysers.reset()


def test_findings_are_searchable_and_queue_new_text_vectors(alice, only):
    only("colours", "dates")
    asset = _photo(alice, taken_at=dt.datetime(2008, 10, 11, 12, tzinfo=dt.UTC), gps_latitude=-33.9)
    assert asset.analysis_status == AnalysisStatus.PENDING
    report = analysis.analyse_pending([asset.pk])

    assert (report.claimed, report.findings, report.errors) == (1, 2, 0)
    rows = {a.analyser: a for a in Analysis.objects.filter(asset=asset)}
    assert rows["colours"].text.startswith("red") and rows["colours"].model_id == "colours-v1"
    assert rows["dates"].text == "October spring 2008"  # the southern hemisphere's October
    asset.refresh_from_db()
    assert (asset.analysis_status, asset.analysis_claim) == (AnalysisStatus.READY, None)
    assert asset.embedding_status == EmbeddingStatus.PENDING  # the text vectors now read the findings
    for word in ("red", "october", "2008", "spring"):
        assert [pk for pk, _ in bm25_scores(word, visible=None, limit=5)] == [asset.pk], word
    assert "October spring 2008" in asset.document_text()


def test_a_correction_wins_and_survives_the_next_analysis(alice, only):
    only("colours")
    asset = _photo(alice)
    analysis.analyse_pending([asset.pk])
    Analysis.objects.filter(asset=asset, analyser="colours").update(corrected_text="crimson")
    analysis.analyse_now([asset.pk])
    row = Analysis.objects.get(asset=asset, analyser="colours")
    assert row.corrected_text == "crimson" and row.text.startswith("red")
    assert row.searchable_text == "crimson"


def test_an_edit_or_reprocess_during_analysis_discards_the_late_findings(alice, only):
    only("colours")
    asset = _photo(alice)
    claim = pipeline.claim_analysis(5, [asset.pk])
    actions.reprocess(alice, [asset.pk])
    finding = pipeline.Finding(asset.pk, "colours", "colours-v1", text="red")
    assert pipeline.finish_analysis(claim, [finding]) == []
    assert not Analysis.objects.exists()
    assert Asset.objects.get(pk=asset.pk).status == Status.PENDING


class Exploding(Analyser):
    name = "colours"

    @property
    def model_id(self):
        return "exploding-v1"

    def analyse(self, subjects):
        if len(subjects) > 1 or subjects[0].asset_id == self.bad:
            raise ValueError("this picture breaks me")
        return [Result("fine")]


class Hanging(Analyser):
    name = "dates"
    needs_image = False
    seconds_per_subject = 0.2

    @property
    def model_id(self):
        return "hanging-v1"

    def analyse(self, subjects):
        time.sleep(3)
        return [Result("late") for _ in subjects]


def test_one_analysers_exception_or_hang_is_that_analysers_alone(alice, only, monkeypatch):
    only("colours", "dates", "labels")
    good, bad = _photo(alice, name="good.jpg"), _photo(alice, (0, 0, 200), name="bad.jpg")
    exploding = Exploding()
    exploding.bad = bad.pk
    built = {"colours": exploding, "dates": Hanging()}

    def fake_get(name):
        if name == "labels":
            raise ModelUnavailable("no weights here")
        return built[name].load()

    monkeypatch.setattr(analysers, "get_analyser", fake_get)
    started = time.monotonic()
    report = analysis.analyse_now([good.pk, bad.pk])
    assert time.monotonic() - started < 3, "a hung analyser must not hold the batch"

    assert report.skipped == {"labels": "no weights here"}
    rows = {(a.asset_id, a.analyser): a for a in Analysis.objects.all()}
    assert rows[(good.pk, "colours")].text == "fine" and not rows[(good.pk, "colours")].error
    assert "this picture breaks me" in rows[(bad.pk, "colours")].error
    assert "timed out" in rows[(good.pk, "dates")].error and "timed out" in rows[(bad.pk, "dates")].error
    assert set(Asset.objects.values_list("analysis_status", flat=True)) == {AnalysisStatus.READY}


class ThreadNoting(Analyser):
    """Notes the thread of every load and every batch."""

    name = "dates"
    needs_image = False
    seconds_per_subject = 0.2

    def __init__(self, hang_first: bool = False) -> None:
        super().__init__()
        self.threads: list[tuple[str, int]] = []
        self.hang_first = hang_first

    @property
    def model_id(self):
        return "thread-noting-v1"

    def _load(self) -> None:
        self.threads.append(("load", threading.get_ident()))

    def analyse(self, subjects):
        self.threads.append(("analyse", threading.get_ident()))
        if self.hang_first and len(self.threads) == 2:
            time.sleep(1.5)
        return [Result("noted") for _ in subjects]


def test_analysers_load_and_run_on_one_kept_thread_and_a_hang_retires_it(alice, only, monkeypatch, settings):
    """Torch's CPU threads belong to the thread that calls it: loading on one thread and running on
    fresh ones left a process with more of them than cores (and every batch slower)."""
    only("dates")
    settings.ANALYSIS_BATCH_SIZE = 1
    ids = [_photo(alice, name=f"{n}.jpg").pk for n in range(3)]
    noting = ThreadNoting()
    monkeypatch.setattr(analysers, "get_analyser", lambda name: noting.load())
    analysis.analyse_now(ids)
    kinds = [kind for kind, _ in noting.threads]
    assert kinds == ["load", "analyse", "analyse", "analyse"]
    assert len({thread for _, thread in noting.threads}) == 1
    assert noting.threads[0][1] != threading.get_ident()

    hanging = ThreadNoting(hang_first=True)
    monkeypatch.setattr(analysers, "get_analyser", lambda name: hanging.load())
    report = analysis.analyse_now(ids)
    assert report.errors == 1 and report.findings == 2  # the first batch timed out, the others ran
    load_thread, hung_thread = hanging.threads[0][1], hanging.threads[1][1]
    assert load_thread == hung_thread
    assert {thread for _, thread in hanging.threads[2:]} == {hanging.threads[2][1]} != {hung_thread}
    assert "timed out" in Analysis.objects.get(asset_id=ids[0], analyser="dates").error


def test_the_part_of_the_day_reads_the_cameras_own_clock():
    """"night" for 23:10 where the photo was taken, though that instant is the next morning in UTC;
    a date with no wall clock behind it (a video's container time) gets no part of the day."""
    from workers.ml.analysers import Subject

    def taken(iso: str) -> Subject:
        when = dt.datetime.fromisoformat(iso)
        return Subject(1, None, when.astimezone(dt.UTC), exif={"taken_at": when.isoformat()})

    results = DateWords().analyse([taken("2019-07-04T23:10:00-07:00"), taken("2019-07-04T04:59:00+00:00"),
                                   taken("2019-07-04T05:00:00+09:00"), taken("2019-07-04T12:00:00+02:00"),
                                   taken("2019-07-04T20:59:59+05:30"),
                                   Subject(2, None, dt.datetime(2019, 7, 4, 23, tzinfo=dt.UTC))])
    assert [r.data.get("part_of_day") for r in results] == ["night", "night", "morning", "afternoon", "evening",
                                                             None]
    assert results[0].text == "July summer 2019 night"  # the month of the instant, as the date filters have it
    assert results[0].data["hour"] == 23
    odd = DateWords().analyse([Subject(3, None, dt.datetime(2019, 7, 4, tzinfo=dt.UTC), exif={"taken_at": "noon"}),
                               Subject(4, None, dt.datetime(2019, 7, 4, tzinfo=dt.UTC), exif={"taken_at": 7}),
                               taken("2019-07-04T00:00:00+00:00")])  # no time of day: an unset clock's midnight
    assert [r.text for r in odd] == ["July summer 2019"] * 3


def test_date_words_follow_the_hemisphere_and_colours_name_what_covers_the_picture():
    from workers.ml.analysers import Subject

    july = dt.datetime(2019, 7, 4, tzinfo=dt.UTC)
    words = DateWords().analyse([Subject(1, None, july), Subject(2, None, july, latitude=-41.3), Subject(3, None)])
    assert [r.text for r in words] == ["July summer 2019", "July winter 2019", ""]
    half = Image.new("RGB", (100, 100), (240, 240, 240))
    half.paste((20, 30, 90), (0, 0, 100, 60))
    result = Colours().analyse([Subject(1, half)])[0]
    assert result.text == "dark blue white"
    assert [c["name"] for c in result.data["colours"]] == ["dark blue", "white"]


def test_reanalyse_redoes_only_what_a_changed_model_has_not_seen(alice, only):
    from django.core.management import call_command

    only("colours", "dates")
    first, second = _photo(alice, name="a.jpg"), _photo(alice, (0, 200, 0), name="b.jpg")
    analysis.analyse_now([first.pk, second.pk])
    Analysis.objects.filter(asset=second, analyser="colours").update(model_id="colours-v0")  # an older model
    out, err = io.StringIO(), io.StringIO()
    call_command("reanalyse", "--analyser", "colours", "--only-missing", stdout=out, stderr=err)
    assert "reanalyse: 1 asset(s), 1 finding(s), 0 error(s)" in out.getvalue()
    assert "1/1" in err.getvalue()
    assert Analysis.objects.get(asset=second, analyser="colours").model_id == "colours-v1"


def test_people_correct_a_finding_and_search_follows(alice, bob, team, only):
    only("colours")
    asset = _photo(alice, name="photo.jpg")
    analysis.analyse_pending([asset.pk])
    with pytest.raises(actions.NotAllowed):
        actions.correct_analysis(bob, asset.pk, "colours", "nonsense")  # bob cannot edit alice's asset
    actions.correct_analysis(alice, asset.pk, "colours", "crimson  velvet")
    assert [pk for pk, _ in bm25_scores("crimson", visible=None, limit=5)] == [asset.pk]
    assert bm25_scores("red", visible=None, limit=5) == []
    assert Asset.objects.get(pk=asset.pk).embedding_status == EmbeddingStatus.PENDING
    actions.correct_analysis(alice, asset.pk, "colours", None)  # back to what the machine saw
    assert [pk for pk, _ in bm25_scores("red", visible=None, limit=5)] == [asset.pk]
