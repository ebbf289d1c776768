from django.urls import path

from assets.portal import bulk_views, collection_views, team_views, trash_views, views

app_name = "portal"

urlpatterns = [
    # The library is the root: LOGIN_REDIRECT_URL points at portal:library.
    path("", views.library, name="library"),
    path("upload/", views.upload, name="upload"),
    path("assets/status/", views.asset_status, name="asset-status"),
    path("assets/bulk/", bulk_views.bulk_action, name="bulk"),
    path("assets/<int:pk>/", views.asset_detail, name="asset-detail"),
    path("assets/<int:pk>/edit/", views.asset_edit, name="asset-edit"),
    path("assets/<int:pk>/reprocess/", views.asset_reprocess, name="asset-reprocess"),
    path("assets/<int:pk>/findings/<slug:analyser>/", views.asset_correct_finding, name="asset-finding"),
    path("assets/<int:pk>/delete/", views.asset_delete, name="asset-delete"),
    path("trash/", trash_views.trash_list, name="trash"),
    path("trash/restore/", trash_views.trash_restore, name="trash-restore"),
    path("trash/purge/", trash_views.trash_purge, name="trash-purge"),
    path("trash/<int:pk>/thumbnail/", trash_views.trash_thumbnail, name="trash-thumbnail"),
    path("collections/", collection_views.collection_list, name="collections"),
    path("collections/new/", collection_views.collection_create, name="collection-create"),
    path("collections/<int:pk>/", collection_views.collection_detail, name="collection-detail"),
    path("collections/<int:pk>/rename/", collection_views.collection_rename, name="collection-rename"),
    path("collections/<int:pk>/add/", collection_views.collection_add, name="collection-add"),
    path("collections/<int:pk>/remove/", collection_views.collection_remove, name="collection-remove"),
    path("collections/<int:pk>/share/", collection_views.collection_share, name="collection-share"),
    path(
        "collections/<int:pk>/share/<int:team_id>/remove/",
        collection_views.collection_unshare,
        name="collection-unshare",
    ),
    path("collections/<int:pk>/delete/", collection_views.collection_delete, name="collection-delete"),
    path("teams/", team_views.team_list, name="teams"),
    path("teams/<slug:slug>/", team_views.team_detail, name="team-detail"),
    path("teams/<slug:slug>/members/", team_views.member_add, name="member-add"),
    path("teams/<slug:slug>/members/<int:pk>/role/", team_views.member_role, name="member-role"),
    path("teams/<slug:slug>/members/<int:pk>/remove/", team_views.member_remove, name="member-remove"),
]
