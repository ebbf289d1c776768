from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from assets.api.audit import AuditViewSet
from assets.api.views import AssetViewSet, TrashViewSet

app_name = "api"

router = DefaultRouter()
router.register("assets", AssetViewSet, basename="asset")
router.register("trash", TrashViewSet, basename="trash")
router.register("audit", AuditViewSet, basename="audit")

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="token"),
    path("", include(router.urls)),
]
