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

REVISION = 1796623200  # 2026-12-07: bump (to the release time) with every template or CSS change
BASIC_FIELDS = ("Question", "Answer", "Source", "Breadcrumb")
CLOZE_FIELDS = ("Text", "Extra", "Source", "Breadcrumb")
CLOZE_CSS = """
/* Cloze notes: the note title and heading above the text, the hidden or revealed cloze. */
.ae-cloze.ae-back { padding-top: 14px; }
.ae-cloze .ae-question { margin-bottom: 0.45em; }
.ae-cloze .cloze { font-weight: 600; color: var(--ae-link); }
.ae-extra { margin-top: 1em; }
"""


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


@cache
def reversed_notetype() -> NoteType:
    """The Spaced Repetition plugin's reversed cards (`Q:::A`, `??`): the basic card, and
    a second card asking the answer's side; the basic card's fields, templates and CSS."""
    front, back = _template("basic-front.html"), _template("basic-back.html")
    return NoteType(
        id=object_id("notetype", "anki-export basic and reversed"),
        name="anki-export basic and reversed",
        fields=BASIC_FIELDS,
        templates=(CardTemplate("Card 1", front, back),
                   CardTemplate("Card 2", front.replace("{{Question}}", "{{Answer}}"),
                                back.replace("{{Answer}}", "{{Question}}"))),
        css=_template("card.css"),
        revision=REVISION,
    )


@cache
def cloze_notetype() -> NoteType:
    """Sections with clozes: `Text` holds the note title and heading, then the section with
    its `{{cN::…}}` markers; `Extra` stays empty unless the section is retired. Its CSS is the
    basic card's plus the cloze rules, so both follow `REVISION`."""
    return NoteType(
        id=object_id("notetype", "anki-export cloze"),
        name="anki-export cloze",
        fields=CLOZE_FIELDS,
        templates=(CardTemplate("Cloze", _template("cloze-front.html"),
                                _template("cloze-back.html")),),
        css=_template("card.css") + CLOZE_CSS,
        is_cloze=True,
        revision=REVISION,
    )


def notetype_named(name: str) -> NoteType:
    """The shipped notetype of that name (manifest entries record notetypes by name)."""
    for notetype in (basic_notetype(), cloze_notetype(), reversed_notetype()):
        if notetype.name == name:
            return notetype
    raise KeyError(name)
