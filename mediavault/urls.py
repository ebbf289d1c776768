from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("", include("workers.urls")),
    path("admin/system/", include("workers.admin_urls")),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include("assets.api.docs_urls")),
    path("", include("search.urls")),
    path("api/v1/", include("assets.api.urls")),
    path("", include("search.portal_urls")),
    path("", include("assets.portal.urls")),
]
