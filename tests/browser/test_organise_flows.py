"""Organising in a real browser: bulk tags on a grid selection, a collection shared with a team (seen by
its viewer, hidden from an outsider), a manager adding a member. Live server + real worker + headless
Chromium; assets are made the quick way (`uploaded`) since these flows are not about uploading."""

import re

import pytest
from playwright.sync_api import expect

from assets.models import Visibility

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.browser]


def card(page, title: str):
    return page.get_by_test_id("asset-card").filter(
        has=page.get_by_test_id("asset-card-title").get_by_text(title, exact=True)
    )


def select(page, title: str):
    page.get_by_label(f"Select “{title}”").check()


def message(page):
    return page.locator("ul.messages")


def test_bulk_add_a_tag_to_two_selected_assets(page, uploaded, alice, login, shot):
    canon, nikon, pentax = uploaded(
        alice, "jpg/Canon_40D.jpg", "jpg/Nikon_D70.jpg", "jpg/Pentax_K10D.jpg", tags=["cameras"]
    )
    login(page, alice)
    cards = page.get_by_test_id("asset-card")
    expect(cards).to_have_count(3)
    expect(page.get_by_role("main")).not_to_contain_text("{#")  # no template source leaks onto the page
    bar = page.get_by_test_id("bulk-bar")
    expect(bar.get_by_test_id("bulk-apply")).to_be_disabled()  # nothing ticked yet

    select(page, str(canon))
    select(page, str(pentax))
    expect(bar.get_by_test_id("bulk-count")).to_have_text("2 selected")
    expect(page.locator(".card.is-selected")).to_have_count(2)
    bar.get_by_test_id("bulk-action").select_option(label="Add tags")
    expect(bar.get_by_test_id("bulk-visibility")).to_be_hidden()  # only the field the action needs
    bar.get_by_test_id("bulk-tags").fill("shortlist")
    shot(page, "library-selection")
    bar.get_by_test_id("bulk-apply").click()

    expect(message(page)).to_have_text("Tagged 2 assets.")
    expect(cards).to_have_count(3)  # back on the library, nothing lost

    # The tag filter finds exactly the two.
    filters = page.get_by_test_id("library-filters")
    filters.get_by_label("Tags").fill("shortlist")
    filters.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"tag=shortlist"))
    expect(page.get_by_text("2 assets match these filters")).to_be_visible()
    expect(page.get_by_test_id("asset-card-title")).to_have_count(2)
    expect(card(page, str(canon))).to_be_visible()
    expect(card(page, str(pentax))).to_be_visible()
    expect(card(page, str(nikon))).to_have_count(0)

    # Each asset page lists the new tag next to the one it had.
    for asset in (canon, pentax):
        page.goto(f"/assets/{asset.pk}/")
        tags = page.get_by_role("list", name="Tags")
        expect(tags.get_by_role("listitem")).to_have_text(["cameras", "shortlist"])
    page.goto(f"/assets/{nikon.pk}/")
    expect(page.get_by_role("list", name="Tags").get_by_role("listitem")).to_have_text(["cameras"])


def test_collection_shared_with_a_team_is_seen_by_its_viewer_and_not_by_an_outsider(
    page, new_page, uploaded, team, alice, bob, charlie, login, shot
):
    shared = {"team": team, "visibility": Visibility.TEAM}
    canon, gps = uploaded(alice, "jpg/Canon_40D.jpg", "jpg/gps/DSCN0010.jpg", **shared)
    (private,) = uploaded(alice, "jpg/Pentax_K10D.jpg")  # stays alice's alone, collection or not

    # --- alice creates the collection --------------------------------------------------------
    login(page, alice)
    page.get_by_test_id("nav-collections").click()
    expect(page.get_by_role("heading", name="Collections", level=1)).to_be_visible()
    expect(page.get_by_test_id("collection-row")).to_have_count(0)
    form = page.get_by_test_id("collection-create-form")
    form.get_by_test_id("collection-name").fill("Summer campaign")
    form.get_by_test_id("collection-create").click()
    expect(page.get_by_test_id("collection-title")).to_have_text("Summer campaign")
    expect(message(page)).to_contain_text("Created “Summer campaign”")
    expect(page.get_by_test_id("empty-state")).to_contain_text("This collection is empty")
    collection_url = page.url

    # --- adds two assets from the library selection and one from its asset page --------------
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Library").click()
    select(page, str(canon))
    select(page, str(private))
    bar = page.get_by_test_id("bulk-bar")
    bar.get_by_test_id("bulk-action").select_option(label="Add to collection")
    bar.get_by_test_id("bulk-collection").select_option(label="Summer campaign")
    bar.get_by_test_id("bulk-apply").click()
    expect(message(page)).to_have_text("Added to “Summer campaign”: 2 assets.")

    card(page, str(gps)).get_by_role("link").click()
    expect(page.get_by_role("heading", name=str(gps), level=1)).to_be_visible()
    in_collections = page.get_by_test_id("asset-collections")
    expect(in_collections).to_contain_text("Not in any collection you can see.")
    in_collections.get_by_test_id("collection-add-select").select_option(label="Summer campaign")
    in_collections.get_by_test_id("collection-add").click()
    expect(message(page)).to_contain_text("Summer campaign")
    expect(in_collections.get_by_test_id("asset-collection")).to_have_text(re.compile("Summer campaign"))
    expect(page.get_by_role("region", name="Location")).to_contain_text("Latitude")  # it carries GPS
    shot(page, "asset-in-collection")

    # --- shares it with the studio as viewer --------------------------------------------------
    in_collections.get_by_role("link", name="Summer campaign").click()
    expect(page.get_by_test_id("collection-count")).to_contain_text("3 assets you can see")
    expect(page.get_by_test_id("asset-card")).to_have_count(3)
    expect(page.get_by_role("main")).not_to_contain_text("{#")
    sharing = page.get_by_test_id("collection-share")
    expect(sharing).to_contain_text("Only you can see this collection.")
    sharing.get_by_test_id("collection-share-team").select_option(label=team.name)
    sharing.get_by_test_id("collection-share-role").select_option("viewer")
    sharing.get_by_test_id("collection-share-submit").click()
    expect(message(page)).to_have_text(f"Shared with {team.name} as viewer.")
    expect(sharing.get_by_test_id("collection-share-row")).to_contain_text(f"{team.name} · Viewer")
    expect(page.get_by_test_id("collection-count")).to_contain_text(f"shared with {team.name} (viewer)")
    shot(page, "collection")

    # --- bob, a viewer in the studio, sees it and its team assets, not the private one ----------
    bob_page = login(new_page(), bob)
    bob_page.get_by_test_id("nav-collections").click()
    shared_section = bob_page.get_by_role("region", name="Shared with my teams")
    row = shared_section.get_by_test_id("collection-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Summer campaign")
    expect(row).to_contain_text("3 assets")
    expect(row).to_contain_text("by alice")
    expect(bob_page.get_by_role("region", name="My collections").get_by_test_id("collection-row")).to_have_count(0)
    row.get_by_role("link", name="Summer campaign").click()
    expect(bob_page.get_by_test_id("collection-title")).to_have_text("Summer campaign")
    expect(bob_page.get_by_test_id("collection-count")).to_contain_text("2 assets you can see · owned by alice")
    expect(bob_page.get_by_test_id("collection-hidden")).to_contain_text(
        "1 asset in this collection is hidden from you"
    )
    titles = bob_page.get_by_test_id("asset-card-title")
    expect(titles).to_have_count(2)
    expect(card(bob_page, str(canon))).to_be_visible()
    expect(card(bob_page, str(gps))).to_be_visible()
    expect(card(bob_page, str(private))).to_have_count(0)
    # A viewer may neither share nor rename it.
    expect(bob_page.get_by_test_id("collection-share")).to_have_count(0)
    expect(bob_page.get_by_test_id("collection-rename-form")).to_have_count(0)
    shot(bob_page, "collection-shared-viewer")

    # --- charlie, in another team, neither sees it listed nor reaches it by its address --------
    charlie_page = login(new_page(), charlie)
    charlie_page.get_by_test_id("nav-collections").click()
    expect(charlie_page.get_by_role("heading", name="Collections", level=1)).to_be_visible()
    expect(charlie_page.get_by_test_id("collection-row")).to_have_count(0)
    expect(charlie_page.get_by_text("No one has shared a collection with your teams yet.")).to_be_visible()
    response = charlie_page.goto(collection_url)
    assert response is not None and response.status == 404
    expect(charlie_page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(charlie_page.get_by_text("Summer campaign")).to_have_count(0)


def test_manager_adds_an_existing_user_to_the_team_with_a_role(page, new_page, alice, bob, charlie, login, shot):
    login(page, charlie)
    page.get_by_test_id("nav-teams").click()
    expect(page.get_by_role("heading", name="Teams", level=1)).to_be_visible()
    row = page.locator('[data-testid="team-row"][data-team="newsroom"]')
    expect(row.get_by_test_id("team-role")).to_have_text("Manager")
    expect(row.get_by_role("cell").nth(1)).to_have_text("1")
    row.get_by_role("link", name="Manage members").click()

    expect(page.get_by_role("heading", name="Newsroom", level=1)).to_be_visible()
    members = page.get_by_test_id("member-row")
    expect(members).to_have_count(1)
    expect(members).to_have_attribute("data-username", "charlie")

    form = page.get_by_test_id("member-add-form")
    form.get_by_label("Username").fill("alice")
    form.get_by_test_id("member-add-role").select_option(label="Editor")
    form.get_by_test_id("member-add").click()
    expect(message(page)).to_have_text("Added alice as editor.")
    expect(members).to_have_count(2)
    alice_row = page.locator('[data-testid="member-row"][data-username="alice"]')
    expect(alice_row).to_contain_text("alice")
    expect(alice_row.get_by_test_id("member-role")).to_have_value("editor")

    # An unknown name is refused with a reason, and nobody is added.
    form.get_by_label("Username").fill("nobody-here")
    form.get_by_test_id("member-add").click()
    expect(message(page).locator(".message--error")).to_be_visible()
    expect(members).to_have_count(2)

    # The role can be changed in place.
    alice_row.get_by_test_id("member-role").select_option("viewer")
    alice_row.get_by_test_id("member-role-save").click()
    expect(message(page)).to_have_text("alice is now viewer.")
    expect(
        page.locator('[data-testid="member-row"][data-username="alice"]').get_by_test_id("member-role")
    ).to_have_value("viewer")
    shot(page, "team-members")

    # alice now has the team on her own Teams page; bob, a mere viewer in his team, manages nothing.
    alice_page = login(new_page(), alice)
    alice_page.get_by_test_id("nav-teams").click()
    newsroom = alice_page.locator('[data-testid="team-row"][data-team="newsroom"]')
    expect(newsroom.get_by_test_id("team-role")).to_have_text("Viewer")
    expect(newsroom.get_by_role("link", name="Manage members")).to_have_count(0)
    bob_page = login(new_page(), bob)
    bob_page.get_by_test_id("nav-teams").click()
    expect(bob_page.get_by_test_id("team-row")).to_have_count(1)
    expect(bob_page.get_by_role("link", name="Manage members")).to_have_count(0)
