import django_filters

from assets.models import Asset, EmbeddingKind, EmbeddingStatus, Status


class AssetFilter(django_filters.FilterSet):
    owner = django_filters.CharFilter(field_name="owner__username")
    team = django_filters.CharFilter(field_name="team__slug")
    tag = django_filters.CharFilter(method="filter_tag")
    media_type = django_filters.CharFilter(field_name="media_type")
    mime_type = django_filters.CharFilter(field_name="mime_type")
    status = django_filters.ChoiceFilter(choices=Status.choices)
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    taken_after = django_filters.IsoDateTimeFilter(field_name="taken_at", lookup_expr="gte")
    taken_before = django_filters.IsoDateTimeFilter(field_name="taken_at", lookup_expr="lt")
    embedding_status = django_filters.ChoiceFilter(choices=EmbeddingStatus.choices)
    missing_embedding = django_filters.ChoiceFilter(
        choices=EmbeddingKind.choices, method="filter_missing", help_text="no vector of this kind from the active model"
    )

    class Meta:
        model = Asset
        fields = ["owner", "team", "tag", "media_type", "mime_type", "status"]

    def filter_missing(self, queryset, name, value):
        return queryset.missing_embedding(value)

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tags__contains=[value.strip().lower()])
