"""Browser-test fixtures: headless Chromium (Debian's package, driven by Playwright's sync API)
against pytest-django's live server, with the suite's real Celery worker on the same test database.

Use them in a test like this:

    pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

    def test_something(page, live_server, celery_worker, alice, login, shot):
        login(page, alice)                      # through the real login form
        page.goto("/upload/")                   # paths are relative to the live server
        expect(page.get_by_role("heading", name="Upload")).to_be_visible()
        shot(page, "upload")                    # var/screenshots/upload.png, overwritten every run

- `browser` (session): one Chromium for the whole run; the tests FAIL (never skip) without it.
- `context` / `page` (function): a fresh context per test (own cookies and storage), base URL set to
  the live server, default timeouts of a few seconds (Playwright's `expect` waits, never sleep).
- `new_page()` (function): another signed-out page in its own context, for a second user in the same
  test (e.g. `bob_page = new_page(); login(bob_page, bob)`).
- `login(page, user, password=None)`: signs in through /accounts/login/; the suite's users have the
  password "<username>-pw" (alice-pw, admin-pw, ...).
- `shot(page, name)`: a full-page PNG under var/screenshots/ (git-ignored).
- `uploaded(user, *samples, **options)`: assets made the quick way (the upload service, not the
  browser) from files under ../shared/data/exif-samples, processed by the real worker until ready;
  options are `AssetOptions` fields (tags=[...], team=..., visibility=...). It needs the worker, so it
  brings `celery_worker` along.
- `celery_worker` (tests/conftest.py): request it in tests whose pages wait for processing; the
  live server's data is committed (transactional database), so the worker sees it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = Path(os.environ.get("MEDIAVAULT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
TIMEOUT_MS = 10_000  # a step that takes longer is a failure, not slowness (the worker waits set their own)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: the browser tests need Debian's packages "
            "(`apt-get install chromium chromium-driver`, as .ci/run does) or MEDIAVAULT_CHROMIUM set "
            "to a Chromium binary.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread, which Django's
    # async-safety check mistakes for async code around every ORM call the tests make.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    except Exception as error:
        playwright.stop()
        pytest.fail(f"Chromium at {CHROMIUM} did not start: {error}", pytrace=False)
    yield chromium
    chromium.close()
    playwright.stop()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser, live_server):
    """new_page() -> a page in a fresh browser context (no cookies), its base URL the live server."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    contexts = []
    errors: list[str] = []  # a script error on any page is a bug: the test fails on it

    def make():
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors on the pages: {errors}"


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def context(page):
    return page.context


@pytest.fixture
def login():
    def sign_in(page, user, password: str | None = None):
        from playwright.sync_api import expect

        username = user.get_username()
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password or f"{username}-pw")
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        if "/accounts/login/" in page.url:
            alert = page.get_by_role("alert")
            reason = alert.first.inner_text() if alert.count() else "no error shown"
            pytest.fail(f"login as {username} failed: {reason}", pytrace=False)
        expect(page.get_by_role("banner")).to_contain_text(username)
        return page

    return sign_in


@pytest.fixture
def uploaded(celery_worker):
    from assets import actions
    from assets.models import Asset, Status
    from tests.conftest import sample, wait_for

    def upload(user, *samples: str, **options) -> list[Asset]:
        ids = []
        for relative in samples:
            path = sample(relative)
            with path.open("rb") as stream:
                result = actions.upload_asset(user, stream, path.name, actions.AssetOptions(**options))
            assert result.status == "created", f"{relative}: {result.status} {result.reason}"
            ids.append(result.asset.pk)

        def done():
            assets = list(Asset.objects.filter(pk__in=ids))
            return all(a.status in (Status.READY, Status.FAILED) for a in assets) and assets

        wait_for(done, timeout=90, interval=0.2)
        assets = sorted(Asset.objects.filter(pk__in=ids), key=lambda a: ids.index(a.pk))
        assert all(a.status == Status.READY for a in assets), [(a.original_filename, a.error) for a in assets]
        return assets

    return upload


@pytest.fixture
def shot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.evaluate("window.scrollTo(0, 0)")  # else the sticky header lands mid-page in a full-page shot
        # A viewport as tall as the page puts sticky-bottom bars (the grid's bulk bar) where they end up
        # after scrolling down, instead of over the cards at the first screen's bottom edge.
        viewport = page.viewport_size
        height = page.evaluate("document.documentElement.scrollHeight")
        if viewport and height > viewport["height"]:
            page.set_viewport_size({"width": viewport["width"], "height": height})
        try:
            page.screenshot(path=str(path), full_page=True, animations="disabled")
        finally:
            if viewport:
                page.set_viewport_size(viewport)
        return path

    return save
