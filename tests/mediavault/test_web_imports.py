"""Web processes never import torch, transformers or open_clip: inference belongs to workers."""

import json
import subprocess
import sys

from django.conf import settings

from tests.conftest import service_env

PROBE = """
import json, sys
from mediavault.wsgi import application
from django.test import Client
from django.urls import get_resolver
get_resolver().url_patterns  # import every view module
c = Client()
codes = [c.get(u).status_code for u in ("/healthz", "/api/v1/assets/", "/api/schema/", "/accounts/login/")]
heavy = sorted(m for m in ("torch", "transformers", "open_clip", "sentence_transformers") if m in sys.modules)
print(json.dumps({"codes": codes, "heavy": heavy}))
"""


def test_the_web_app_serves_requests_without_importing_inference_libraries(django_db_setup):
    # The suite's own database and broker (never the developer's var/), and no bytecode in the tree. The API
    # schema is for staff by default; public here, so that the anonymous probe still makes drf-spectacular
    # walk every API view (what would import an inference library if any view did).
    env = {**service_env(), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", "MEDIAVAULT_PUBLIC_API_DOCS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["codes"][2] == 200 and result["codes"][3] == 200
    assert result["heavy"] == []
