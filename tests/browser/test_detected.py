"""In a real browser, after the real worker read and analysed the files: the asset page shows what was
detected (the colours and dates analysers always run) and what the file says about itself; an editor
corrects a finding and sees it, then restores the machine's text; the library shows facets with counts,
and a facet value narrows the grid to what it counted."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from assets.models import AnalysisStatus, Asset
from tests.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.browser]

# A news photo with a headline, creator, caption and place names in its XMP; the XMP test file whose
# keywords become tags; a GPS photo with a date.
PHOTOS = ["jpg/long_description.jpg", "jpg/xmp/BlueSquare.jpg", "jpg/gps/DSCN0010.jpg"]


def analysed(assets: list[Asset]) -> list[Asset]:
    ids = [asset.pk for asset in assets]

    def done():
        rows = list(Asset.objects.filter(pk__in=ids))
        return all(row.analysis_status in (AnalysisStatus.READY, AnalysisStatus.FAILED) for row in rows) and rows

    wait_for(done, timeout=90, interval=0.3)
    return sorted(Asset.objects.filter(pk__in=ids), key=lambda a: ids.index(a.pk))


def test_detected_findings_corrected_in_the_browser_and_library_facets(page, uploaded, alice, login, shot):
    news, square, gps = analysed(uploaded(alice, *PHOTOS, tags=["trip"]))
    assert news.analysis_status == AnalysisStatus.READY, news.analysis_error
    login(page, alice)

    # --- The asset page: what the file says, and what the analysers found -----------------------------
    page.goto(f"/assets/{news.pk}/")
    expect(page.get_by_role("heading", name="long_description", level=1)).to_be_visible()
    embedded = page.get_by_test_id("embedded-metadata")
    expect(embedded).to_contain_text("Enduring Freedom")
    expect(embedded).to_contain_text("SSG KYLE DAVIS")
    expect(page.get_by_test_id("embedded-place")).to_have_text(
        "Named in the file: KANDAHAR ARMY AIRFIELD, DAYCHOPAN, Afghanistan")
    expect(page.locator(".asset__description")).to_contain_text("Operation Mountain Viper")  # the caption

    detected = page.get_by_role("region", name="Detected")
    colours = detected.locator('[data-analyser="colours"]')
    dates = detected.locator('[data-analyser="dates"]')
    expect(colours.get_by_role("heading", name="Colours")).to_be_visible()
    expect(colours.locator(".finding__model")).to_have_text("by colours-v1")
    expect(dates.get_by_test_id("finding-text")).to_have_text(re.compile(r"\bJuly\b.*\b2008\b"))
    machine_colours = colours.get_by_test_id("finding-text").inner_text()

    # Correct the colours: the form opens in place, the page comes back with the correction.
    colours.get_by_text("Correct", exact=True).click()
    colours.get_by_label("Corrected colours").fill("olive and sand")
    colours.get_by_role("button", name="Save correction").click()
    expect(page.get_by_text("Saved your correction of “Colours”.")).to_be_visible()
    colours = page.get_by_role("region", name="Detected").locator('[data-analyser="colours"]')
    expect(colours.get_by_test_id("finding-text")).to_have_text("olive and sand")
    expect(colours.get_by_test_id("finding-corrected")).to_be_visible()
    expect(colours).to_contain_text(f"The machine found: {machine_colours}")
    shot(page, "asset-detected")

    # Back to the machine's text.
    colours.get_by_text("Correct", exact=True).click()
    colours.get_by_role("button", name="Restore the machine’s text").click()
    expect(page.get_by_text("“Colours” shows what the machine found again.")).to_be_visible()
    colours = page.get_by_role("region", name="Detected").locator('[data-analyser="colours"]')
    expect(colours.get_by_test_id("finding-text")).to_have_text(machine_colours)
    expect(colours.get_by_test_id("finding-corrected")).to_have_count(0)

    # The XMP test file's keywords are tags now, marked as coming from the file.
    page.goto(f"/assets/{square.pk}/")
    tags = page.get_by_role("list", name="Tags")
    expect(tags.locator(".tag--embedded")).to_have_count(5)
    expect(tags.get_by_role("link", name="trip", exact=True)).to_be_visible()
    expect(page.get_by_test_id("embedded-metadata")).to_contain_text("blue square")
    shot(page, "asset-embedded")

    # --- The library: facets with counts; a value narrows the grid ------------------------------------
    page.goto("/")
    facets = page.get_by_test_id("library-facets")
    expect(facets).to_be_visible()
    trip = facets.locator('[data-facet="tags"]').get_by_role("link", name=re.compile(r"^trip\s+3"))
    expect(trip).to_be_visible()
    cameras = facets.locator('[data-facet="camera"]')
    expect(cameras.get_by_role("link", name=re.compile(r"COOLPIX P6000\s+1"))).to_be_visible()
    place = gps.analyses.filter(analyser="place").first()
    if place is not None and place.data.get("country"):  # the place analyser ran (its package is installed)
        expect(facets.locator('[data-facet="place"]')).to_contain_text(place.data["country"])
    shot(page, "library-facets")
    cameras.get_by_role("link", name=re.compile(r"COOLPIX P6000")).click()
    expect(page).to_have_url(re.compile(r"camera=NIKON\+COOLPIX\+P6000"))
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator(".card__title")).to_have_text("DSCN0010")
    expect(page.get_by_label("Camera")).to_have_value("NIKON COOLPIX P6000")
    # The active value takes itself out again.
    page.get_by_test_id("library-facets").locator(".facet--active").click()
    expect(page.locator(".card")).to_have_count(3)
