"""Video, audio and PDF through the same doors as photos: upload (sniffed, validated), ingest in
process (facts, thumbnails, frame strip, waveform, page previews, page text, a playable copy),
playback with byte ranges for those who may see the asset only, and search that names the page."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image, ImageStat

from assets import actions
from assets.models import Analysis, Asset, AuditEntry, Blob, MediaType, Rendition, Status, Visibility
from assets.processing import process_asset
from tests.av_files import audio_bytes, video_bytes
from tests.conftest import upload_bytes
from tests.pdf_files import pdf_bytes, scanned_pdf_bytes

pytestmark = pytest.mark.django_db

ORGANISATION = actions.AssetOptions(visibility=Visibility.ORGANISATION)
PRIVATE = actions.AssetOptions()


def ingested(user, data: bytes, name: str, options=PRIVATE) -> Asset:
    result = actions.upload_asset(user, upload_bytes(data, name), name, options)
    assert result.status == "created", result.reason
    process_asset(result.asset.pk)
    asset = Asset.objects.get(pk=result.asset.pk)
    assert asset.status == Status.READY, asset.error
    return asset


def specs(asset: Asset) -> set[str]:
    return set(Rendition.objects.filter(asset=asset).values_list("spec", flat=True))


def picture(asset: Asset, spec: str) -> Image.Image:
    rendition = Rendition.objects.get(asset=asset, spec=spec)
    with rendition.blob.open() as handle:
        return Image.open(io.BytesIO(handle.read())).convert("L")


# --- Video -----------------------------------------------------------------------------------


def test_an_mp4_gets_its_facts_a_poster_that_is_not_black_and_a_strip(alice):
    data = video_bytes("mp4", seconds=2.0, size=(160, 120), black_seconds=1.0,
                       metadata={"creation_time": "2019-07-14T10:30:00Z", "location": "+48.8584+002.2945/"})
    asset = ingested(alice, data, "clip.mp4")

    assert (asset.media_type, asset.mime_type) == (MediaType.VIDEO, "video/mp4")
    assert asset.duration == pytest.approx(2.0, abs=0.1)
    assert (asset.width, asset.height) == (160, 120)
    assert asset.media_info["video_codec"] == "h264" and asset.media_info["audio_codec"] == "aac"
    assert asset.taken_at.isoformat().startswith("2019-07-14T10:30")
    assert (asset.gps_latitude, asset.gps_longitude) == pytest.approx((48.8584, 2.2945))
    # An H.264/AAC MP4 plays in browsers as it is: no copy made.
    assert asset.media_info["plays_in_browsers"] is True
    strip = asset.media_info["frames"]
    assert [frame["spec"] for frame in strip] == [f"frame{i}" for i in range(len(strip))] and len(strip) == 8
    assert specs(asset) == {"max256", "max1024", *(frame["spec"] for frame in strip)}
    assert asset.media_info["poster_seconds"] > 1.0  # past the black opening
    assert ImageStat.Stat(picture(asset, "max256")).mean[0] > 30
    assert asset.picture_blob() == Rendition.objects.get(asset=asset, spec="max1024").blob


def test_a_video_that_browsers_cannot_play_gets_an_h264_copy_to_play(alice, api_for):
    # H.264 in Matroska: the codec plays, the container does not.
    asset = ingested(alice, video_bytes("mkv", audio_codec="libopus", seconds=1.0), "take.mkv")

    assert asset.media_info["plays_in_browsers"] is False
    proxy = Rendition.objects.get(asset=asset, spec="proxy")
    assert proxy.mime_type == "video/mp4" and proxy.width % 2 == 0
    assert asset.ingest_progress is None  # reset once done
    response = api_for(alice).get(f"/api/v1/assets/{asset.pk}/play/")
    assert response.status_code == 200 and response["Content-Type"] == "video/mp4"
    body = b"".join(response.streaming_content)
    assert body[4:8] == b"ftyp" and body.find(b"moov") < body.find(b"mdat")  # plays while it loads


def test_reprocessing_when_the_copy_is_no_longer_needed_removes_it(alice, settings):
    asset = ingested(alice, video_bytes("mkv", seconds=1.0), "take.mkv")
    proxy_blob = Rendition.objects.get(asset=asset, spec="proxy").blob_id
    settings.VIDEO_STRIP_FRAMES = 3
    actions.reprocess(alice, [asset.pk])
    process_asset(asset.pk)
    assert {"frame3", "frame7"}.isdisjoint(specs(asset)) and "frame2" in specs(asset)
    assert "proxy" in specs(asset)
    assert Blob.objects.filter(pk=proxy_blob).exists()  # same bytes, same blob


# --- Audio -----------------------------------------------------------------------------------


def test_an_mp3_gets_its_tags_a_waveform_and_no_picture_findings(alice):
    tags = {"title": "Harbour interview", "artist": "Ada Lovelace", "album": "Field notes", "year": "2021",
            "genre": "Documentary"}
    asset = ingested(alice, audio_bytes("mp3", seconds=1.0, tags=tags), "track01.mp3")

    assert (asset.media_type, asset.mime_type) == (MediaType.AUDIO, "audio/mpeg")
    assert asset.duration == pytest.approx(1.0, abs=0.1)
    embedded = asset.exif["embedded"]
    assert (embedded["headline"], embedded["creator"], embedded["album"]) == (
        "Harbour interview", "Ada Lovelace", "Field notes")
    assert "documentary" in asset.tags  # the genre, offered as an embedded keyword
    assert asset.media_info["year"] == 2021
    assert {"max256", "max1024"} <= specs(asset)
    waveform = picture(asset, "max1024")
    assert waveform.width > waveform.height  # a waveform, not a square placeholder
    assert asset.picture_blob() is None


def test_picture_analysers_pass_a_sound_by(alice, settings):
    from workers.analysis import analyse_now

    settings.ANALYSERS = ["colours", "dates"]
    asset = ingested(alice, audio_bytes("wav", seconds=0.5), "tone.wav")
    analyse_now([asset.pk])
    found = dict(Analysis.objects.filter(asset=asset).values_list("analyser", "error"))
    assert "colours" not in found  # no error either: a sound has no picture to look at
    assert found.get("dates") == ""


# --- PDF -------------------------------------------------------------------------------------


def test_a_pdf_gets_its_info_page_previews_and_searchable_page_text(alice, api_for):
    data = pdf_bytes(["Quarterly report", "The harbour crane inspection", "Signed by the board"],
                     title="Harbour report", author="Port Authority", keywords="cranes, inspection")
    asset = ingested(alice, data, "report.pdf", ORGANISATION)

    assert (asset.media_type, asset.mime_type) == (MediaType.DOCUMENT, "application/pdf")
    assert asset.media_info["page_count"] == 3
    assert asset.exif["embedded"]["headline"] == "Harbour report"
    assert {"cranes", "inspection"} <= set(asset.tags)
    assert {"max256", "max1024", "page2", "page3"} <= specs(asset)
    pages = Analysis.objects.get(asset=asset, analyser="pages")
    assert "crane inspection" in pages.text and pages.data["without_text"] == []

    body = api_for(alice).get("/api/v1/search/", {"q": "crane", "mode": "keyword"}).json()
    hit = body["results"][0]
    assert hit["asset"]["id"] == asset.pk
    assert {"field": "document text", "terms": ["crane"], "pages": [2]} in hit["explanation"]["matched"]


def test_a_scanned_pdf_says_which_pages_have_no_text(alice):
    asset = ingested(alice, scanned_pdf_bytes(pages=2), "scan.pdf")
    pages = Analysis.objects.get(asset=asset, analyser="pages")
    assert pages.data["without_text"] == [1, 2]
    assert ImageStat.Stat(picture(asset, "max256")).mean[0] > 0


# --- Playback with byte ranges -----------------------------------------------------------------


@pytest.fixture
def clip(alice, team):
    options = actions.AssetOptions(visibility=Visibility.TEAM, team=team)
    data = video_bytes("mp4", seconds=1.0)
    return ingested(alice, data, "clip.mp4", options), data


def test_play_answers_byte_ranges(clip, api_for, bob):
    asset, data = clip
    client, url, size = api_for(bob), f"/api/v1/assets/{asset.pk}/play/", len(data)

    def get(range_header):
        response = client.get(url, HTTP_RANGE=range_header)
        return response, b"".join(response.streaming_content) if response.streaming else response.content

    response, body = get("bytes=0-99")
    assert response.status_code == 206 and response["Content-Range"] == f"bytes 0-99/{size}"
    assert response["Content-Length"] == "100" and body == data[:100]
    response, body = get("bytes=100-")
    assert response.status_code == 206 and body == data[100:]
    response, body = get("bytes=-10")
    assert response["Content-Range"] == f"bytes {size - 10}-{size - 1}/{size}" and body == data[-10:]
    response, body = get(f"bytes={size - 5}-{size + 1000}")  # an end past the file is cut to it
    assert response.status_code == 206 and body == data[-5:]
    response, _ = get(f"bytes={size}-")
    assert response.status_code == 416 and response["Content-Range"] == f"bytes */{size}"
    for whole in ("bytes=0-1,5-6", "items=0-5", "bytes=9-3", "garbage"):
        response, body = get(whole)
        assert response.status_code == 200 and body == data, whole
    assert response["Accept-Ranges"] == "bytes"


def test_only_a_new_play_is_in_the_history(clip, api_for, bob):
    asset, _ = clip
    client = api_for(bob)
    before = AuditEntry.objects.filter(action="asset.downloaded").count()
    for header in ("bytes=0-", "bytes=5000-", "bytes=100-200"):
        client.get(f"/api/v1/assets/{asset.pk}/play/", HTTP_RANGE=header)
    assert AuditEntry.objects.filter(action="asset.downloaded").count() == before + 1


def test_nobody_else_plays_or_seeks(clip, api_for, charlie):
    asset, _ = clip
    for path in ("play", "original", "renditions/frame0"):
        response = api_for(charlie).get(f"/api/v1/assets/{asset.pk}/{path}/", HTTP_RANGE="bytes=0-10")
        assert response.status_code == 404, path


def test_an_h264_mov_plays_as_it_is_under_the_mp4_type(alice, api_for):
    asset = ingested(alice, video_bytes("mov", seconds=1.0), "take.mov")
    assert asset.mime_type == "video/quicktime" and asset.media_info["plays_in_browsers"] is True
    response = api_for(alice).get(f"/api/v1/assets/{asset.pk}/play/")
    assert response.status_code == 200 and response["Content-Type"] == "video/mp4"
    assert api_for(alice).get(f"/api/v1/assets/{asset.pk}/original/")["Content-Type"] == "video/quicktime"


def test_a_photo_has_nothing_to_play(alice, api_for):
    from tests.conftest import make_jpeg

    asset = ingested(alice, make_jpeg(), "photo.jpg")
    assert api_for(alice).get(f"/api/v1/assets/{asset.pk}/play/").status_code == 404


# --- Bad files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name, data, words", [
    pytest.param("clip.mp4", lambda: video_bytes("mp4")[:400], "MP4", id="truncated-mp4"),
    pytest.param("song.flac", lambda: b"fLaC" + bytes(200), "FLAC", id="flac-header-then-zeros"),
    pytest.param("doc.pdf", lambda: pdf_bytes(["a"])[:60], "PDF", id="truncated-pdf"),
])
def test_broken_media_is_refused_and_leaves_nothing(alice, api_for, name, data, words):
    response = api_for(alice).post("/api/v1/assets/", {"file": upload_bytes(data(), name)}, format="multipart")
    assert response.status_code == 400
    assert words in str(response.json())
    assert not Asset.objects.exists() and not Blob.objects.exists()


def test_one_bad_file_in_a_bulk_upload_of_media_stops_nothing(alice):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("clip.webm", video_bytes("webm", video_codec="libvpx-vp9", audio_codec="libopus",
                                                 seconds=0.5))
        zipped.writestr("notes.pdf", pdf_bytes(["minutes of the meeting"]))
        zipped.writestr("broken.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 100)
        zipped.writestr("voice.ogg", audio_bytes("opus", seconds=0.5))
    results = {r.filename: r for r in actions.upload_many(alice, [("media.zip", archive)], PRIVATE)}
    assert {name: r.status for name, r in results.items()} == {
        "media.zip/clip.webm": "created", "media.zip/notes.pdf": "created", "media.zip/broken.mp3": "rejected",
        "media.zip/voice.ogg": "created",
    }
    types = dict(Asset.objects.values_list("original_filename", "mime_type"))
    assert types == {"clip.webm": "video/webm", "notes.pdf": "application/pdf", "voice.ogg": "audio/ogg"}


# --- A video is analysed in several frames -------------------------------------------------------


def _captioned_clip(seconds: float = 4.0, fps: int = 10, words_from: float = 2.0) -> bytes:
    """Plain grey frames, then white ones with WHARF printed large from `words_from` on."""
    import av
    from PIL import ImageDraw, ImageFont

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 480, 270, "yuv420p"
        font = ImageFont.load_default(size=72)
        for index in range(int(seconds * fps)):
            moment = index / fps
            image = Image.new("RGB", (480, 270), (255, 255, 255) if moment >= words_from else (90, 110, 90))
            draw = ImageDraw.Draw(image)
            draw.rectangle((20 + 10 * index % 400, 20, 60 + 10 * index % 400, 60), fill=(200, 40, 40))
            if moment >= words_from:
                draw.text((90, 110), "WHARF", fill=(0, 0, 0), font=font)
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def test_keyframes_are_the_poster_and_frames_spread_over_the_strip(alice, settings):
    from workers.analysis import keyframes

    asset = ingested(alice, video_bytes("mp4", seconds=2.0, black_seconds=1.0), "clip.mp4")
    renditions = {r.spec: r for r in Rendition.objects.filter(asset=asset)}
    settings.VIDEO_ANALYSIS_FRAMES = 4
    chosen = keyframes(asset, renditions)
    assert len(chosen) == 4 and [seconds for seconds, _, _ in chosen] == sorted(s for s, _, _ in chosen)
    posters = [seconds for seconds, _, poster in chosen if poster]
    assert posters == [asset.media_info["poster_seconds"]]
    assert len({rendition.spec for _, rendition, _ in chosen}) == 4  # four different frames
    settings.VIDEO_ANALYSIS_FRAMES = 1
    only = [(seconds, poster) for seconds, _, poster in keyframes(asset, renditions)]
    assert only == [(asset.media_info["poster_seconds"], True)]


def test_words_printed_late_in_a_clip_are_found_and_the_result_says_when(alice, api_for, settings):
    from workers.analysis import analyse_now

    settings.ANALYSERS = ["text_in_image", "dates"]
    settings.VIDEO_ANALYSIS_FRAMES = 8
    asset = ingested(alice, _captioned_clip(), "wharf.mp4", ORGANISATION)
    analyse_now([asset.pk])

    found = Analysis.objects.get(asset=asset, analyser="text_in_image")
    assert "WHARF" in found.text.upper()
    moments = [frame["seconds"] for frame in found.data["frames"] if "WHARF" in frame["text"].upper()]
    assert moments and min(moments) >= 2.0  # only the frames that show the word
    assert Analysis.objects.filter(asset=asset, analyser="dates").count() == 1  # once per clip, not per frame

    body = api_for(alice).get("/api/v1/search/", {"q": "wharf", "mode": "keyword"}).json()
    hit = body["results"][0]
    assert hit["asset"]["id"] == asset.pk
    entry = next(e for e in hit["explanation"]["matched"] if e["field"] == "text in the picture")
    assert entry["seconds"] == moments[:5] and all(at.startswith("0:0") for at in entry["at"])


def test_a_video_answer_merges_its_frames_and_fails_only_when_every_frame_failed():
    from workers.analysis import _merged
    from workers.ml.analysers import Result, Subject

    def frame(seconds, poster=False):
        return Subject(1, None, seconds=seconds, poster=poster)

    merged = _merged([
        (frame(0.5), Result("boat\nwater", {"n": 1})), (frame(1.5, True), Result("water\ndog", {"n": 2})),
        (frame(2.5), "labels failed: OSError"), (frame(3.5), Result("", {"n": 0})),
    ])
    assert merged.text == "boat\nwater\ndog"
    assert merged.data == {"n": 2, "frames": [{"seconds": 0.5, "text": "boat\nwater"},
                                              {"seconds": 1.5, "text": "water\ndog"}]}
    assert _merged([(frame(0.5), "timed out"), (frame(1.5, True), "failed")]) == "timed out"
    single = Result("cat", {"n": 3})
    assert _merged([(Subject(2, None), single)]) is single


def test_words_on_a_scanned_page_are_read_and_the_result_names_the_page(alice, api_for, settings):
    from PIL import ImageDraw, ImageFont

    from workers.analysis import analyse_now

    font = ImageFont.load_default(size=64)
    pages = []
    for words in ("", "LEDGER", ""):
        page = Image.new("RGB", (600, 800), "white")
        ImageDraw.Draw(page).text((120, 360), words, fill="black", font=font)
        pages.append(page)
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", save_all=True, append_images=pages[1:])  # pictures only: no text layer
    settings.ANALYSERS = ["text_in_image", "dates"]
    asset = ingested(alice, buffer.getvalue(), "scan.pdf", ORGANISATION)
    analyse_now([asset.pk])

    found = Analysis.objects.get(asset=asset, analyser="text_in_image")
    assert "LEDGER" in found.text.upper()
    assert [f["page"] for f in found.data["frames"]] == [2]
    body = api_for(alice).get("/api/v1/search/", {"q": "ledger", "mode": "keyword"}).json()
    entry = next(e for e in body["results"][0]["explanation"]["matched"] if e["field"] == "text in the picture")
    assert entry["pages"] == [2] and "seconds" not in entry


# --- The asset page --------------------------------------------------------------------------------


def test_the_asset_page_plays_a_video_lists_its_frames_and_pages_of_a_pdf(alice, charlie, client_for, team):
    options = actions.AssetOptions(visibility=Visibility.TEAM, team=team)
    clip = ingested(alice, video_bytes("mkv", seconds=1.0), "take.mkv", options)
    song = ingested(alice, audio_bytes("mp3", seconds=1.0, tags={"album": "Field notes"}), "song.mp3", options)
    document = ingested(alice, pdf_bytes(["one", "two", "three"]), "minutes.pdf", options)
    client = client_for(alice)

    html = client.get(f"/assets/{clip.pk}/").content.decode()
    player = '<video class="asset__player" data-testid="player" controls preload="metadata"'
    assert f'{player} src="/api/v1/assets/{clip.pk}/play/"' in html
    assert html.count("data-seek=") == 8 and "playable copy" in html and "H.264 MP4" in html
    assert ">frame0<" not in html  # frames are in their own section, not among the downloads
    html = client.get(f"/assets/{song.pk}/").content.decode()
    assert "<audio" in html and "Field notes" in html and 'id="camera-heading"' not in html
    html = client.get(f"/assets/{document.pk}/").content.decode()
    assert all(f"Page {n}" in html for n in (1, 2, 3)) and "<video" not in html and "<audio" not in html
    library = client.get("/").content.decode()
    assert "Video · 0:01" in library and "Audio · 0:01" in library and "PDF · 3 pages" in library
    for asset in (clip, song, document):
        assert client_for(charlie).get(f"/assets/{asset.pk}/").status_code == 404
