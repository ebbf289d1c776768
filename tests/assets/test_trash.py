"""The trash: who sees, restores and purges what (API and portal); a trashed asset is nowhere else until
it is restored; restoring by re-uploading; the scheduled purge of what stayed past the retention period."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.utils import timezone

from assets import actions
from assets.actions import bulk, deletion
from assets.actions import collections as collection_actions
from assets.models import Asset, AuditEntry, Collection, EmbeddingStatus, Membership, Rendition, Role, Visibility
from assets.processing import process_asset
from tests.assets.conftest import unique_jpeg
from tests.conftest import make_jpeg, upload_bytes, wait_for
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db

VISIBILITIES = [Visibility.PRIVATE, Visibility.TEAM, Visibility.ORGANISATION]
# Who may restore and purge an asset alice owns, whatever its visibility: its owner and a superuser.
MAY_RESTORE = {"alice": True, "bob": False, "charlie": False, "admin_user": True}


def trashed_asset(owner, team, visibility) -> Asset:
    asset = make_asset(owner, title=f"{visibility} asset", visibility=visibility, team=team)
    assert actions.trash(owner, [asset.pk]) == [asset.pk]
    return asset


def state(pk: int) -> str:
    row = Asset.objects.filter(pk=pk).first()
    return "gone" if row is None else "trash" if row.in_trash else "alive"


def messages_on(client) -> str:
    """The flash messages waiting for the next page, as the trash page shows them."""
    return " ".join(str(m) for m in client.get("/trash/").context["messages"])


# --- Who sees the trash, restores and purges: the API ------------------------------------------


@pytest.mark.parametrize("visibility", VISIBILITIES)
@pytest.mark.parametrize("who", list(MAY_RESTORE))
def test_api_trash_list_restore_and_purge_by_who(who, visibility, request, alice, team, api_for):
    user = request.getfixturevalue(who)
    allowed = MAY_RESTORE[who]
    asset = trashed_asset(alice, team, visibility)
    api = api_for(user)

    listing = api.get("/api/v1/trash/")
    assert listing.status_code == 200
    assert [row["id"] for row in listing.json()["results"]] == ([asset.pk] if allowed else [])

    detail = api.get(f"/api/v1/trash/{asset.pk}/")
    assert detail.status_code == (200 if allowed else 404)
    if allowed:
        body = detail.json()
        assert (body["owner"], body["deleted_by"], body["title"]) == ("alice", "alice", f"{visibility} asset")
        deleted_at = Asset.objects.get(pk=asset.pk).deleted_at
        retention = dt.timedelta(days=settings.TRASH_RETENTION_DAYS)
        assert dt.datetime.fromisoformat(body["purge_after"]) == deleted_at + retention

    restored = api.post(f"/api/v1/trash/{asset.pk}/restore/")
    assert restored.status_code == (200 if allowed else 404)
    assert state(asset.pk) == ("alive" if allowed else "trash")
    if allowed:
        assert restored.json() == {"restored": [asset.pk]}
        assert api.get(f"/api/v1/trash/{asset.pk}/").status_code == 404  # out of the trash
        actions.trash(alice, [asset.pk])

    purged = api.delete(f"/api/v1/trash/{asset.pk}/")
    assert purged.status_code == (204 if allowed else 404)
    assert state(asset.pk) == ("gone" if allowed else "trash")


@pytest.mark.parametrize("who", list(MAY_RESTORE))
def test_api_bulk_restore_and_purge_by_who(who, request, alice, team, api_for):
    user = request.getfixturevalue(who)
    allowed = MAY_RESTORE[who]
    ids = sorted(trashed_asset(alice, team, visibility).pk for visibility in VISIBILITIES)
    api = api_for(user)

    response = api.post("/api/v1/trash/restore/", {"ids": ids}, format="json")
    assert response.status_code == 200
    assert response.json() == ({"done": ids, "skipped": []} if allowed else {"done": [], "skipped": ids})
    assert {state(pk) for pk in ids} == {"alive" if allowed else "trash"}
    if allowed:
        actions.trash(alice, ids)

    response = api.post("/api/v1/trash/purge/", {"ids": ids}, format="json")
    assert response.status_code == 200
    assert response.json() == ({"done": ids, "skipped": []} if allowed else {"done": [], "skipped": ids})
    assert {state(pk) for pk in ids} == {"gone" if allowed else "trash"}


def test_api_bulk_skips_what_is_not_in_the_callers_trash(alice, bob, team, api_for):
    mine = trashed_asset(alice, team, Visibility.ORGANISATION)
    alive = make_asset(alice, visibility=Visibility.ORGANISATION)
    bobs = trashed_asset(bob, team, Visibility.ORGANISATION)
    missing = max(mine.pk, alive.pk, bobs.pk) + 1000
    api = api_for(alice)

    response = api.post("/api/v1/trash/restore/", {"ids": [mine.pk, alive.pk, bobs.pk, missing]}, format="json")
    assert response.json() == {"done": [mine.pk], "skipped": sorted([alive.pk, bobs.pk, missing])}
    assert (state(mine.pk), state(alive.pk), state(bobs.pk)) == ("alive", "alive", "trash")

    response = api.post("/api/v1/trash/purge/", {"ids": [mine.pk, alive.pk, bobs.pk]}, format="json")
    assert response.json() == {"done": [], "skipped": sorted([mine.pk, alive.pk, bobs.pk])}
    assert (state(mine.pk), state(alive.pk), state(bobs.pk)) == ("alive", "alive", "trash")

    assert api.post("/api/v1/trash/restore/", {"ids": []}, format="json").status_code == 400
    assert api.post("/api/v1/trash/purge/", {}, format="json").status_code == 400


def test_a_team_editor_may_trash_a_team_asset_but_only_its_owner_restores_it(alice, team, api_for):
    erin = get_user_model().objects.create_user("erin", password="erin-pw", is_staff=True)
    Membership.objects.create(team=team, user=erin, role=Role.EDITOR)
    asset = make_asset(alice, visibility=Visibility.TEAM, team=team)

    assert api_for(erin).delete(f"/api/v1/assets/{asset.pk}/").status_code == 204
    assert state(asset.pk) == "trash"
    assert api_for(erin).get("/api/v1/trash/").json()["results"] == []
    assert api_for(erin).post(f"/api/v1/trash/{asset.pk}/restore/").status_code == 404
    assert api_for(erin).delete(f"/api/v1/trash/{asset.pk}/").status_code == 404
    assert state(asset.pk) == "trash"

    mine = api_for(alice).get("/api/v1/trash/").json()["results"]
    assert [(row["id"], row["owner"], row["deleted_by"]) for row in mine] == [(asset.pk, "alice", "erin")]
    assert api_for(alice).post(f"/api/v1/trash/{asset.pk}/restore/").status_code == 200
    assert state(asset.pk) == "alive"


@pytest.mark.parametrize("who", ["anonymous", "dave"])
def test_api_trash_refuses_anonymous_and_non_staff(who, request, alice, team, api_for):
    user = None if who == "anonymous" else request.getfixturevalue(who)
    refused = {401, 403} if user is None else {403}
    asset = trashed_asset(alice, team, Visibility.ORGANISATION)
    api = api_for(user)

    codes = {
        "list": api.get("/api/v1/trash/").status_code,
        "detail": api.get(f"/api/v1/trash/{asset.pk}/").status_code,
        "restore": api.post(f"/api/v1/trash/{asset.pk}/restore/").status_code,
        "purge": api.delete(f"/api/v1/trash/{asset.pk}/").status_code,
        "restore many": api.post("/api/v1/trash/restore/", {"ids": [asset.pk]}, format="json").status_code,
        "purge many": api.post("/api/v1/trash/purge/", {"ids": [asset.pk]}, format="json").status_code,
    }
    assert set(codes.values()) <= refused, codes
    assert state(asset.pk) == "trash"


# --- Who sees the trash, restores and purges: the portal ---------------------------------------


@pytest.mark.parametrize("visibility", VISIBILITIES)
@pytest.mark.parametrize("who", list(MAY_RESTORE))
def test_portal_trash_list_restore_and_purge_by_who(who, visibility, request, alice, team, client_for):
    user = request.getfixturevalue(who)
    allowed = MAY_RESTORE[who]
    asset = trashed_asset(alice, team, visibility)
    client = client_for(user)

    page = client.get("/trash/")
    assert page.status_code == 200
    html = page.content.decode()
    assert (f'data-asset-id="{asset.pk}"' in html) is allowed
    assert [a.pk for a in page.context["assets"]] == ([asset.pk] if allowed else [])
    if not allowed:
        assert 'data-testid="empty-state"' in html and f"{visibility} asset" not in html
    assert client.get(f"/trash/{asset.pk}/thumbnail/").status_code == 404  # fake files; nobody else's anyway

    response = client.post("/trash/restore/", {"asset": asset.pk})
    assert response.status_code == 302 and response["Location"] == "/trash/"
    assert state(asset.pk) == ("alive" if allowed else "trash")
    if allowed:
        assert messages_on(client) == "Restored 1 asset."
        actions.trash(alice, [asset.pk])
    else:
        assert messages_on(client) == "Restored 0 assets. Skipped 1 asset: they are not in your trash."

    confirm = client.post("/trash/purge/", {"asset": asset.pk})
    assert confirm.status_code == 200
    text = confirm.content.decode()
    if allowed:
        assert "Delete 1 asset for good?" in text and 'data-testid="purge-submit"' in text
        assert f'name="asset" value="{asset.pk}"' in text
    else:
        assert "Nothing to delete" in text and 'data-testid="purge-submit"' not in text
        assert f"{visibility} asset" not in text
    assert state(asset.pk) == "trash"  # asking purges nothing

    response = client.post("/trash/purge/", {"asset": asset.pk, "confirm": "1"})
    assert response.status_code == 302 and response["Location"] == "/trash/"
    assert state(asset.pk) == ("gone" if allowed else "trash")


@pytest.mark.parametrize("who", ["anonymous", "dave"])
def test_portal_trash_refuses_anonymous_and_non_staff(who, request, alice, team, client_for):
    user = None if who == "anonymous" else request.getfixturevalue(who)
    asset = trashed_asset(alice, team, Visibility.ORGANISATION)
    client = client_for(user)

    responses = [
        client.get("/trash/"),
        client.get(f"/trash/{asset.pk}/thumbnail/"),
        client.post("/trash/restore/", {"asset": asset.pk}),
        client.post("/trash/purge/", {"asset": asset.pk}),
        client.post("/trash/purge/", {"asset": asset.pk, "confirm": "1"}),
    ]
    for response in responses:
        if user is None:
            assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        else:
            assert response.status_code == 403
    assert state(asset.pk) == "trash"


# --- A trashed asset is nowhere else -----------------------------------------------------------


def _upload(owner, data: bytes, name: str, **options) -> Asset:
    result = actions.upload_asset(owner, io.BytesIO(data), name, actions.AssetOptions(**options))
    assert result.status == "created", result.reason
    return result.asset


def _ids_in(html: str, attribute: str) -> set[int]:
    return {int(pk) for pk in re.findall(rf'{attribute}="(\d+)"', html)}


def _fetched(response) -> int:
    """The status of a file response, its content read (which closes its file, as the test client does)."""
    if response.status_code == 200:
        assert b"".join(response.streaming_content)
    return response.status_code


def where_seen(user, asset: Asset, collection, api_for, client_for) -> dict[str, bool]:
    """Every path but the trash page, and whether it shows `asset` to `user`."""
    api, client = api_for(user), client_for(user)
    pk = asset.pk
    seen = {
        "api list": pk in {r["id"] for r in api.get("/api/v1/assets/", {"page_size": 500}).json()["results"]},
        "api detail": api.get(f"/api/v1/assets/{pk}/").status_code == 200,
        "original": _fetched(api.get(f"/api/v1/assets/{pk}/original/")) == 200,
        "rendition": _fetched(api.get(f"/api/v1/assets/{pk}/renditions/max256/")) == 200,
        "similar of it": api.get(f"/api/v1/assets/{pk}/similar/").status_code == 200,
        "api keyword search": pk in {
            r["asset"]["id"]
            for r in api.get("/api/v1/search/", {"q": "zeppelin", "mode": "keyword"}).json()["results"]
        },
        "portal keyword search": pk in _ids_in(
            client.get("/search/", {"q": "zeppelin", "mode": "keyword"}).content.decode(), "data-result-id"
        ),
        "library": pk in _ids_in(client.get("/").content.decode(), "data-asset-id"),
        "asset page": client.get(f"/assets/{pk}/").status_code == 200,
        "live status": bool(client.get("/assets/status/", {"ids": str(pk)}).json()["assets"]),
    }
    if Collection.objects.visible_to(user).filter(pk=collection.pk).exists():  # not charlie's to see
        page = client.get(f"/collections/{collection.pk}/").content.decode()
        seen["collection"] = pk in _ids_in(page, "data-asset-id")
    if user.is_superuser:
        changelist = client.get("/admin/assets/asset/")
        assert changelist.status_code == 200
        seen["admin changelist"] = pk in {a.pk for a in changelist.context["cl"].result_list}
    return seen


@pytest.fixture
def airships(alice, team):
    """alice's processed zeppelin photo (seen by all staff), a kept photo and a private one, all in a
    collection shared with her team (bob sees it; the private one is hidden from him)."""
    gone = _upload(alice, unique_jpeg(color=(200, 30, 30)), "zeppelin.jpg", description="a zeppelin hangar",
                   visibility=Visibility.ORGANISATION)
    kept = _upload(alice, unique_jpeg(color=(30, 200, 30)), "kept.jpg", visibility=Visibility.ORGANISATION)
    secret = _upload(alice, unique_jpeg(color=(30, 30, 200)), "secret.jpg")
    for asset in (gone, kept, secret):
        process_asset(asset.pk)
    assert Rendition.objects.filter(asset=gone, spec="max256").exists()
    collection = collection_actions.create_collection(alice, "Airships")
    collection_actions.add_assets(alice, collection, [gone.pk, kept.pk, secret.pk])
    collection_actions.share_collection(alice, collection, team, "viewer")
    return Asset.objects.get(pk=gone.pk), kept, secret, collection


def test_a_trashed_asset_is_nowhere_but_the_trash_until_restored(
    airships, alice, bob, charlie, admin_user, api_for, client_for
):
    gone, kept, secret, collection = airships
    people = {"alice": alice, "bob": bob, "charlie": charlie, "admin": admin_user}
    for name, user in people.items():
        before = where_seen(user, gone, collection, api_for, client_for)
        assert all(before.values()), (name, before)

    actions.trash(alice, [gone.pk])
    for name, user in people.items():
        during = where_seen(user, gone, collection, api_for, client_for)
        assert not any(during.values()), (name, during)
    # kept is still there, so the empty answers above are not just broken pages
    assert kept.pk in _ids_in(client_for(bob).get("/").content.decode(), "data-asset-id")

    # The collection neither shows it nor counts it as hidden: bob misses only the private one.
    for user, hidden in ((alice, 0), (bob, 1)):
        contents = client_for(user).get(f"/collections/{collection.pk}/").context["contents"]
        assert (contents.visible, contents.hidden) == (2 if user == alice else 1, hidden)
    bobs_page = client_for(bob).get(f"/collections/{collection.pk}/").content.decode()
    assert "1 asset in this collection is hidden" in bobs_page
    # nor do the search endpoints find it through "similar" of another asset (no vectors here: an empty answer)
    similar = api_for(alice).get(f"/api/v1/assets/{kept.pk}/similar/").json()["results"]
    assert gone.pk not in {r["asset"]["id"] for r in similar}

    # Its thumbnail is served on the trash page, to its owner and the superuser only.
    for user, code in ((alice, 200), (admin_user, 200), (bob, 404), (charlie, 404)):
        assert _fetched(client_for(user).get(f"/trash/{gone.pk}/thumbnail/")) == code

    assert api_for(alice).post(f"/api/v1/trash/{gone.pk}/restore/").status_code == 200
    for name, user in people.items():
        after = where_seen(user, gone, collection, api_for, client_for)
        assert all(after.values()), (name, after)
    contents = client_for(bob).get(f"/collections/{collection.pk}/").context["contents"]
    assert (contents.visible, contents.hidden) == (2, 1)


def test_the_collection_lists_count_only_assets_not_in_the_trash(alice, admin_user, team, client_for):
    collection = collection_actions.create_collection(alice, "Counted")
    assets = [make_asset(alice, visibility=Visibility.ORGANISATION) for _ in range(3)]
    collection_actions.add_assets(alice, collection, [a.pk for a in assets])
    actions.trash(alice, [assets[0].pk])

    def counted() -> tuple[int, int]:
        rows = client_for(alice).get("/collections/").context["mine"]
        portal = next(c.item_count for c in rows if c.pk == collection.pk)
        admin = client_for(admin_user).get("/admin/assets/collection/").context["cl"].result_list
        return portal, next(c.item_total for c in admin if c.pk == collection.pk)

    assert counted() == (2, 2)  # as the collection's page: 2 shown, none hidden
    contents = client_for(alice).get(f"/collections/{collection.pk}/").context["contents"]
    assert (contents.visible, contents.hidden) == (2, 0)
    actions.restore(alice, [assets[0].pk])
    assert counted() == (3, 3)


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_semantic_hybrid_and_similar_leave_out_a_trashed_asset(celery_worker, alice, api_for, client_for):
    texts = {
        "gone": ("a red kayak on a calm mountain lake", (200, 20, 20)),
        "kept": ("a kayak race on a wide river", (20, 20, 200)),
    }
    ids = {}
    for key, (text, colour) in texts.items():
        name = f"KAYAK_{key}.jpg"
        options = actions.AssetOptions(description=text, visibility=Visibility.ORGANISATION)
        ids[key] = actions.upload_asset(alice, upload_bytes(make_jpeg(colour), name), name, options).asset.pk

    def embedded():
        states = set(Asset.objects.filter(pk__in=ids.values()).values_list("embedding_status", flat=True))
        return states == {EmbeddingStatus.READY}

    wait_for(embedded, timeout=120)
    api, client = api_for(alice), client_for(alice)
    query = "red kayak on a lake"

    def found() -> dict[str, set[int]]:
        results = {}
        for mode in ("keyword", "semantic", "hybrid"):
            # Weak matches too: the kayak race is only a weak keyword match for a red kayak on a lake.
            body = api.get("/api/v1/search/", {"q": query, "mode": mode, "limit": 50, "weak": "true"}).json()
            assert body["degraded"] == [], (mode, body["degraded"])
            results[f"api {mode}"] = {r["asset"]["id"] for r in body["results"]}
            html = client.get("/search/", {"q": query, "mode": mode, "weak": "1"}).content.decode()
            results[f"portal {mode}"] = _ids_in(html, "data-result-id")
        similar = api.get(f"/api/v1/assets/{ids['kept']}/similar/").json()
        results["similar"] = {r["asset"]["id"] for r in similar["results"]}
        return results

    before = found()
    assert all(ids["gone"] in hits for hits in before.values()), before

    actions.trash(alice, [ids["gone"]])
    during = found()
    assert not any(ids["gone"] in hits for hits in during.values()), during
    assert all(ids["kept"] in hits for name, hits in during.items() if name != "similar"), during
    assert api.get(f"/api/v1/assets/{ids['gone']}/similar/").status_code == 404
    assert client.get(f"/assets/{ids['gone']}/similar/").status_code == 404

    actions.restore(alice, [ids["gone"]])
    after = found()
    assert all(ids["gone"] in hits for hits in after.values()), after


# --- Restoring: in bulk, and by uploading the same file again ----------------------------------


def test_bulk_restore_restores_the_callers_trash_and_counts_the_rest(alice, bob, team):
    mine = [trashed_asset(alice, team, Visibility.PRIVATE), trashed_asset(alice, team, Visibility.TEAM)]
    alive = make_asset(alice)
    bobs = trashed_asset(bob, team, Visibility.TEAM)
    missing = bobs.pk + 1000

    outcome = bulk.restore(alice, [mine[0].pk, mine[1].pk, alive.pk, bobs.pk, missing])
    assert (outcome.changed, outcome.skipped_total) == (2, 3)
    assert outcome.skipped == {"they are not in your trash": 3}
    assert outcome.message() == "Restored 2 assets. Skipped 3 assets: they are not in your trash."
    assert [state(a.pk) for a in mine] == ["alive", "alive"]
    assert (state(alive.pk), state(bobs.pk)) == ("alive", "trash")

    again = bulk.restore(alice, [mine[0].pk])  # already restored: skipped, not restored twice
    assert (again.changed, again.skipped_total) == (0, 1)

    with pytest.raises(bulk.BulkError):
        bulk.restore(alice, [])


def test_uploading_the_same_file_again_takes_it_out_of_the_trash(alice, charlie, api_for):
    data = unique_jpeg()
    asset = _upload(alice, data, "balloon.jpg", description="hot air balloon")
    actions.trash(alice, [asset.pk])
    entries = AuditEntry.objects.count()

    again = actions.upload_asset(alice, io.BytesIO(data), "balloon again.jpg", actions.AssetOptions())
    assert again.status == "duplicate"
    assert "trash" in again.reason
    assert again.asset.pk == asset.pk and not again.asset.in_trash
    assert state(asset.pk) == "alive"
    assert Asset.objects.filter(owner=alice).count() == 1
    assert AuditEntry.objects.count() == entries + 1
    assert AuditEntry.objects.latest("id").action == "asset.restored"
    api = api_for(alice)
    assert api.get(f"/api/v1/assets/{asset.pk}/").status_code == 200
    hits = api.get("/api/v1/search/", {"q": "balloon", "mode": "keyword"}).json()["results"]
    assert [r["asset"]["id"] for r in hits] == [asset.pk]

    # Through the API as well, and someone else's copy of the same bytes is a new asset of theirs.
    actions.trash(alice, [asset.pk])
    response = api.post("/api/v1/assets/", {"file": upload_bytes(data, "balloon.jpg")}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["duplicate"] is True and "trash" in response.json()["detail"]
    assert response.json()["id"] == asset.pk and state(asset.pk) == "alive"

    actions.trash(alice, [asset.pk])
    theirs = actions.upload_asset(charlie, io.BytesIO(data), "balloon.jpg", actions.AssetOptions())
    assert theirs.status == "created" and theirs.asset.owner == charlie
    assert state(asset.pk) == "trash"


# --- The scheduled purge -----------------------------------------------------------------------


def test_scheduled_purge_takes_only_what_stayed_past_retention(
    alice, charlie, settings, django_capture_on_commit_callbacks
):
    settings.TRASH_RETENTION_DAYS = 7
    shared = unique_jpeg()
    old_shared = _upload(alice, shared, "old-shared.jpg")
    theirs = _upload(charlie, shared, "theirs.jpg")  # charlie's own asset, the same bytes: the same file
    assert old_shared.blob_id == theirs.blob_id
    old = _upload(alice, unique_jpeg(), "old.jpg")
    process_asset(old.pk)
    recent = _upload(alice, unique_jpeg(), "recent.jpg")
    edge = _upload(alice, unique_jpeg(), "edge.jpg")
    alive = _upload(alice, unique_jpeg(), "alive.jpg")
    actions.trash(alice, [old_shared.pk, old.pk, recent.pk, edge.pk])

    now = timezone.now()
    ages = {old_shared: dt.timedelta(days=7, seconds=1), old: dt.timedelta(days=40),
            recent: dt.timedelta(days=6, hours=23), edge: dt.timedelta(days=7)}
    for asset, age in ages.items():
        Asset.objects.filter(pk=asset.pk).update(deleted_at=now - age)
    old_files = {old.blob.name, *Rendition.objects.filter(asset=old).values_list("blob__name", flat=True)}
    assert len(old_files) >= 2 and all(default_storage.exists(name) for name in old_files)
    kept_files = [old_shared.blob.name, recent.blob.name, edge.blob.name, alive.blob.name]

    entries = AuditEntry.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        purged = deletion.purge_expired(now=now)
        assert all(default_storage.exists(name) for name in old_files), "files go only after the commit"
    assert len(callbacks) == 1
    assert purged == sorted([old_shared.pk, old.pk])
    assert [state(a.pk) for a in (old_shared, old, recent, edge, alive, theirs)] == [
        "gone", "gone", "trash", "trash", "alive", "alive"
    ]
    assert not any(default_storage.exists(name) for name in old_files)
    assert all(default_storage.exists(name) for name in kept_files), "charlie's asset still uses the shared file"
    assert readable(theirs)

    assert AuditEntry.objects.count() == entries + 1
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor_id, entry.actor_name) == ("asset.purged", None, "system")
    assert entry.asset_ids == purged
    assert "7 days" in entry.detail["reason"]
    assert entry.detail["files"] == len(old_files)  # old's original and thumbnails; not the shared original

    # Nothing more is due at `now`: a second run purges nothing and writes no entry. With the real clock
    # (a moment later) edge is past the cutoff; recent goes a day later.
    assert deletion.purge_expired(now=now) == []
    assert AuditEntry.objects.count() == entries + 1
    assert deletion.purge_expired() == [edge.pk]
    assert deletion.purge_expired(now=now + dt.timedelta(days=1)) == [recent.pk]
    assert state(alive.pk) == state(theirs.pk) == "alive"


def readable(asset: Asset) -> bool:
    with default_storage.open(asset.blob.name, "rb") as handle:
        return len(handle.read()) == asset.byte_size

