"""The asset page's "Detected" section (what each analyser found, with its model, errors and status) and
the correction form per finding (editors only: a correction or back to the machine's text, through
assets.actions.correct_analysis); and the metadata embedded in the file, shown in the metadata panels."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assets.actions import pipeline
from assets.models import Analysis, AnalysisStatus, Asset, AuditEntry, Visibility
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db


def analysed(asset: Asset, *findings: pipeline.Finding) -> Asset:
    """Findings written the way workers write them: claimed, then finished through the pipeline."""
    claim = pipeline.claim_analysis(10, [asset.pk])
    assert claim is not None
    assert pipeline.finish_analysis(claim, list(findings)) == [asset.pk]
    return Asset.objects.get(pk=asset.pk)


def finding(asset, analyser, text="", **kwargs) -> pipeline.Finding:
    return pipeline.Finding(asset.pk, analyser, kwargs.pop("model_id", f"{analyser}-v1"), text=text, **kwargs)


@pytest.fixture
def team_asset(alice, team):
    asset = make_asset(alice, title="Harbour", visibility=Visibility.TEAM, team=team)
    return analysed(
        asset,
        finding(asset, "colours", "red blue", data={"colours": [{"name": "red", "share": 0.62},
                                                                {"name": "blue", "share": 0.21}]}),
        finding(asset, "dates", "October autumn fall 2008"),
        finding(asset, "text_in_image", ""),  # looked, found nothing
        finding(asset, "labels", error="labels failed: RuntimeError: out of memory"),
    )


def detected_html(client, asset) -> str:
    response = client.get(f"/assets/{asset.pk}/")
    assert response.status_code == 200
    return re.search(r'data-testid="asset-detected">(.*?)</section>', response.content.decode(), flags=re.S).group(1)


def finding_html(section: str, analyser: str) -> str:
    """One finding's card: from its opening tag to the next card's."""
    cards = section.split('data-testid="finding" data-analyser="')[1:]
    return next(card for card in cards if card.startswith(f'{analyser}"'))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- The section ----------------------------------------------------------------------------------


def test_each_finding_with_its_model_error_or_nothing_detected(client_for, bob, team_asset):
    section = detected_html(client_for(bob), team_asset)
    # In the document's field order: text in the picture, what it shows, colours, date.
    assert [m for m in re.findall(r'data-analyser="(\w+)"', section)] == ["text_in_image", "labels", "colours", "dates"]
    colours = finding_html(section, "colours")
    assert "<h3 class=\"finding__name\">Colours</h3>" in colours
    assert 'data-testid="finding-text">red blue</p>' in colours
    assert "<li>red 62%</li><li>blue 21%</li>" in colours
    assert "by <code>colours-v1</code>" in colours
    assert "Nothing detected." in finding_html(section, "text_in_image")
    labels = finding_html(section, "labels")
    assert "Could not be analysed: labels failed: RuntimeError: out of memory" in labels
    assert "Nothing detected." not in labels
    assert "October autumn fall 2008" in finding_html(section, "dates")
    # bob only views: no correction form.
    assert 'data-testid="finding-form"' not in section


def test_labels_people_and_text_say_how_sure_the_machine_was(client_for, alice):
    asset = make_asset(alice)
    labels = {"labels": [{"label": "beacon", "class": 437, "also": ["lighthouse"], "probability": 0.952},
                         {"label": "breakwater", "class": 460, "also": [], "probability": 0.0021}],
              "terms": [{"term": "structure", "probability": 0.97}], "min_label": 0.2, "min_term": 0.5}
    faces = {"faces": [{"box": [1, 2, 30, 40], "probability": 0.9992, "kept": True},
                       {"box": [50, 2, 80, 40], "probability": 0.9001, "kept": True},
                       {"box": [90, 2, 99, 40], "probability": 0.81, "kept": False}],
             "count": 2, "min_probability": 0.85}
    lines = {"lines": [{"text": "GOALIE", "confidence": 0.984, "kept": True, "box": []},
                       {"text": "x", "confidence": 0.5, "kept": False, "box": []}], "min_confidence": 0.8}
    asset = analysed(
        asset,
        finding(asset, "labels", "beacon\nlighthouse\nstructure", data=labels),
        finding(asset, "faces", "people\n2 people", data=faces),
        finding(asset, "text_in_image", "GOALIE", data=lines),
    )
    client = client_for(alice)
    section = detected_html(client, asset)
    # The labels the text names, and its general terms, each with its probability; not the also-rans.
    assert "<li>beacon 95%</li><li>structure 97%</li></ul>" in finding_html(section, "labels")
    assert "breakwater" not in finding_html(section, "labels")
    assert "<li>2 faces, 90–100% sure</li><li>1 more under 85%, not counted</li>" in finding_html(section, "faces")
    assert "<li>1 line, 98% sure</li><li>1 more under 80%, not counted</li>" in finding_html(section, "text_in_image")

    # And why a July photo says "winter".
    southern = make_asset(alice)
    dates = analysed(southern, finding(southern, "dates", "July winter 2021", data={
        "month": 7, "season": "winter", "year": 2021, "hemisphere": "southern"}))
    assert "<li>winter in the southern hemisphere</li>" in finding_html(detected_html(client, dates), "dates")
    northern = make_asset(alice)
    dates = analysed(northern, finding(northern, "dates", "July summer 2021", data={
        "month": 7, "season": "summer", "year": 2021, "hemisphere": "northern"}))
    assert 'class="finding__details"' not in finding_html(detected_html(client, dates), "dates")
    # And why a photo whose UTC time is morning says "night": the camera's own clock.
    late = make_asset(alice)
    dates = analysed(late, finding(late, "dates", "July summer 2021 night", data={
        "month": 7, "season": "summer", "year": 2021, "hemisphere": "northern", "hour": 23, "part_of_day": "night"}))
    night = "<li>night: 23:00-23:59 by the camera&#x27;s clock</li>"
    assert night in finding_html(detected_html(client, dates), "dates")

    # Once a person has corrected the labels, the machine's confidence is not shown beside their words.
    response = client.post(f"/assets/{asset.pk}/findings/labels/", {"action": "correct", "text": "lighthouse"})
    assert response.status_code == 302
    assert 'class="finding__details"' not in finding_html(detected_html(client, asset), "labels")


def test_the_analysis_status_while_pending_and_nothing_once_done(client_for, alice):
    waiting = make_asset(alice)  # ready, its analysis still pending
    section = detected_html(client_for(alice), waiting)
    assert 'data-testid="analysis-status">Analysis pending</span>' in section
    assert "once the analysers have looked at it" in section

    done = analysed(make_asset(alice))  # analysed, no analyser reported anything
    assert done.analysis_status == AnalysisStatus.READY
    section = detected_html(client_for(alice), done)
    assert 'data-testid="analysis-status"' not in section
    assert 'data-testid="nothing-detected">Nothing detected.</p>' in section


def test_a_failed_analysis_is_said_so(client_for, alice):
    asset = make_asset(alice, analysis_status=AnalysisStatus.FAILED,
                       analysis_error="gave up after 5 attempts (the worker stopped each time)")
    section = detected_html(client_for(alice), asset)
    assert "Analysis failed" in section and "gave up after 5 attempts" in section


def test_the_page_costs_the_same_queries_with_more_findings(client_for, alice):
    client = client_for(alice)
    one = make_asset(alice)
    one = analysed(one, finding(one, "dates", "d"))
    many = make_asset(alice)
    many = analysed(many, *(finding(many, name, name) for name in ("colours", "dates", "labels", "faces", "place")))
    counts = []
    for asset in (one, many):
        client.get(f"/assets/{asset.pk}/")  # warm the session
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/assets/{asset.pk}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- Correcting a finding -------------------------------------------------------------------------


def correct(client, asset, analyser="colours", **data):
    return client.post(f"/assets/{asset.pk}/findings/{analyser}/", data, follow=True)


@pytest.mark.parametrize(
    ("who", "page", "post", "saved"),
    [("alice", 200, 200, True), ("admin_user", 200, 200, True), ("bob", 200, 403, False), ("charlie", 404, 404, False)],
)
def test_who_may_correct(request, client_for, team_asset, who, page, post, saved):
    user = request.getfixturevalue(who)
    client = client_for(user)
    response = client.get(f"/assets/{team_asset.pk}/")
    assert response.status_code == page
    if page == 200:
        assert ('data-testid="finding-form"' in response.content.decode()) is saved

    response = correct(client, team_asset, text="crimson  and navy", action="correct")
    assert response.status_code == post
    row = Analysis.objects.get(asset=team_asset, analyser="colours")
    if saved:
        assert row.corrected_text == "crimson and navy" and row.text == "red blue"
        assert response.redirect_chain[-1][0] == f"/assets/{team_asset.pk}/#detected"
        assert messages_of(response) == ["Saved your correction of “Colours”."]
        entry = AuditEntry.objects.get(action="asset.finding_corrected")
        assert entry.actor_name == user.get_username()
        assert entry.changes == {"colours": ["red blue", "crimson and navy"]}
    else:
        assert row.corrected_text is None
        assert not AuditEntry.objects.filter(action="asset.finding_corrected").exists()


def test_a_correction_shows_with_the_machines_text_and_can_be_restored(client_for, alice, team_asset):
    client = client_for(alice)
    correct(client, team_asset, "dates", text="Summer 1999", action="correct")
    section = detected_html(client, team_asset)
    dates = finding_html(section, "dates")
    assert 'data-testid="finding-text">Summer 1999</p>' in dates
    assert 'data-testid="finding-corrected">Corrected</span>' in dates
    assert "The machine found:</span> October autumn fall 2008" in dates
    assert 'name="action" value="restore"' in dates
    assert 'name="action" value="restore"' not in finding_html(section, "colours")  # nothing to restore there

    response = correct(client, team_asset, "dates", text="ignored", action="restore")
    assert messages_of(response) == ["“Date” shows what the machine found again."]
    row = Analysis.objects.get(asset=team_asset, analyser="dates")
    assert row.corrected_text is None and row.searchable_text == "October autumn fall 2008"
    assert 'data-testid="finding-corrected"' not in finding_html(detected_html(client, team_asset), "dates")


def test_a_correction_can_say_there_is_nothing_and_an_errored_finding_can_be_corrected(client_for, alice, team_asset):
    client = client_for(alice)
    correct(client, team_asset, "colours", text="", action="correct")
    assert Analysis.objects.get(asset=team_asset, analyser="colours").corrected_text == ""
    correct(client, team_asset, "labels", text="boat, harbour", action="correct")
    assert Analysis.objects.get(asset=team_asset, analyser="labels").searchable_text == "boat, harbour"


def test_refused_corrections_say_why_and_change_nothing(client_for, alice, team_asset):
    client = client_for(alice)
    # An analyser that has not reported on this asset.
    response = correct(client, team_asset, "faces", text="Ann", action="correct")
    assert response.status_code == 200
    assert messages_of(response) == ["The correction of “People” was not saved: nothing was detected for faces yet"]
    # Text PostgreSQL cannot store, and an unknown action.
    response = correct(client, team_asset, "colours", text="red\x00", action="correct")
    assert "was not saved: Null characters are not allowed." in messages_of(response)[0]
    response = correct(client, team_asset, "colours", text="red", action="delete")
    assert "was not saved" in messages_of(response)[0]
    assert Analysis.objects.get(asset=team_asset, analyser="colours").corrected_text is None
    # Not an analyser at all, a GET, a trashed asset.
    assert client.post(f"/assets/{team_asset.pk}/findings/title/", {"text": "x"}).status_code == 404
    assert client.get(f"/assets/{team_asset.pk}/findings/colours/").status_code == 405
    from assets import actions

    actions.trash(alice, [team_asset.pk])
    response = client.post(f"/assets/{team_asset.pk}/findings/colours/", {"text": "x", "action": "correct"})
    assert response.status_code == 404


def test_the_correction_form_checks_csrf(alice, team_asset):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    response = strict.post(f"/assets/{team_asset.pk}/findings/colours/", {"text": "crimson", "action": "correct"})
    assert response.status_code == 403
    assert Analysis.objects.get(asset=team_asset, analyser="colours").corrected_text is None


# --- Embedded metadata in the panels --------------------------------------------------------------


def test_embedded_metadata_and_keywords_from_the_file(client_for, alice):
    asset = make_asset(
        alice, tags=["mine", "kayak"], description="A red kayak on a lake",
        exif={"make": "Canon", "embedded": {
            "keywords": ["kayak", "lake district"], "headline": "Morning paddle", "caption": "A red kayak on a lake",
            "creator": "Ann Smith", "copyright": "© 2024 Studio", "city": "Keswick", "country": "United Kingdom",
            "location": "Derwentwater"}},
    )
    html = client_for(alice).get(f"/assets/{asset.pk}/").content.decode()
    tags = re.search(r'<ul class="tags" aria-label="Tags">(.*?)</ul>', html, flags=re.S).group(1)
    assert re.search(r'class="tag tag--embedded"[^>]*title="A keyword from the file">kayak'
                     r'<span class="tag__source"> · from the file</span>', tags)
    assert '<a class="tag" href="/?tag=mine">mine</a>' in tags

    panel = re.search(r'data-testid="embedded-metadata">(.*?)</section>', html, flags=re.S).group(1)
    assert "<dt>Headline</dt><dd>Morning paddle</dd>" in panel
    assert "<dt>Creator</dt><dd>Ann Smith</dd>" in panel
    assert "<dt>Copyright</dt><dd>© 2024 Studio</dd>" in panel
    assert "<dt>Caption</dt>" not in panel  # it is the description already
    # Keywords: "lake district" was removed from the tags, so it is struck through.
    assert 'class="tag tag--embedded" title="From the file, and one of the tags">kayak</span>' in panel
    assert 'class="tag tag--embedded tag--dropped" title="From the file; not one of the tags">lake district' in panel
    assert "Struck-through keywords are not among the tags" in panel

    location = re.search(r'id="location-heading">(.*?)</section>', html, flags=re.S).group(1)
    assert '<span class="muted">Named in the file:</span> Derwentwater, Keswick, United Kingdom</p>' in location
    assert "No GPS coordinates recorded." in location


def test_no_embedded_panel_without_embedded_metadata(client_for, alice):
    html = client_for(alice).get(f"/assets/{make_asset(alice, tags=['kayak']).pk}/").content.decode()
    assert 'data-testid="embedded-metadata"' not in html
    assert "from the file" not in html
