"""Schemathesis against the API's own OpenAPI schema: every operation, with examples, boundary values
(coverage phase) and random requests, valid and invalid; no answer may be a server error (5xx).
Responses that do not match the schema are reported as SchemaMismatch warnings, not failures.

Everything runs in-process on the test database. The schema is the one /api/schema/ serves (drf-spectacular's
generator, checked equal below), built at import so that each operation becomes a test of its own. Requests
go through a WSGI application that hands them to Django's test handler (as django.test.Client does) on this
thread's connection, signed in with an API token of a staff user. Each request runs in a savepoint that is
rolled back afterwards, so every example meets the same seed (processed uploads of alice's and charlie's, one
in alice's trash) and no request spoils the next (a database error, a revoked token, a purged asset).

Bounded for CI: a fixed seed, derandomized, a few random examples per operation, no shrinking.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import traceback
import warnings
import zlib

import hypothesis
import pytest
import schemathesis
from django.core.signals import got_request_exception
from django.db import transaction
from django.test.client import ClientHandler
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck
from PIL import Image
from rest_framework.authtoken.models import Token
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from assets import actions
from assets.actions import pipeline
from assets.models import ActiveModel, Asset, AuditEntry, Embedding, Visibility
from search import service
from workers.client import QueryVector, RerankScores

pytestmark = pytest.mark.django_db

SEED = 20240501
MAX_EXAMPLES = 15
# Operations that would remove the shared seed or the caller's token: fuzzed in tests of their own, last.
DESTRUCTIVE = [
    ("DELETE", "/api/v1/assets/{id}/"),
    ("DELETE", "/api/v1/trash/{id}/"),
    ("POST", "/api/v1/trash/purge/"),
    ("DELETE", "/api/v1/auth/tokens/"),
]
AUDIT = "^/api/v1/audit/"  # superusers only: fuzzed as the admin
VECTOR_DIM = 8


def _served_schema() -> dict:
    """What /api/schema/ serves (the same generator and renderer), as plain JSON data."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated, renderer_context={}))


# Values that are valid by the schema's types but that PostgreSQL refuses (a NUL character in text, integers
# beyond bigint): random generation rarely draws them, so a share of the strings and numbers comes from here.
EDGE_VALUES = {
    "text": ["\x00", "tag\x00", "studio\x00", "a\x00b,c"],
    "integers": [2**63, -(2**63) - 1, 10**30, 0, -1],
    "numbers": [1e30, -1e30, 9.3e18, 1.5, -0.0],
}
BODY_TEXT_FIELDS = ["title", "description", "caption", "team", "q", "instruction", "username", "password"]
CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {
        "max-examples": MAX_EXAMPLES, "no-shrink": True, "deterministic": True, "database": "none",
        "dictionaries": {kind: {"dictionary": name, "probability": 0.2}
                         for kind, name in (("string", "text"), ("integer", "integers"), ("number", "numbers"))},
    },
    "dictionaries": {name: {"values": values} for name, values in EDGE_VALUES.items()},
    # Type-wide dictionaries reach parameters (query, path); body fields are bound by name.
    "parameters": {
        **{f"body.{field}": {"dictionary": "text", "probability": 0.2} for field in BODY_TEXT_FIELDS},
        "body.tags[*]": {"dictionary": "text", "probability": 0.2},
        "body.ids[*]": {"dictionary": "integers", "probability": 0.2},
    },
})
SCHEMA = schemathesis.openapi.from_dict(_served_schema(), config=CONFIG)
everyday = SCHEMA.exclude(path_regex=AUDIT)
for _method, _path in DESTRUCTIVE:
    everyday = everyday.exclude(method=_method, path=_path)
audit_log = SCHEMA.include(path_regex=AUDIT)
destructive = SCHEMA.include(lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in DESTRUCTIVE)


# The fixtures (seed, token, app) are made once per operation and shared by its examples, on purpose: each
# request is rolled back, so every example meets them as they were made.
FIXTURES_ONCE = hypothesis.settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


class SchemaMismatch(UserWarning):
    """A response that does not match the API schema (reported, not failed)."""


class InProcessApp:
    """WSGI in front of Django's test handler: each request in a savepoint rolled back afterwards, on this
    thread's connection to the test database. Unhandled exceptions are kept for the failure report."""

    def __init__(self):
        self.handler = ClientHandler(enforce_csrf_checks=True)
        self.exceptions: list[str] = []

    def note_exception(self, sender, request=None, **kwargs) -> None:
        self.exceptions.append(traceback.format_exc())

    def __call__(self, environ, start_response):
        with transaction.atomic():
            response = self.handler(environ)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            transaction.set_rollback(True)
        cookies = [("Set-Cookie", cookie.output(header="").strip()) for cookie in response.cookies.values()]
        start_response(f"{response.status_code} {response.reason_phrase}", [*response.items(), *cookies])
        return [body]


def _vector(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return [1.0 + b / 255 for b in digest[:VECTOR_DIM]]


class FakeEncoder:
    """Query-time inference without a worker: deterministic vectors of the seed's models, so the vector
    statements run for real and no request waits for a timeout."""

    def text(self, query, kind):
        return QueryVector(f"fuzz-{kind}", _vector(f"{kind}:{query}"))

    def image(self, data, kind="image"):
        return QueryVector(f"fuzz-{kind}", _vector(repr(data[:64])))

    def rerank(self, query, documents, instruction, pictures=None):
        return RerankScores("fuzz-rerank", [float(len(d) % 7) for d in documents])


def _jpeg(n: int, size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (40 * n % 256, 90, 160)).save(buffer, format="JPEG", comment=f"fuzz-{n}".encode())
    return buffer.getvalue()


def _processed(owner, n: int, **options) -> Asset:
    """An upload through the real action, then ingested as a worker reports it (metadata, a thumbnail,
    vectors), with thumbnails made here: the seed does not depend on the imaging code."""
    name = f"fuzz_{n}.jpg"
    asset = actions.upload_asset(owner, io.BytesIO(_jpeg(n)), name, actions.AssetOptions(**options)).asset
    claim = pipeline.claim_ingest(asset.pk)
    fields = {"width": 64, "height": 48, "exif": {"make": "FuzzCam", "taken_at": "2024-05-01T12:00:00"},
              "camera_make": "FuzzCam", "taken_at": dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC),
              "gps_latitude": 59.91 + n, "gps_longitude": 10.75}
    thumbnail = pipeline.RenditionData("max256", _jpeg(n, (32, 24)), 32, 24)
    assert pipeline.finish_ingest(claim, pipeline.IngestResult(fields, [thumbnail]))
    for kind in ("image", "text"):
        vector = _vector(f"seed-{n}-{kind}")
        Embedding.objects.create(asset=asset, kind=kind, model_id=f"fuzz-{kind}", dim=VECTOR_DIM, vector=vector)
    return asset


@pytest.fixture
def seed(alice, bob, charlie, team):
    for kind in ("image", "text"):
        ActiveModel.objects.create(kind=kind, available=True, model_id=f"fuzz-{kind}", dim=VECTOR_DIM)
    assets = {
        "private": _processed(alice, 1, title="red kayak", tags=["lake", "2024"]),
        "team": _processed(alice, 2, description="kayak race", visibility=Visibility.TEAM, team=team),
        "charlies": _processed(charlie, 3, title="newsroom desk", visibility=Visibility.ORGANISATION),
        "trashed": _processed(alice, 4, title="old kayak"),
    }
    actions.trash(alice, [assets["trashed"].pk])
    return assets


@pytest.fixture
def app(monkeypatch, caplog):
    monkeypatch.setattr(service, "Encoder", FakeEncoder)
    caplog.set_level("ERROR", logger="django.request")  # 4xx are expected by the hundred; 5xx stay logged
    caplog.set_level("ERROR", logger="axes")
    app = InProcessApp()
    got_request_exception.connect(app.note_exception)
    yield app
    got_request_exception.disconnect(app.note_exception)


def _seed_ids(case, seed) -> None:
    """Every other case meets a seed row instead of a generated id (which is almost never one)."""
    if "id" not in (case.path_parameters or {}) or zlib.crc32(repr(case.path_parameters).encode()) % 2:
        return
    path = case.operation.path
    if path.startswith("/api/v1/trash/"):
        case.path_parameters["id"] = seed["trashed"].pk
    elif path.startswith("/api/v1/audit/"):
        case.path_parameters["id"] = AuditEntry.objects.order_by("pk").values_list("pk", flat=True).first()
    else:
        case.path_parameters["id"] = seed["private"].pk
        if "spec" in case.path_parameters:
            case.path_parameters["spec"] = "max256"


def _check(case, app: InProcessApp, key: str) -> None:
    headers = {"Authorization": f"Token {key}"}
    app.exceptions.clear()
    response = case.call(app=app, headers=headers)
    try:
        case.validate_response(response, checks=[schemathesis.checks.not_a_server_error], headers=headers)
    except FailureGroup as exc:
        raise AssertionError(f"{exc}\nOn the server:\n{''.join(app.exceptions)}") from None
    conformance = [content_type_conformance, response_schema_conformance]
    if response.status_code < 400:  # error answers are not documented (drf-spectacular lists successes)
        conformance.append(status_code_conformance)
    for check in conformance:
        try:
            case.validate_response(response, checks=[check], headers=headers)
        except FailureGroup as exc:
            warnings.warn(SchemaMismatch(f"{case.operation.label}: {exc}"), stacklevel=1)


def _token(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


@everyday.parametrize()
@FIXTURES_ONCE
def test_api_answers_no_server_error(case, seed, alice, app):
    """Every operation except the destructive ones and the superusers' audit log, as staff (alice)."""
    _seed_ids(case, seed)
    _check(case, app, _token(alice))


@audit_log.parametrize()
@FIXTURES_ONCE
def test_audit_log_answers_no_server_error(case, seed, admin_user, app):
    _seed_ids(case, seed)
    _check(case, app, _token(admin_user))


@destructive.parametrize()
@FIXTURES_ONCE
def test_destructive_operations_answer_no_server_error(case, seed, alice, app):
    """Last, each against a seed of its own (and every request is rolled back: the next one meets it whole)."""
    _seed_ids(case, seed)
    key = _token(alice)
    _check(case, app, key)
    assert Token.objects.filter(key=key).exists() and Asset.objects.filter(pk=seed["private"].pk).exists()


def test_the_fuzzed_schema_is_the_one_the_api_serves(alice, client_for):
    served = client_for(alice).get("/api/schema/", {"format": "json"})
    assert served.status_code == 200
    assert served.json() == SCHEMA.raw_schema
    labels = {f"{op.ok().method.upper()} {op.ok().path}" for op in SCHEMA.get_all_operations()}
    assert {f"{method} {path}" for method, path in DESTRUCTIVE} <= labels and len(labels) == 25
    assert "GET /api/v1/assets/{id}/play/" in labels


def test_a_server_error_fails_the_check(seed, alice, app, monkeypatch):
    """The harness itself: an exception in a view is reported, with its traceback."""
    from assets.api.views import AssetViewSet

    def broken(self, request, *args, **kwargs):
        raise RuntimeError("deliberately broken")

    monkeypatch.setattr(AssetViewSet, "list", broken)
    case = SCHEMA["/api/v1/assets/"]["GET"].Case()
    with pytest.raises(AssertionError, match="(?s)Server error.*deliberately broken"):
        _check(case, app, _token(alice))
