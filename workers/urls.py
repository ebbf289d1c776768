from django.urls import path

from workers.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
]
