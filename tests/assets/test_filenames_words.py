"""The words of a file name, as text models read them (assets.filenames.name_words)."""

import pytest

from assets.filenames import name_words


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("beach-sunset_2019.jpg", "beach sunset"),
        ("Strand am Meer.heic", "Strand am Meer"),
        ("1000268201_693b08cb0e.jpg", ""),  # a counter and a hash: no words
        ("IMG_5195.JPG", "IMG"),
        ("DSCN0012.jpg", ""),
        ("A7-3310B.tif", ""),
        ("été à Paris.png", "été Paris"),  # letters of any script; one-letter tokens are no words
        ("", ""),
    ],
)
def test_name_words(name, words):
    assert name_words(name) == words


def test_the_document_text_models_read_has_the_names_words_not_its_codes(db, alice):
    from tests.factories import asset_row

    asset = asset_row(alice, title="", description="a dog on the beach", original_filename="x.jpg")
    asset.original_filename = "dog-beach_IMG_20190704_1201.jpg"
    assert asset.document_text().splitlines() == ["a dog on the beach", "dog beach IMG"]
    asset.original_filename = "20190704_120134.jpg"
    assert asset.document_text().splitlines() == ["a dog on the beach"]  # no empty line for a name of codes
