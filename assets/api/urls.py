from django.urls import include, path
from rest_framework.routers import DefaultRouter

from accounts.tokens import ObtainTokenView, TokenListView
from assets.api.audit import AuditViewSet
from assets.api.views import AssetViewSet, TrashViewSet

app_name = "api"

router = DefaultRouter()
router.register("assets", AssetViewSet, basename="asset")
router.register("trash", TrashViewSet, basename="trash")
router.register("audit", AuditViewSet, basename="audit")

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="token"),
    path("auth/tokens/", TokenListView.as_view(), name="tokens"),
    path("", include(router.urls)),
]
