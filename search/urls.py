from django.urls import path

from search.api import SearchView, SimilarView

urlpatterns = [
    path("api/v1/search/", SearchView.as_view(), name="api-search"),
    path("api/v1/assets/<int:pk>/similar/", SimilarView.as_view(), name="api-similar"),
]
