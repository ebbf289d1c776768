"""The audit log: every action writes exactly one entry, which nothing edits or deletes afterwards; the
asset page's history; the audit API and the admin's audit log, for superusers only."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import io
import re
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission
from django.db import DatabaseError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from assets import actions
from assets.actions import bulk, pipeline
from assets.actions import collections as collection_actions
from assets.actions import teams as team_actions
from assets.models import AuditEntry, Membership, Role, Status, Visibility
from tests.assets.conftest import unique_jpeg
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db

IMMUTABLE = "audit entries are never changed or deleted"


@contextmanager
def one_entry(action: str):
    """The block must write exactly one audit entry, of `action`; `.entry` holds it afterwards."""
    count = AuditEntry.objects.count()
    last = AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0
    recorded = SimpleNamespace(entry=None)
    yield recorded
    new = list(AuditEntry.objects.filter(id__gt=last).order_by("id"))
    assert [e.action for e in new] == [action]
    assert AuditEntry.objects.count() == count + 1
    recorded.entry = new[0]


@contextmanager
def no_entry():
    count = AuditEntry.objects.count()
    yield
    assert AuditEntry.objects.count() == count


def _upload(owner, data: bytes | None = None, name: str = "photo.jpg", **options):
    return actions.upload_asset(owner, io.BytesIO(data or unique_jpeg()), name, actions.AssetOptions(**options))


# --- One entry per action ----------------------------------------------------------------------


def test_upload_writes_one_entry_and_a_duplicate_or_rejection_none(alice):
    data = unique_jpeg()
    with one_entry("asset.uploaded") as recorded:
        result = _upload(alice, data, "harbour.jpg", title="Harbour", tags=["sea"])
    entry, asset = recorded.entry, result.asset
    assert (entry.actor_id, entry.actor_name) == (alice.pk, "alice")
    assert (entry.object_type, entry.object_id, entry.object_repr, entry.asset_ids) == (
        "asset", asset.pk, "Harbour", [asset.pk]
    )
    assert entry.changes == {"title": [None, "Harbour"], "tags": [None, ["sea"]], "visibility": [None, "private"]}
    assert entry.detail == {"filename": "harbour.jpg", "sha256": asset.sha256, "bytes": len(data),
                            "mime_type": "image/jpeg"}

    with no_entry():
        assert _upload(alice, data, "again.jpg").status == "duplicate"
        assert _upload(alice, b"not an image", "fake.jpg").status == "rejected"


def test_update_writes_one_entry_with_each_changed_field_before_and_after(alice, bob, team):
    asset = make_asset(alice, title="Old", tags=["a"], description="same")
    changes = {"title": "New", "tags": ["a", "b"], "description": "same", "team": team, "visibility": "team"}
    with one_entry("asset.updated") as recorded:
        actions.update_asset(alice, asset.pk, changes)
    entry = recorded.entry
    assert entry.changes == {
        "title": ["Old", "New"],
        "tags": [["a"], ["a", "b"]],
        "team": [None, {"id": team.pk, "name": "Studio"}],
        "visibility": ["private", "team"],
    }  # the unchanged description is left out
    assert (entry.object_type, entry.object_id, entry.asset_ids, entry.object_repr) == (
        "asset", asset.pk, [asset.pk], "New"
    )

    with no_entry():
        actions.update_asset(alice, asset.pk, {"title": "New"})  # nothing changes, nothing recorded
        with pytest.raises(actions.NotAllowed):
            actions.update_asset(bob, asset.pk, {"title": "Bob's"})  # a viewer: refused


def test_bulk_tagging_three_assets_writes_one_entry_keyed_by_asset(alice, charlie):
    a, b, c = make_asset(alice), make_asset(alice, tags=["x"]), make_asset(alice, tags=["y"])
    not_hers = make_asset(charlie, visibility=Visibility.ORGANISATION)
    with one_entry("asset.tags_added") as recorded:
        outcome = bulk.add_tags(alice, [a.pk, b.pk, c.pk, not_hers.pk], ["shortlist"])
    assert (outcome.changed, outcome.skipped_total) == (3, 1)
    entry = recorded.entry
    assert entry.asset_ids == sorted([a.pk, b.pk, c.pk])
    assert (entry.object_type, entry.object_id, entry.object_repr) == ("", None, "3 assets")
    assert entry.changes == {
        str(a.pk): {"tags": [[], ["shortlist"]]},
        str(b.pk): {"tags": [["x"], ["x", "shortlist"]]},
        str(c.pk): {"tags": [["y"], ["y", "shortlist"]]},
    }
    assert entry.changes_for(b.pk) == {"tags": [["x"], ["x", "shortlist"]]}
    assert entry.changes_for(not_hers.pk) == {}

    with no_entry():
        bulk.add_tags(alice, [a.pk, b.pk], ["shortlist"])  # already so


def test_trash_restore_and_purge_each_write_one_entry(alice, bob):
    asset = make_asset(alice, title="Doomed")
    with one_entry("asset.trashed") as recorded:
        actions.trash(alice, [asset.pk])
    assert (recorded.entry.object_id, recorded.entry.asset_ids, recorded.entry.actor_name) == (
        asset.pk, [asset.pk], "alice"
    )
    with no_entry():
        assert actions.restore(bob, [asset.pk]) == []  # not bob's trash
        assert actions.purge(bob, [asset.pk]) == []
    with one_entry("asset.restored") as recorded:
        actions.restore(alice, [asset.pk])
    assert recorded.entry.asset_ids == [asset.pk]
    with one_entry("asset.trashed"):
        actions.trash(alice, [asset.pk])
    with one_entry("asset.purged") as recorded:
        actions.purge(alice, [asset.pk])
    entry = recorded.entry
    assert entry.asset_ids == [asset.pk]
    assert entry.detail["titles"] == {str(asset.pk): "Doomed"}
    assert entry.detail["reason"] == "purged from the trash"

    pair = [make_asset(alice), make_asset(alice)]
    with one_entry("asset.trashed") as recorded:
        bulk.delete(alice, [a.pk for a in pair])
    assert (recorded.entry.object_id, recorded.entry.asset_ids) == (None, sorted(a.pk for a in pair))


def test_reprocess_and_request_embedding_write_one_entry_each(alice):
    asset = make_asset(alice, status=Status.READY)
    other = make_asset(alice, status=Status.READY)
    with one_entry("asset.reprocess_requested") as recorded:
        assert pipeline.reprocess(alice, [asset.pk]) == [asset.pk]
    assert (recorded.entry.object_id, recorded.entry.asset_ids) == (asset.pk, [asset.pk])

    with one_entry("asset.embedding_requested") as recorded:
        assert actions.request_embedding(alice, [other.pk]) == 1
    assert (recorded.entry.object_id, recorded.entry.asset_ids) == (other.pk, [other.pk])

    with no_entry():
        assert actions.request_embedding(alice, [asset.pk]) == 0  # pending again after the reprocess

    with one_entry("asset.reprocess_requested") as recorded:
        bulk.reprocess(alice, [asset.pk, other.pk])
    assert recorded.entry.asset_ids == sorted([asset.pk, other.pk])


def test_collection_actions_write_one_entry_each(alice, team):
    photos = [make_asset(alice), make_asset(alice)]
    ids = [p.pk for p in photos]
    with one_entry("collection.created") as recorded:
        collection = collection_actions.create_collection(alice, "Picks")
    assert (recorded.entry.object_type, recorded.entry.object_id) == ("collection", collection.pk)
    assert recorded.entry.changes == {"name": [None, "Picks"]}

    with one_entry("collection.renamed") as recorded:
        collection_actions.rename_collection(alice, collection, "Best picks")
    assert recorded.entry.changes == {"name": ["Picks", "Best picks"]}

    with one_entry("collection.assets_added") as recorded:
        collection_actions.add_assets(alice, collection, ids)
    assert recorded.entry.asset_ids == sorted(ids)
    with no_entry():
        collection_actions.add_assets(alice, collection, ids)  # already there

    with one_entry("collection.assets_removed") as recorded:
        collection_actions.remove_assets(alice, collection, [ids[0]])
    assert recorded.entry.asset_ids == [ids[0]]

    with one_entry("collection.shared") as recorded:
        collection_actions.share_collection(alice, collection, team, "viewer")
    assert recorded.entry.changes == {"team": [None, {"id": team.pk, "name": "Studio"}], "role": [None, "viewer"]}
    with no_entry():
        collection_actions.share_collection(alice, collection, team, "viewer")  # already so

    with one_entry("collection.unshared") as recorded:
        assert collection_actions.unshare_collection(alice, collection, team.pk)
    assert recorded.entry.changes["role"] == ["viewer", None]

    pk = collection.pk
    with one_entry("collection.deleted") as recorded:
        collection_actions.delete_collection(alice, collection)
    assert (recorded.entry.object_id, recorded.entry.asset_ids) == (pk, [ids[1]])
    assert recorded.entry.object_repr == "Best picks"


def test_team_membership_actions_write_one_entry_each(admin_user, charlie, team, other_team):
    with one_entry("team.member_added") as recorded:
        membership = team_actions.add_member(admin_user, team, "charlie", Role.VIEWER)
    entry = recorded.entry
    assert (entry.actor_name, entry.object_type, entry.object_id) == ("admin", "team", team.pk)
    assert entry.changes == {"member": [None, {"id": charlie.pk, "name": "charlie"}], "role": [None, "viewer"]}

    with one_entry("team.role_changed") as recorded:
        team_actions.set_role(admin_user, membership, Role.EDITOR)
    assert recorded.entry.changes["role"] == ["viewer", "editor"]

    with one_entry("team.member_removed") as recorded:
        team_actions.remove_member(admin_user, membership)
    assert recorded.entry.changes == {"member": [{"id": charlie.pk, "name": "charlie"}, None],
                                      "role": ["editor", None]}

    only_manager = Membership.objects.get(team=other_team, user=charlie)
    with no_entry():
        with pytest.raises(team_actions.TeamError):
            team_actions.set_role(admin_user, only_manager, Role.VIEWER)
        with pytest.raises(team_actions.TeamError):
            team_actions.add_member(admin_user, team, "nobody", Role.VIEWER)


def test_downloading_an_original_through_the_api_writes_one_entry(alice, bob, charlie, team, api_for):
    mine = _upload(alice, name="private.jpg").asset
    shared = _upload(alice, name="shared.jpg", visibility=Visibility.ORGANISATION).asset

    with one_entry("asset.downloaded") as recorded:
        response = api_for(alice).get(f"/api/v1/assets/{mine.pk}/original/")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == mine.blob.open().read()
    entry = recorded.entry
    assert (entry.actor_name, entry.object_id, entry.asset_ids) == ("alice", mine.pk, [mine.pk])
    assert entry.detail == {"via": "api", "bytes": mine.byte_size}

    with one_entry("asset.downloaded") as recorded:
        response = api_for(charlie).get(f"/api/v1/assets/{shared.pk}/original/")
        b"".join(response.streaming_content)
    assert (recorded.entry.actor_name, recorded.entry.object_id) == ("charlie", shared.pk)

    with no_entry():
        assert api_for(bob).get(f"/api/v1/assets/{mine.pk}/original/").status_code == 404  # hidden
        assert api_for(alice).get(f"/api/v1/assets/{mine.pk}/").status_code == 200  # reading details: no download


def test_each_door_writes_one_entry_per_request(alice, api_for, client_for):
    a, b = make_asset(alice, title="A"), make_asset(alice, title="B")
    with one_entry("asset.updated"):
        assert api_for(alice).patch(f"/api/v1/assets/{a.pk}/", {"title": "A2"}, format="json").status_code == 200
    with one_entry("asset.updated"):
        response = client_for(alice).post(f"/assets/{b.pk}/edit/", {"title": "B2", "visibility": "private"})
        assert response.status_code == 302
    with one_entry("asset.tags_added"):
        response = client_for(alice).post(
            "/assets/bulk/", {"action": "add_tags", "asset": [a.pk, b.pk], "tags": "shortlist", "next": "/"}
        )
        assert response.status_code == 302
    with one_entry("asset.trashed"):
        assert api_for(alice).delete(f"/api/v1/assets/{a.pk}/").status_code == 204
    with one_entry("asset.restored"):
        assert client_for(alice).post("/trash/restore/", {"asset": a.pk}).status_code == 302


# --- Never edited, never deleted ---------------------------------------------------------------


def test_entries_cannot_be_updated_or_deleted(alice):
    _upload(alice, name="kept.jpg")
    entry = AuditEntry.objects.get()
    frozen = AuditEntry.objects.filter(pk=entry.pk).values().get()

    def raw(sql):
        with connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])

    attempts = {
        "queryset update": lambda: AuditEntry.objects.filter(pk=entry.pk).update(action="asset.forged"),
        "queryset delete": lambda: AuditEntry.objects.filter(pk=entry.pk).delete(),
        "delete all": lambda: AuditEntry.objects.all().delete(),
        "model save": lambda: AuditEntry.objects.get(pk=entry.pk).save(),
        "model delete": lambda: AuditEntry.objects.get(pk=entry.pk).delete(),
        "raw update": lambda: raw("UPDATE assets_auditentry SET actor_name = 'mallory' WHERE id = %s"),
        "raw delete": lambda: raw("DELETE FROM assets_auditentry WHERE id = %s"),
    }
    for name, attempt in attempts.items():
        with pytest.raises(DatabaseError, match=IMMUTABLE), transaction.atomic():
            attempt()
        # The test's transaction is still usable, and the row is as it was.
        assert AuditEntry.objects.filter(pk=entry.pk).values().get() == frozen, name
    assert AuditEntry.objects.count() == 1
    with one_entry("asset.trashed"):  # writing new entries still works
        actions.trash(alice, entry.asset_ids)


# --- The asset page's history ------------------------------------------------------------------


def history_section(client, asset_id: int) -> list[str]:
    """The texts of the history entries on the asset page, in page order, whitespace collapsed."""
    page = client.get(f"/assets/{asset_id}/")
    assert page.status_code == 200
    html = page.content.decode()
    match = re.search(r'<section[^>]*data-testid="asset-history"[^>]*>(.*?)</section>', html, flags=re.S)
    assert match, "no History section on the asset page"
    items = re.split(r'<li [^>]*data-testid="history-entry"[^>]*>', match.group(1))[1:]  # each to the next's start
    return [" ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", item)).split()) for item in items]


def test_asset_page_shows_its_history_newest_first_with_changes(alice, team, client_for):
    asset = make_asset(alice, title="Before", tags=[])
    other = make_asset(alice, title="Other", tags=["x"])
    client = client_for(alice)
    assert "No recorded changes yet." in client.get(f"/assets/{asset.pk}/").content.decode()

    actions.update_asset(alice, asset.pk, {"title": "After", "team": team})
    actions.update_asset(alice, other.pk, {"title": "Other edited"})  # another asset's: not in this history
    bulk.add_tags(alice, [asset.pk, other.pk], ["shortlist"])
    collection = collection_actions.create_collection(alice, "Picks")
    collection_actions.add_assets(alice, collection, [asset.pk])
    actions.trash(alice, [asset.pk])
    actions.restore(alice, [asset.pk])

    entries = history_section(client, asset.pk)
    assert len(entries) == 5, entries
    restored, trashed, added, tagged, edited = entries
    assert restored.startswith("alice restored it from the trash")
    assert trashed.startswith("alice moved it to the trash")
    assert added.startswith("alice added it to a collection “Picks”")
    assert tagged.startswith("alice added tags") and tagged.endswith("tags: — → shortlist")
    assert "x, shortlist" not in tagged  # the other asset's part of the bulk entry is not shown here
    assert edited.startswith("alice edited it")
    assert "team: — → Studio" in edited and "title: Before → After" in edited
    assert not any("Other edited" in e for e in entries)

    page = client.get(f"/assets/{asset.pk}/").content.decode()
    times = [dt.datetime.fromisoformat(t) for t in re.findall(r'class="history__when" datetime="([^"]+)"', page)]
    assert times == sorted(times, reverse=True) and len(times) == 5

    # The other asset's page shows its own half of the same bulk entry.
    other_entries = history_section(client, other.pk)
    assert other_entries[0].startswith("alice added tags") and other_entries[0].endswith("tags: x → x, shortlist")
    assert other_entries[1].endswith("title: Other → Other edited")


def test_history_is_only_on_pages_the_person_may_see(alice, bob, client_for):
    asset = make_asset(alice, title="Secret")
    actions.update_asset(alice, asset.pk, {"title": "Still secret"})
    assert client_for(bob).get(f"/assets/{asset.pk}/").status_code == 404


# --- The audit API -----------------------------------------------------------------------------


@pytest.fixture
def audit_log(alice, bob, admin_user, charlie, team):
    """A few entries by three people, with the times between them."""
    marks = {"start": timezone.now()}
    mine = make_asset(alice, title="Mine")
    org = make_asset(alice, title="Org", visibility=Visibility.ORGANISATION)
    actions.update_asset(alice, mine.pk, {"title": "Mine edited"})
    marks["middle"] = timezone.now()
    bulk.add_tags(alice, [mine.pk, org.pk], ["x"])
    collection = collection_actions.create_collection(bob, "Bob's")
    collection_actions.add_assets(bob, collection, [org.pk])
    team_actions.add_member(admin_user, team, "charlie", Role.VIEWER)
    marks["end"] = timezone.now()
    return SimpleNamespace(mine=mine, org=org, collection=collection, marks=marks)


def listed(api, **params) -> list[int]:
    response = api.get("/api/v1/audit/", params)
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def ids_of(queryset) -> list[int]:
    return list(queryset.order_by("-at", "-id").values_list("id", flat=True))


def test_audit_api_is_for_superusers_only(audit_log, alice, dave, admin_user, api_for):
    staff = alice
    staff.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    assert api_for(staff).get("/api/v1/audit/").status_code == 403
    assert api_for(dave).get("/api/v1/audit/").status_code == 403
    assert api_for(None).get("/api/v1/audit/").status_code in (401, 403)
    some = AuditEntry.objects.first()
    assert api_for(staff).get(f"/api/v1/audit/{some.pk}/").status_code == 403

    api = api_for(admin_user)
    assert listed(api) == ids_of(AuditEntry.objects.all())
    row = api.get(f"/api/v1/audit/{some.pk}/").json()
    assert (row["action"], row["actor_name"], row["asset_ids"]) == (some.action, some.actor_name, some.asset_ids)
    # read-only
    assert api.delete(f"/api/v1/audit/{some.pk}/").status_code == 405
    assert api.patch(f"/api/v1/audit/{some.pk}/", {"action": "x"}, format="json").status_code == 405
    assert api.post("/api/v1/audit/", {"action": "x"}, format="json").status_code == 405


def test_audit_api_filters(audit_log, admin_user, api_for):
    api = api_for(admin_user)
    entries = AuditEntry.objects.all()

    assert listed(api, actor="alice") == ids_of(entries.filter(actor_name="alice"))
    assert {e.action for e in entries.filter(actor_name="alice")} == {"asset.updated", "asset.tags_added"}
    assert listed(api, actor="bob") == ids_of(entries.filter(action__startswith="collection."))
    assert len(listed(api, actor="admin")) == 1

    assert listed(api, action="asset.updated") == ids_of(entries.filter(action="asset.updated"))
    assert len(listed(api, action="asset.updated")) == 1
    assert listed(api, action="asset.") == ids_of(entries.filter(action__in=["asset.updated", "asset.tags_added"]))
    assert listed(api, action="collection.") == ids_of(entries.filter(object_type="collection"))
    assert listed(api, action="asset") == []  # no dot: an exact name, and there is no action "asset"
    assert listed(api, action="asset.up") == []  # not a prefix without the dot

    assert listed(api, asset=audit_log.org.pk) == ids_of(entries.filter(asset_ids__contains=[audit_log.org.pk]))
    assert {e.action for e in entries.filter(asset_ids__contains=[audit_log.org.pk])} == {
        "asset.tags_added", "collection.assets_added"
    }
    assert len(listed(api, asset=audit_log.mine.pk)) == 2  # edited, tagged

    assert listed(api, object_type="collection") == ids_of(entries.filter(object_type="collection"))
    assert len(listed(api, object_type="team")) == 1

    marks = audit_log.marks
    assert listed(api, until=marks["middle"].isoformat()) == ids_of(entries.filter(action="asset.updated"))
    assert listed(api, since=marks["middle"].isoformat()) == ids_of(entries.exclude(action="asset.updated"))
    assert listed(api, since=marks["start"].isoformat(), until=marks["end"].isoformat()) == ids_of(entries)
    assert listed(api, since=marks["end"].isoformat()) == []
    assert listed(api, actor="alice", since=marks["middle"].isoformat()) == ids_of(entries.filter(
        action="asset.tags_added"))
    assert api.get("/api/v1/audit/", {"since": "yesterday"}).status_code == 400


# --- The admin's audit log ---------------------------------------------------------------------

CHANGELIST = "/admin/assets/auditentry/"


def test_admin_audit_log_lists_and_filters_for_superusers(audit_log, admin_user, client_for):
    client = client_for(admin_user)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    cl = response.context["cl"]
    assert cl.result_count == AuditEntry.objects.count() == 5
    assert {spec.title for spec in cl.filter_specs} >= {"who", "action", "object type", "at"}
    assert "asset.tags_added" in response.content.decode()

    def shown(**params) -> set[int]:
        page = client.get(CHANGELIST, params)
        assert page.status_code == 200
        return {e.pk for e in page.context["cl"].result_list}

    entries = AuditEntry.objects.all()
    assert shown(actor="alice") == set(entries.filter(actor_name="alice").values_list("id", flat=True))
    assert len(shown(actor="alice")) == 2
    assert shown(action__exact="collection.created") == set(
        entries.filter(action="collection.created").values_list("id", flat=True)
    )
    assert shown(object_type__exact="team") == set(entries.filter(object_type="team").values_list("id", flat=True))
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    assert len(shown(at__gte=str(today), at__lt=str(today + dt.timedelta(days=1)))) == 5
    assert shown(at__gte=str(today - dt.timedelta(days=7)), at__lt=str(today - dt.timedelta(days=6))) == set()
    assert len(shown(at__year=str(today.year))) == 5  # the date hierarchy
    assert shown(q="Bob's") == set(entries.filter(object_type="collection").values_list("id", flat=True))


def test_admin_audit_log_offers_no_add_change_or_delete(audit_log, admin_user, client_for):
    client = client_for(admin_user)
    entry = AuditEntry.objects.filter(action="asset.updated").get()
    response = client.get(CHANGELIST)
    assert response.context["has_add_permission"] is False
    assert response.context["action_form"] is None  # no "delete selected" or any other action
    assert f"{CHANGELIST}add/" not in response.content.decode()

    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}add/", {"action": "asset.forged"}).status_code == 403
    change = client.get(f"{CHANGELIST}{entry.pk}/change/")
    assert change.status_code == 200  # a read-only view
    assert change.context["has_change_permission"] is False and change.context["has_delete_permission"] is False
    page = change.content.decode()
    assert 'name="_save"' not in page and f"{CHANGELIST}{entry.pk}/delete/" not in page
    assert "Mine edited" in page
    assert client.post(f"{CHANGELIST}{entry.pk}/change/", {"action": "asset.forged"}).status_code == 403
    assert client.get(f"{CHANGELIST}{entry.pk}/delete/").status_code == 403
    assert client.post(f"{CHANGELIST}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk_delete = client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"})
    assert bulk_delete.status_code in (200, 302)
    assert AuditEntry.objects.filter(pk=entry.pk, action="asset.updated").exists()
    assert AuditEntry.objects.count() == 5


def test_admin_audit_log_is_hidden_from_staff_who_are_not_superusers(audit_log, alice, admin_user, client_for):
    alice.user_permissions.add(*Permission.objects.filter(codename__endswith="_auditentry"))
    client = client_for(alice)
    assert client.get(CHANGELIST).status_code == 403
    entry = AuditEntry.objects.first()
    assert client.get(f"{CHANGELIST}{entry.pk}/change/").status_code == 403
    index = client.get("/admin/")
    assert index.status_code == 200
    assert CHANGELIST not in index.content.decode() and "Audit log" not in index.content.decode()
    assert "Audit log" in client_for(admin_user).get("/admin/").content.decode()


def test_an_upload_records_only_what_it_set_and_a_head_request_is_no_download(alice, api_for):
    import io

    from assets import actions
    from assets.models import AuditEntry
    from tests.assets.conftest import unique_jpeg

    asset = actions.upload_asset(alice, io.BytesIO(unique_jpeg()), "plain.jpg", actions.AssetOptions()).asset
    entry = AuditEntry.objects.get(action="asset.uploaded", object_id=asset.pk)
    assert set(entry.changes) == {"title", "visibility"}  # no "tags: nothing -> nothing", no team
    before = AuditEntry.objects.filter(action="asset.downloaded").count()
    assert api_for(alice).head(f"/api/v1/assets/{asset.pk}/original/").status_code == 200
    assert AuditEntry.objects.filter(action="asset.downloaded").count() == before
