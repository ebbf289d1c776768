"""The one analyzer: what documents and queries turn into."""

from __future__ import annotations

from assets.models import Asset
from search.analyzer import MAX_TOKEN_CHARS, analyze, document_tokens, field_analyze, plurals, query_terms


def test_nfkc_turns_full_width_letters_and_digits_into_plain_ones():
    assert analyze("ＩＭＧ＿５１９５") == ["img", "5195"]
    assert analyze("２０２４年") == ["2024", "年"]
    assert analyze("ﬁsh ①") == ["fish", "1"]


def test_case_folding_goes_beyond_lowercase():
    assert analyze("Straße") == analyze("STRASSE") == ["strasse"]
    assert analyze("ΣΊΣΥΦΟΣ") == analyze("σίσυφος")


def test_file_names_split_at_punctuation_and_underscores():
    assert analyze("IMG_5195.HEIC") == ["img", "5195", "heic"]
    assert analyze("1000268201_693b08cb0e.jpg") == ["1000268201", "693b08cb0e", "jpg"]
    assert analyze("summer-party (final) v2.tar.gz") == ["summer", "party", "final", "v2", "tar", "gz"]


def test_a_counter_glued_to_its_prefix_also_yields_the_parts():
    assert analyze("IMG5195") == ["img5195", "img", "5195"]
    assert analyze("5195img") == ["5195img", "5195", "img"]
    # Two digits are not a counter, and a hex hash with many letter/digit switches stays whole.
    assert analyze("v12 693b08cb0e") == ["v12", "693b08cb0e"]


def test_english_plurals_by_spelling_rules_and_the_irregular_ones():
    words = ("mountain", "church", "dish", "box", "bus", "glass", "puppy", "monkey", "person", "leaf", "roof")
    assert [plurals(w) for w in words] == [
        ("mountains",), ("churches",), ("dishes",), ("boxes",), ("buses",), ("glasses",), ("puppies",),
        ("monkeys",), ("people",), ("leaves",), ("roofs",)]
    assert plurals("tomato") == ("tomatos", "tomatoes")  # "pianos" and "potatoes": both spellings
    # Not plain words: identifiers, short words, other scripts.
    assert plurals("5195") == plurals("a7") == plurals("москва") == ()


def test_only_fields_of_a_machines_nouns_hold_plurals():
    assert field_analyze("labels", "golden retriever\ndog") == [
        "golden", "goldens", "retriever", "retrievers", "dog", "dogs"]
    assert field_analyze("faces", "person") == ["person", "people"]
    # People's own words stay as typed: "two dogs" and "a dog" are different photos.
    assert field_analyze("title", "dog") == field_analyze("description", "dog") == ["dog"]
    assert field_analyze("text_in_image", "EXIT") == ["exit"]


def test_chinese_text_becomes_overlapping_bigrams():
    assert analyze("红色的汽车") == ["红色", "色的", "的汽", "汽车"]
    assert analyze("车") == ["车"]


def test_japanese_kana_and_kanji_bigram_across_scripts():
    assert analyze("東京タワー") == ["東京", "京タ", "タワ", "ワー"]
    # Half-width katakana is normalised first, so both spellings give the same bigrams.
    assert analyze("ﾀﾜｰ") == analyze("タワー") == ["タワ", "ワー"]


def test_korean_words_are_bigrammed_separately():
    assert analyze("서울 타워") == ["서울", "타워"]
    assert analyze("서울타워") == ["서울", "울타", "타워"]


def test_latin_next_to_cjk_is_its_own_token():
    assert analyze("iPhone写真2024") == ["iphone", "写真", "2024"]


def test_combining_marks_stay_inside_words():
    assert analyze("हिन्दी भाषा") == ["हिन्दी", "भाषा"]


def test_text_in_the_picture_also_holds_the_words_of_runs_of_words():
    assert field_analyze("text_in_image", "QUARTERLYHARBOURREPORT") == [
        "quarterlyharbourreport", "quarterly", "harbour", "report"]
    # A counter glued on: its letters are a token of their own. Pieces under three letters left out.
    assert field_analyze("text_in_image", "WELCOMEHOME2024") == [
        "welcomehome2024", "welcomehome", "welcome", "home", "2024"]
    assert field_analyze("text_in_image", "EINFILMVON") == ["einfilmvon", "film", "von"]
    # Words are not split, nor short runs, nor other fields.
    assert field_analyze("text_in_image", "Photographer NOEXIT") == ["photographer", "noexit", "exit"]
    assert field_analyze("text_in_image", "ONEGO") == ["onego"]  # under six letters: left whole
    assert field_analyze("title", "QUARTERLYHARBOURREPORT") == ["quarterlyharbourreport"]
    assert field_analyze("text_in_image", "写真展") == analyze("写真展")


def test_asked_which_terms_a_field_holds_only_runs_that_hold_one_are_split():
    tokens = field_analyze("text_in_image", "QUARTERLYHARBOURREPORT WELCOMEHOME", wanted={"harbour", "lake"})
    assert "harbour" in tokens and "welcome" not in tokens
    assert {"harbour", "welcome"} <= set(field_analyze("text_in_image", "QUARTERLYHARBOURREPORT WELCOMEHOME"))


def test_latin_letters_lose_their_diacritics_and_other_scripts_keep_their_marks():
    assert analyze("Zürich Café") == analyze("ZURICH cafe") == ["zurich", "cafe"]
    assert analyze("Łódź Ærøskøbing São Paulo") == ["lodz", "aeroskobing", "sao", "paulo"]
    assert analyze("Zu\u0308rich") == ["zurich"]  # decomposed input folds the same
    assert analyze("naïve résumé 2019") == ["naive", "resume", "2019"]
    assert analyze("Ελλάδα") == analyze("ελλάδα") != analyze("ελλαδα")  # Greek keeps its accent
    assert analyze("한국어 사진") == ["한국", "국어", "사진"]  # Hangul syllables survive decomposition


def test_very_long_runs_are_cut_the_same_way_everywhere():
    token = analyze("x" * 500)
    assert token == ["x" * MAX_TOKEN_CHARS]


def test_queries_drop_stop_words_unless_nothing_else_is_left():
    assert query_terms("A dog in the park") == ["dog", "park"]
    assert query_terms("The Who") == ["the", "who"]  # only stop words: all of them
    # The Snowball stop list, and the words a request to a media library is wrapped in.
    assert query_terms("Show me the photos taken of my dog from the wedding") == ["dog", "wedding"]
    assert query_terms("a dog jumping over the fence") == ["dog", "jumping", "over", "fence"]  # where it is
    assert query_terms("pictures") == ["pictures"]
    assert query_terms("to be or not to be") == ["to", "be", "or", "not", "to", "be"]
    assert query_terms("dog dog cat") == ["dog", "dog", "cat"]


def test_documents_keep_stop_words():
    assert analyze("A dog in the park") == ["a", "dog", "in", "the", "park"]


def test_document_tokens_read_every_searchable_field_as_often_as_it_weighs():
    """BM25F as repetition: people's own words (title, tags) three times, description, caption and
    file name twice, the camera once (assets.documents.FIELDS)."""
    asset = Asset(
        title="Harbour", description="Boats at dawn", caption="fishing boat", tags=["sea", "Norway"],
        original_filename="IMG_5195.HEIC", camera_make="Canon", camera_model="EOS R5",
    )
    assert document_tokens(asset) == [
        *["harbour"] * 3, *["sea", "norway"] * 3, *["boats", "at", "dawn"] * 2, *["fishing", "boat"] * 2,
        *["img", "5195", "heic"] * 2, "canon", "eos", "r5",
    ]
    assert document_tokens(Asset(original_filename="x.jpg")) == ["x", "jpg", "x", "jpg"]
