"""A member of staff in a real browser: upload, watch processing, search, filter, edit; an
administrator reprocesses from the admin console. Live server + real worker + headless Chromium."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.browser]

# Three real camera JPEGs with EXIF (the Nikon one also carries GPS).
PHOTOS = ["jpg/Canon_40D.jpg", "jpg/Nikon_D70.jpg", "jpg/gps/DSCN0010.jpg"]
PROCESSING_TIMEOUT_MS = 90_000  # ingest then embed on a shared, busy machine


def throttle_upload(page, bytes_per_second: int | None):
    """Slow the browser's uploads (Chromium network emulation), or lift the limit with None."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second if bytes_per_second else -1,
        },
    )
    return cdp


def test_upload_watch_ready_search_filter_and_edit(page, celery_worker, alice, login, shot):
    from tests.conftest import sample

    login(page, alice)
    shot(page, "library-empty")

    # --- Upload three photos through the file input, with per-file and overall progress ------
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Upload").click()
    page.wait_for_url("**/upload/")  # waits for the load event: the page's scripts are in place
    expect(page.get_by_role("heading", name="Upload", level=1)).to_be_visible()
    page.get_by_label(re.compile("^Files")).set_input_files([sample(p) for p in PHOTOS])
    chosen = page.get_by_role("list", name="Selected files")
    for path in PHOTOS:
        name = path.rsplit("/", 1)[-1]
        expect(chosen).to_contain_text(name)
        expect(page.get_by_role("progressbar", name=f"Transfer of {name}")).to_be_attached()
    expect(chosen).to_contain_text("3 files")
    expect(page.get_by_test_id("upload-overall").locator("progress")).to_be_visible()  # laid out, not 0 px wide
    page.get_by_label("Tags").fill("cameras, samples")
    shot(page, "upload")

    page.evaluate("window.__notReloaded = true")  # gone if anything below reloads the page
    throttle_upload(page, 96 * 1024)  # ~180 KB in about two seconds: long enough to see it move
    page.get_by_role("button", name="Upload").click()
    status = page.get_by_role("status").filter(has_text="Sending")
    expect(status).to_have_text(re.compile(r"Sending… \d+%"))
    shot(page, "upload-progress")
    expect(page.locator("progress[aria-label^='Transfer of']").first).not_to_have_js_property("value", 0)
    throttle_upload(page, None)

    # --- Each file's row follows its asset's processing live, without a reload ---------------
    expect(page.get_by_test_id("upload-status")).to_have_text("3 uploaded · 0 duplicates · 0 rejected", timeout=30_000)
    shot(page, "upload-results-processing")
    for path in PHOTOS:
        name = path.rsplit("/", 1)[-1]
        row = page.get_by_test_id("upload-file").filter(has=page.get_by_role("link", name=name))
        expect(row.get_by_role("progressbar")).to_have_js_property("value", 100)
        expect(row.get_by_test_id("processing-status")).to_have_text("Ready", timeout=PROCESSING_TIMEOUT_MS)
    expect(page.get_by_text("3 of 3 ready · processing finished.")).to_be_visible()
    expect(page.get_by_test_id("upload-overall").locator("progress")).to_have_js_property("value", 100)
    assert page.evaluate("window.__notReloaded") is True, "the page was reloaded"
    shot(page, "upload-results-ready")

    # The library shows them, ready, with thumbnails.
    page.get_by_role("link", name="Go to library").click()
    cards = page.locator(".card")
    expect(cards).to_have_count(3)
    expect(cards.locator(".badge", has_text="Ready")).to_have_count(3)
    expect(cards.locator(".card__thumb img")).to_have_count(3)
    shot(page, "library")

    # --- Search from the header box by a part of a file name, with an explanation -------------
    page.get_by_role("searchbox", name="Search assets").fill("D70")
    page.get_by_role("searchbox", name="Search assets").press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q=D70"))
    expect(page.get_by_role("heading", name="Search", level=1)).to_be_visible()
    results = page.get_by_role("list", name="Results")
    first = results.locator(".search-result").first
    expect(first.locator(".card__title")).to_have_text("Nikon_D70")
    first.get_by_text("Why this result").click()
    explanation = first.get_by_role("table", name="How “Nikon_D70” was ranked")
    expect(explanation).to_be_visible()
    # "D70" is a camera code: matched as an identifier, ahead of any looser signal.
    expect(explanation.get_by_role("row", name=re.compile("Exact identifier"))).to_contain_text("#1")
    expect(explanation.get_by_role("row", name=re.compile("Fused"))).to_be_visible()
    shot(page, "search")

    # Filters: keyword mode and "Ready" keep the match; "Failed" leaves nothing, and says so.
    # Choosing a mode re-runs the search at once.
    page.get_by_role("group", name="Mode").get_by_text("Keyword", exact=True).click()
    expect(page).to_have_url(re.compile(r"mode=keyword"))
    page.get_by_label("Status").select_option(label="Ready")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"status=ready"))
    expect(page.get_by_text("Filtered", exact=True)).to_be_visible()
    expect(results.locator(".card__title")).to_have_text(["Nikon_D70"])
    page.get_by_label("Status").select_option(label="Failed")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name="No matching assets")).to_be_visible()
    expect(page.get_by_text("Nothing you can see matches “D70” with these filters.")).to_be_visible()
    shot(page, "search-filtered-empty")
    page.get_by_role("link", name="Clear filters").click()
    expect(results.locator(".card__title").first).to_have_text("Nikon_D70")

    # --- Open the asset, edit its title, see it after a reload ---------------------------------
    results.get_by_role("link", name=re.compile("Nikon_D70")).first.click()
    expect(page.get_by_role("heading", name="Nikon_D70", level=1)).to_be_visible()
    expect(page.get_by_role("img", name="Preview of Nikon_D70")).to_be_visible()
    expect(page.get_by_role("region", name="Camera")).to_contain_text("NIKON")
    shot(page, "asset")
    page.get_by_label("Title").fill("Nikon D70 test shot")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", name="Nikon D70 test shot", level=1)).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Nikon D70 test shot", level=1)).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Nikon D70 test shot")


def test_upload_of_a_big_batch_sends_three_at_a_time_and_reports_each_file(
    page, celery_worker, alice, login, shot, tmp_path
):
    """40 files in one pick: one request per file, never more than three in flight; a file that is
    no image is rejected with the reason and one whose connection drops is marked failed, while the
    others upload and are processed; the failed one goes through on retry; one status request per
    round follows all of them."""
    from PIL import Image

    paths = []
    for i in range(39):  # distinct colours: distinct bytes, no duplicates
        path = tmp_path / f"batch-{i:02d}.jpg"
        Image.new("RGB", (48, 32), ((i * 37) % 256, (i * 91) % 256, (i * 53 + 100) % 256)).save(path, "JPEG")
        paths.append(path)
    bad = tmp_path / "not-a-photo.jpg"
    bad.write_bytes(b"plain text that only pretends to be a photo\n" * 20)
    paths.insert(17, bad)

    in_flight = {"/upload/": set(), "/assets/status/": set()}
    most = {"/upload/": 0, "/assets/status/": 0}
    sent = {"/upload/": 0, "/assets/status/": 0}

    def tracked(request):
        path = request.url.split("://", 1)[-1].partition("/")[2].partition("?")[0]
        key = "/" + path
        wanted = {"POST": "/upload/", "GET": "/assets/status/"}.get(request.method)
        return key if key == wanted else None

    def started(request):
        if key := tracked(request):
            in_flight[key].add(request)
            sent[key] += 1
            most[key] = max(most[key], len(in_flight[key]))

    def ended(request):
        if key := tracked(request):
            in_flight[key].discard(request)  # once, whichever of its end events comes first

    login(page, alice)
    page.goto("/upload/")
    # A request is in flight from the moment the browser sends it until its answer arrives; the
    # page may send the next one only after that (its "load"), so "response" (headers in) ends it:
    # "requestfinished" can reach us after the next request's event, counting one too many.
    page.on("request", started)
    page.on("response", lambda response: ended(response.request))
    page.on("requestfailed", ended)
    dropped = []

    def drop_first_try_of_one_file(route):
        # The connection breaks once under one file's request (the browser's own network error).
        if not dropped and b'filename="batch-05.jpg"' in (route.request.post_data_buffer or b""):
            dropped.append(route.request)
            ended(route.request)  # its end, before the page hears of it and sends the next one
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/upload/", drop_first_try_of_one_file)
    page.get_by_label(re.compile("^Files")).set_input_files(paths)
    rows = page.get_by_test_id("upload-file")
    expect(rows).to_have_count(40)
    page.get_by_role("button", name="Upload").click()

    status = page.get_by_test_id("upload-status")
    expect(status).to_have_text("38 uploaded · 0 duplicates · 1 rejected · 1 failed (retry them below)", timeout=30_000)
    failed = rows.filter(has_text="batch-05.jpg")
    expect(failed).to_contain_text("The connection was interrupted.")
    expect(rows.and_(page.locator("[data-state='done']"))).to_have_count(39)
    failed.get_by_role("button", name="Retry batch-05.jpg").click()
    expect(status).to_have_text("39 uploaded · 0 duplicates · 1 rejected")
    expect(rows.and_(page.locator("[data-state='done']"))).to_have_count(40)
    rejected = rows.filter(has_text="not-a-photo.jpg")
    expect(rejected.locator(".badge", has_text="Rejected")).to_be_visible()
    expect(rejected).to_contain_text("unsupported file type")
    expect(rejected.get_by_test_id("processing-status")).to_have_count(0)
    expect(page.get_by_test_id("processing-status")).to_have_count(39)
    expect(page.get_by_test_id("upload-overall").locator("progress")).to_have_js_property("value", 100)
    shot(page, "upload-batch")

    # Every other row is a new asset whose processing finishes, followed live.
    expect(page.get_by_text("39 of 39 ready · processing finished.")).to_be_visible(timeout=PROCESSING_TIMEOUT_MS)
    expect(page.get_by_test_id("processing-status").filter(has_text="Ready")).to_have_count(39)
    expect(page.get_by_role("link", name="Go to library")).to_be_visible()

    assert len(dropped) == 1 and sent["/upload/"] == 41, sent  # 40 files, one of them twice
    assert most["/upload/"] <= 3, f"{most['/upload/']} uploads were in flight at once"
    assert most["/upload/"] >= 2, "the uploads were not sent side by side"
    assert most["/assets/status/"] == 1, f"{most['/assets/status/']} status requests were in flight at once"

    from assets.models import Asset

    assert Asset.objects.filter(owner=alice).count() == 39


def test_admin_reprocesses_an_asset_from_the_asset_list(page, uploaded, alice, admin_user, login, shot):
    photo, _ = uploaded(alice, "jpg/Pentax_K10D.jpg", "jpg/Canon_40D.jpg")

    login(page, admin_user)
    page.goto("/admin/assets/asset/")
    expect(page.get_by_role("heading", name=re.compile("Select asset to change"))).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=str(photo)))
    expect(row).to_contain_text("Ready")
    shot(page, "admin-assets")

    row.get_by_role("checkbox").check()
    page.get_by_label("Action:").select_option(label="Reprocess selected assets")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_text("Queued 1 asset(s) for reprocessing.")).to_be_visible()
    shot(page, "admin-assets-reprocess")

    # The worker redoes it: the asset page follows it back to ready by itself.
    page.goto(f"/assets/{photo.pk}/")
    expect(page.locator(".asset__badges .badge").first).to_have_text("Ready", timeout=PROCESSING_TIMEOUT_MS)
    expect(page.get_by_role("region", name="Camera")).to_contain_text("PENTAX")
