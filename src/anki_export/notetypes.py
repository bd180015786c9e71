"""The notetypes anki-export ships: a contract with every collection that imported them.

Field and template names never change once released: Anki refuses to update notes whose
notetype changed them. Template or CSS changes are shipped by bumping `REVISION`, which becomes
the notetype's modification time, so Anki's "update notetypes if newer" takes the new look.
`tests/test_notetypes.py` fails when the templates change without a new revision.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from .ids import object_id
from .package import CardTemplate, NoteType

REVISION = 1795566600  # 2026-11-25: bump (to the release date) with every template or CSS change
BASIC_FIELDS = ("Question", "Answer", "Source", "Breadcrumb")


def _template(name: str) -> str:
    return files("anki_export").joinpath("templates", name).read_text(encoding="utf-8")


@cache
def basic_notetype() -> NoteType:
    return NoteType(
        id=object_id("notetype", "anki-export basic"),
        name="anki-export basic",
        fields=BASIC_FIELDS,
        templates=(CardTemplate("Card 1", _template("basic-front.html"),
                                _template("basic-back.html")),),
        css=_template("card.css"),
        revision=REVISION,
    )


def notetype_named(name: str) -> NoteType:
    """The shipped notetype of that name (manifest entries record notetypes by name)."""
    for notetype in (basic_notetype(),):
        if notetype.name == name:
            return notetype
    raise KeyError(name)
