from django.urls import path

from assets.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.library, name="library"),
]
