"""/admin/system/: included by mediavault.urls ahead of the admin site, whose catch-all would take it."""

from django.urls import path

from workers.system_admin import retry_all_view, retry_view, system_view

urlpatterns = [
    path("", system_view, name="admin-system"),
    path("retry/<int:pk>/", retry_view, name="admin-system-retry"),
    path("retry-all/", retry_all_view, name="admin-system-retry-all"),
]
