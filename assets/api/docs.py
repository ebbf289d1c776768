"""The API's schema (/api/schema/) and interactive docs (/api/docs/): for staff unless
PUBLIC_API_DOCS (MEDIAVAULT_PUBLIC_API_DOCS) opens them to everyone. Decided per request."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.exceptions import NotAuthenticated

from assets.api.permissions import IsStaff


class ApiDocsPermission(IsStaff):
    message = "The API documentation is for staff: sign in with a staff account."

    def has_permission(self, request, view) -> bool:
        return settings.PUBLIC_API_DOCS or super().has_permission(request, view)


class SchemaView(SpectacularAPIView):
    permission_classes = [ApiDocsPermission]


class DocsView(SpectacularSwaggerView):
    permission_classes = [ApiDocsPermission]

    def handle_exception(self, exc):
        # A page for people: anonymous visitors are sent to sign in rather than shown a 401.
        if isinstance(exc, NotAuthenticated):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
