"""Pin anki_export.slugify to the JS it ports.

Every expected value here was produced by running the real npm `@sindresorhus/slugify` 1.1.2
(with `@sindresorhus/transliterate` 0.1.2 and `lodash.deburr` 4.1.0) or the Digital Garden
plugin's `generateUrlPath` / `sanitizePermalink` under node: permalinks become card GUIDs, so
a single differing character re-creates cards on import.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anki_export._slugify_tables import DEBURRED_LETTERS, REPLACEMENTS
from anki_export.slugify import _transliterate, garden_url_path, sanitize_permalink, slugify

_FIXTURE = Path(__file__).parent / "fixtures" / "slugify_vectors.json"
_JS_VECTORS: list[tuple[str, str]] = [
    (text, slug) for text, slug in json.loads(_FIXTURE.read_text(encoding="utf-8"))["vectors"]
]

BRIEF_VECTORS = [
    ("Hello World", "hello-world"),
    ("PD1 Dataview", "pd-1-dataview"),
    ("T1 BaseFile", "t1-base-file"),
    ("HTMLParser", "html-parser"),
    ("iPhone 15 Pro", "i-phone-15-pro"),
    ("dataHTML5Parser", "data-html-5-parser"),
    ("Rock & Roll", "rock-and-roll"),
    ("Über Größe", "ueber-groesse"),
    ("Crème brûlée", "creme-brulee"),
    ("Ångström", "angstroem"),
    ("Łódź", "lodz"),
    ("Türkçe Ğğ Şş", "tuerkce-gg-ss"),
    ("Ελληνικά", "ellinika"),
    ("Русский текст", "russkij-tekst"),
    ("Tiếng Việt", "tieng-viet"),
    ("解决", ""),
    ("日本語 Notes", "notes"),
    ("C++ vs C#", "c-vs-c"),
    ("What's up?", "what-s-up"),
    ("foo_bar baz", "foo-bar-baz"),
    ("v1.2 notes", "v1-2-notes"),
    ("100%", "100"),
    ("I ♥ NY", "i-love-ny"),
    ("_private", "private"),
    ("Ĳssel", "i-jssel"),
    ("\uff26\uff55\uff4c\uff4c", ""),  # fullwidth "Full": NFC, not NFKC, so nothing survives
]


@pytest.mark.parametrize(("text", "expected"), BRIEF_VECTORS)
def test_slugify_known_vectors(text: str, expected: str) -> None:
    assert slugify(text) == expected


def test_fixture_is_the_frozen_js_run() -> None:
    assert len(_JS_VECTORS) == 219
    assert len({text for text, _ in _JS_VECTORS}) == len(_JS_VECTORS)


@pytest.mark.parametrize(("text", "expected"), _JS_VECTORS)
def test_slugify_matches_js_output(text: str, expected: str) -> None:
    assert slugify(text) == expected


def test_long_runs_take_linear_time() -> None:
    # The JS regexes, copied literally, backtrack quadratically in Python (~25 s on this input).
    text = "x" * 50_000 + "HTMLParser" + "Y" * 50_000 + "1"
    assert slugify(text) == "x" * 50_000 + "-html-parser-" + "y" * 50_000 + "-1"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # from the plugin's own snapshot tests
        ("000 Home.md", "000-home/"),
        ("P Plugins/PD Dataview/PD1 Dataview.md", "p-plugins/pd-dataview/pd-1-dataview/"),
        (
            "custom path/should also write to permalink",
            "custom-path/should-also-write-to-permalink/",
        ),
        ("I. Teaching/Physics/Torque", "i/"),  # cut at the last "." of the whole path
        # from node, with generateUrlPath copied from src/utils/utils.ts
        ("notes/v1.2 notes.md", "notes/v1-2-notes/"),
        ("Über/Größe & Co.md", "ueber/groesse-and-co/"),
        ("a.b/c", "a/"),
        ("/leading/slash.md", "/leading/slash/"),
        ("Folder/.hidden", "folder//"),
        ("Ελληνικά/解决.md", "ellinika//"),
        ("no-extension", "no-extension/"),
        ("", ""),
    ],
)
def test_garden_url_path(path: str, expected: str) -> None:
    assert garden_url_path(path) == expected


def test_permalink_is_slash_plus_url_path() -> None:
    assert "/" + garden_url_path("000 Home.md") == "/000-home/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("custom link/shouldBeDifferentToPath", "/custom link/shouldBeDifferentToPath/"),
        ("/already/", "/already/"),
        ("/lead", "/lead/"),
        ("trail/", "/trail/"),
        ("a//b", "/a//b/"),
        ("/", "/"),
        ("//", "//"),
        ("", "/"),
    ],
)
def test_sanitize_permalink(value: str, expected: str) -> None:
    assert sanitize_permalink(value) == expected


def test_tables_have_the_js_sizes() -> None:
    # 696 pairs in transliterate's replacements.js, 57 repeated keys, + slugify's 3 (&, 🦄, ♥)
    assert len(REPLACEMENTS) == 639
    assert len({key for key, _ in REPLACEMENTS}) == 639
    assert REPLACEMENTS[-3:] == (("&", " and "), ("\U0001f984", " unicorn "), ("\u2665", " love "))
    assert len(DEBURRED_LETTERS) == 190


def test_no_replacement_can_create_a_later_key() -> None:
    # The premise of _transliterate's shortcut of only trying keys whose first character is in
    # the input: replacement values never contain the first character of any key.
    first_chars = {key[0] for key, _ in REPLACEMENTS}
    assert all(value.isascii() and not first_chars & set(value) for _, value in REPLACEMENTS)


@pytest.mark.parametrize("text", [text for text, _ in _JS_VECTORS])
def test_transliterate_equals_the_ordered_replace_loop(text: str) -> None:
    # The fixture includes the keys an earlier key shadows (Armenian "ու", Cyrillic "тс", ...).
    expected = text
    for key, value in REPLACEMENTS:
        expected = expected.replace(key, value)
    assert _transliterate(text) == expected
