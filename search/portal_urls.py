"""Portal search pages, mounted at the site root: path("", include("search.portal_urls"))."""

from django.urls import path

from search import portal

app_name = "search"

urlpatterns = [
    path("search/", portal.search_page, name="search"),
    path("assets/<int:pk>/similar/", portal.similar, name="similar"),
]
