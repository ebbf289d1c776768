"""`manage.py check --deploy` passes with production settings: DEBUG off, a real secret key and the HTTPS
switches on (as docker-compose.yml sets them), while `make run` on plain http keeps them off."""

from __future__ import annotations

import secrets
import subprocess
import sys

import yaml
from django.conf import settings

from tests.conftest import service_env

HTTPS_WARNINGS = ("security.W004", "security.W008", "security.W012", "security.W016")
PRODUCTION = {
    "MEDIAVAULT_SECURE_SSL_REDIRECT": "1",
    "MEDIAVAULT_HSTS_SECONDS": "31536000",
    "MEDIAVAULT_HSTS_INCLUDE_SUBDOMAINS": "1",
    "MEDIAVAULT_HSTS_PRELOAD": "1",
    "MEDIAVAULT_SECURE_COOKIES": "1",
    "MEDIAVAULT_TRUST_PROXY_HEADERS": "1",
}


def check_deploy(extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {
        **service_env(),  # the suite's database and broker: nothing embedded is started
        "DJANGO_SETTINGS_MODULE": "mediavault.settings",
        "PATH": "/usr/bin:/bin",
        "PYTHONDONTWRITEBYTECODE": "1",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        **extra,
    }
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env=env,
                          cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120)


def test_check_deploy_passes_with_the_production_switches(django_db_setup):
    result = check_deploy(PRODUCTION)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert not [code for code in HTTPS_WARNINGS if code in output]
    assert "no issues" in output


def test_the_switches_are_off_by_default_and_on_in_docker_compose(django_db_setup):
    result = check_deploy({})
    output = result.stdout + result.stderr
    assert result.returncode != 0 and all(code in output for code in HTTPS_WARNINGS), output[-3000:]

    compose = yaml.safe_load((settings.BASE_DIR / "docker-compose.yml").read_text())
    environment = compose["x-app"]["environment"]
    for name, value in PRODUCTION.items():
        assert str(environment[name]) == value or (name == "MEDIAVAULT_HSTS_SECONDS" and int(environment[name]) > 0)


def test_the_production_topology_supervises_and_shields_every_service():
    """docker-compose.yml: every long-running service restarts on failure and has a health check;
    gunicorn is reachable only through the proxy, which limits slow and oversized requests and sets
    the forwarded headers itself (never appending what a client sent)."""
    compose = yaml.safe_load((settings.BASE_DIR / "docker-compose.yml").read_text())
    services = compose["services"]
    for name, service in services.items():
        if name == "migrate":
            assert service["restart"] == "no"  # a one-shot job
            continue
        assert service.get("restart") == "unless-stopped", name
        assert service.get("healthcheck", {}).get("test"), name
    assert "ports" not in services["web"] and services["proxy"]["ports"]
    assert services["beat"]["command"].count("beat") == 1 and "deploy" not in services["beat"]  # one scheduler
    nginx = (settings.BASE_DIR / "deploy" / "nginx.conf").read_text()
    for directive in ("client_header_timeout", "client_body_timeout", "client_max_body_size",
                      "proxy_request_buffering on", "proxy_set_header X-Forwarded-For $remote_addr"):
        assert directive in nginx, directive
    assert "$proxy_add_x_forwarded_for" not in nginx
