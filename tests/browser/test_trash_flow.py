"""The trash in a real browser: alice deletes a photo from its page, finds it in the trash with its
thumbnail, restores it to the library, deletes it again and purges it through the confirmation page;
the asset page's history shows what was done. Live server + real worker + headless Chromium."""

import re

import pytest
from django.core.files.storage import default_storage
from playwright.sync_api import expect

from assets import actions
from assets.models import Asset

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.browser]


def message(page):
    return page.locator("ul.messages")


def card(page, title: str):
    return page.get_by_test_id("asset-card").filter(
        has=page.get_by_test_id("asset-card-title").get_by_text(title, exact=True)
    )


def trash_row(page, title: str):
    title_cell = page.get_by_test_id("trash-title").get_by_text(title, exact=True)
    return page.get_by_test_id("trash-row").filter(has=title_cell)


def delete_from_asset_page(page, asset_id: int, title: str):
    page.goto(f"/assets/{asset_id}/")
    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", name=f"Move “{title}” to the trash?")).to_be_visible()
    page.get_by_role("button", name="Move to the trash").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(message(page)).to_contain_text(f"Moved “{title}” to the trash.")


def test_delete_restore_and_purge_through_the_trash(page, uploaded, alice, login, shot):
    canon, nikon = uploaded(alice, "jpg/Canon_40D.jpg", "jpg/Nikon_D70.jpg")
    original = canon.blob.name
    assert default_storage.exists(original)
    login(page, alice)
    expect(page.get_by_test_id("asset-card")).to_have_count(2)

    # --- An edit first, so the history has a change to show --------------------------------------
    title = "Harbour at dawn"
    page.goto(f"/assets/{canon.pk}/")
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Save changes").click()
    expect(message(page)).to_have_text("Changes saved.")
    history = page.get_by_test_id("asset-history")
    entries = history.get_by_test_id("history-entry")
    # The workers' entries (analysed, vectors computed) may land before or after the edit's: the
    # edit is found by its words, the order by the upload being last.
    edited = entries.filter(has_text="alice edited it")
    expect(edited).to_have_count(1)
    expect(edited).to_contain_text(f"title: {canon} → {title}")
    expect(entries.last).to_contain_text("alice uploaded it")  # oldest last
    history.scroll_into_view_if_needed()
    shot(page, "asset-history")

    # --- Delete from the asset page: gone from the library ---------------------------------------
    delete_from_asset_page(page, canon.pk, title)
    expect(page.get_by_test_id("asset-card")).to_have_count(1)
    expect(card(page, title)).to_have_count(0)
    expect(card(page, str(nikon))).to_be_visible()

    # --- In the trash, with its thumbnail (nikon joins it, so the list has two rows) -------------
    actions.trash(alice, [nikon.pk])
    page.get_by_role("navigation", name="Main").get_by_test_id("nav-trash").click()
    page.wait_for_url("**/trash/")
    expect(page.get_by_role("heading", name="Trash", level=1)).to_be_visible()
    rows = page.get_by_test_id("trash-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-asset-id", str(nikon.pk))  # most recently deleted first
    row = trash_row(page, title)
    expect(row).to_contain_text("Canon_40D.jpg")
    expect(row).to_contain_text("Deleted")
    thumbnail = row.locator("img")
    expect(thumbnail).to_have_attribute("src", f"/trash/{canon.pk}/thumbnail/")
    expect(thumbnail).not_to_have_js_property("naturalWidth", 0)  # it loaded: a real JPEG, not a broken image
    expect(page.get_by_text("2 assets you deleted or that were yours.")).to_be_visible()
    shot(page, "trash")

    # --- Restore it: back in the library, nikon still in the trash -------------------------------
    page.get_by_label(f"Select “{title}”").check()
    page.get_by_test_id("trash-restore").click()
    expect(message(page)).to_have_text("Restored 1 asset.")
    expect(rows).to_have_count(1)
    expect(trash_row(page, str(nikon))).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Library").click()
    expect(card(page, title)).to_be_visible()
    expect(page.get_by_test_id("asset-card")).to_have_count(1)

    # --- Delete it again and purge it, through the confirmation page -----------------------------
    delete_from_asset_page(page, canon.pk, title)
    page.get_by_test_id("nav-trash").click()
    expect(rows).to_have_count(2)
    page.get_by_label(f"Select “{title}”").check()
    page.get_by_test_id("trash-purge").click()
    confirm = page.get_by_test_id("purge-confirm")
    expect(confirm.get_by_role("heading", name="Delete 1 asset for good?")).to_be_visible()
    expect(confirm).to_contain_text(title)
    expect(confirm).not_to_contain_text(str(nikon))
    assert Asset.objects.filter(pk=canon.pk).exists()  # asking deletes nothing
    confirm.get_by_test_id("purge-submit").click()
    expect(message(page)).to_have_text("Deleted for good: 1 asset.")
    expect(rows).to_have_count(1)
    expect(trash_row(page, str(nikon))).to_be_visible()
    assert not Asset.objects.filter(pk=canon.pk).exists()
    assert not default_storage.exists(original)  # its file went with it (after the purge committed)
    assert Asset.objects.get(pk=nikon.pk).in_trash
    page.goto(f"/assets/{canon.pk}/")
    expect(page.get_by_role("heading", name=title)).to_have_count(0)
