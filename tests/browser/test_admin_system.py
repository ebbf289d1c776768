"""The admin system page in a real browser: reached from the admin, it shows the services, the suite's real
worker and its queues, a failed asset with its error, and its retry button sends it back to the worker."""

import os
import socket

import pytest
from playwright.sync_api import expect

from assets.models import Asset, Status
from tests.conftest import wait_for, worker_idle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.browser]

PROCESSING_TIMEOUT_MS = 90_000
ERROR = "processing failed: decoder crashed (deliberately, by the test)"


def test_admin_sees_the_system_and_retries_a_failed_asset(page, uploaded, alice, admin_user, login, shot):
    fine, broken = uploaded(alice, "jpg/Canon_40D.jpg", "jpg/Pentax_K10D.jpg")
    # As a crashed decoder would have left it.
    Asset.objects.filter(pk=broken.pk).update(status=Status.FAILED, error=ERROR)
    # Ready is not the end of the pipeline: analysis and embedding follow. The queue rows below are
    # read from a page loaded once, so the worker must have finished before it loads.
    wait_for(worker_idle, timeout=120, interval=0.2)

    login(page, admin_user)
    page.goto("/admin/")
    expect(page.get_by_test_id("admin-index-system")).to_be_visible()
    page.get_by_test_id("admin-nav-system").click()  # the link in the admin's header
    page.wait_for_url("**/admin/system/")
    expect(page.get_by_role("heading", name="System", level=1)).to_be_visible()

    services = page.get_by_test_id("system-services")
    expect(services.get_by_test_id("system-database")).to_contain_text("up")
    expect(services.get_by_test_id("system-database")).to_contain_text("pgvector")
    expect(services.get_by_test_id("system-broker")).to_contain_text("up")
    # Readable: "up" in a real text colour (not the pale success background), paths wrapped in their cell.
    up = services.get_by_test_id("system-database").locator(".system-ok")
    expect(up).to_have_css("color", "rgb(46, 125, 50)")
    assert services.evaluate("e => e.scrollWidth <= e.clientWidth"), "the services table overflows its box"

    worker = f"test-{os.getpid()}@{socket.gethostname()}"
    workers = page.get_by_test_id("system-workers")
    expect(workers.get_by_test_id("system-worker").filter(has_text=worker)).to_contain_text("ingest")
    expect(page.get_by_test_id("system-workers-none")).to_have_count(0)
    for queue in ("ingest", "analyse", "embed", "realtime"):
        row = page.get_by_test_id(f"system-queue-{queue}")
        expect(row).to_have_attribute("data-depth", "0")  # the worker is idle: nothing waiting
        expect(row.get_by_role("cell").last).to_have_text("1")  # one worker consumes it
    expect(page.get_by_test_id("system-assets-status")).to_contain_text("failed: 1")
    expect(page.get_by_test_id("system-models").get_by_test_id("system-model-text")).to_be_visible()

    failures = page.get_by_test_id("system-failure")
    expect(failures).to_have_count(1)
    failure = failures.first
    expect(failure).to_have_attribute("data-asset-id", str(broken.pk))
    expect(failure).to_contain_text(str(broken))
    expect(failure.get_by_test_id("failure-error")).to_have_text(ERROR)
    retry = failure.get_by_role("button", name=f"Retry ingest of {broken}")
    expect(retry).to_be_visible()
    expect(page.get_by_test_id("retry-all-failed")).to_have_text("Retry all 1 failed")
    shot(page, "admin-system")

    retry.click()
    expect(page.locator("ul.messagelist")).to_contain_text(f"Retrying ingest of “{broken}”.")
    expect(page.get_by_test_id("system-failures-none")).to_be_visible()
    expect(page.get_by_test_id("system-failure")).to_have_count(0)

    # The real worker redoes it: its portal page follows it back to ready, with the error gone.
    page.goto(f"/assets/{broken.pk}/")
    expect(page.locator(".asset__badges .badge").first).to_have_text("Ready", timeout=PROCESSING_TIMEOUT_MS)
    expect(page.get_by_role("alert")).to_have_count(0)
    page.goto("/admin/system/")
    expect(page.get_by_test_id("system-assets-status")).not_to_contain_text("failed")
    assert Asset.objects.get(pk=fine.pk).status == Status.READY
