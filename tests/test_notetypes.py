"""The notetype is a contract with every collection that imported it."""

from __future__ import annotations

import hashlib

from anki_export.notetypes import BASIC_FIELDS, REVISION, basic_notetype

# The look this revision ships. Changing a template or the CSS without moving REVISION forward
# (to the release date) would leave every collection on the old look, because Anki only takes
# a notetype whose modification time is newer: update both lines together.
RELEASED_REVISION = 1796623200
RELEASED_DIGEST = "e77997e276c02172"


def _digest() -> str:
    notetype = basic_notetype()
    parts = [notetype.css, *(t.front + t.back for t in notetype.templates)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def test_field_and_template_names_never_change() -> None:
    notetype = basic_notetype()
    assert notetype.fields == BASIC_FIELDS == ("Question", "Answer", "Source", "Breadcrumb")
    assert [t.name for t in notetype.templates] == ["Card 1"]
    assert notetype.name == "anki-export basic"


def test_a_changed_look_comes_with_a_new_revision() -> None:
    assert (REVISION, _digest()) == (RELEASED_REVISION, RELEASED_DIGEST), (
        "templates or CSS changed: move REVISION in notetypes.py to today's date and record "
        "the new pair here")
