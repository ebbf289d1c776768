"""GET /api/v1/audit/: the audit log, for superusers, filtered by actor, action, object, asset and time."""

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field
from rest_framework import viewsets
from rest_framework.permissions import BasePermission

from assets.api.filters import DateTimeFilter
from assets.api.serializers import AuditEntrySerializer
from assets.models import AuditEntry


class IsSuperuser(BasePermission):
    message = "Only administrators may read the audit log."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_superuser)


# The largest id the database holds (bigint): a larger one cannot even be compared with the column.
MAX_ID = 2**63 - 1


@extend_schema_field(
    {"type": "integer", "minimum": 1, "maximum": MAX_ID, "description": "entries that touched this asset (its id)"}
)
class AssetIdFilter(django_filters.NumberFilter):
    """An asset id: a whole number from 1 to MAX_ID (else a 400, not an error from the database)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=MAX_ID, **kwargs)


class AuditFilter(django_filters.FilterSet):
    actor = django_filters.CharFilter(field_name="actor_name", help_text="username of who acted ('system': workers)")
    action = django_filters.CharFilter(field_name="action", help_text="e.g. asset.updated; a prefix ends in '.'",
                                       method="filter_action")
    object_type = django_filters.CharFilter(field_name="object_type")
    object_id = django_filters.NumberFilter(field_name="object_id")
    asset = AssetIdFilter(method="filter_asset", help_text="entries that touched this asset (its id)")
    since = DateTimeFilter(field_name="at", lookup_expr="gte")
    until = DateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEntry
        fields = ["actor", "action", "object_type", "object_id", "asset", "since", "until"]

    def filter_action(self, queryset, name, value):
        return queryset.filter(action__startswith=value) if value.endswith(".") else queryset.filter(action=value)

    def filter_asset(self, queryset, name, value):
        return queryset.filter(asset_ids__contains=[value])


class AuditViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = AuditEntry.objects.all()
    serializer_class = AuditEntrySerializer
    filterset_class = AuditFilter
    permission_classes = [IsSuperuser]
