from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from assets.api.views import AssetViewSet

app_name = "api"

router = DefaultRouter()
router.register("assets", AssetViewSet, basename="asset")

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="token"),
    path("", include(router.urls)),
]
