from django.urls import path

from assets.portal import views

app_name = "portal"

urlpatterns = [
    # The library is the root: LOGIN_REDIRECT_URL points at portal:library.
    path("", views.library, name="library"),
    path("upload/", views.upload, name="upload"),
    path("assets/<int:pk>/", views.asset_detail, name="asset-detail"),
    path("assets/<int:pk>/edit/", views.asset_edit, name="asset-edit"),
    path("assets/<int:pk>/reprocess/", views.asset_reprocess, name="asset-reprocess"),
    path("assets/<int:pk>/delete/", views.asset_delete, name="asset-delete"),
]
