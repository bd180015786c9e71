"""Facts about Anki's .apkg importer that `anki_export.package` relies on.

Each test is one small real import into a fresh collection with Anki's own Rust backend
(the `anki` package) and Anki desktop's default options: update notes and notetypes "if
newer", no scheduling, no deck presets, no notetype merging.  If a new Anki changes one of
these behaviours, the test that pins it fails and tells us which design decision to revisit.
"""

from __future__ import annotations

import json
import sqlite3
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import genanki
import pytest
from anki.cards import CardId
from anki.collection import Collection
from anki.import_export_pb2 import PackageMetadata
from anki.models import NotetypeId

from anki_export.package import CardTemplate, NoteType, PackageNote, write_package

from .anki_helpers import import_package

T0 = 1_700_000_000  # the first build
T1 = T0 + 3600  # a later build
BASIC = NoteType(
    id=1_600_000_000_001, name="facts basic", fields=("Front", "Back"),
    templates=(CardTemplate("Card 1", "{{Front}}", "{{FrontSide}}<hr id=answer>{{Back}}"),),
    css=".card { color: black; }", revision=T0)
CLOZE = NoteType(
    id=1_600_000_000_002, name="facts cloze", fields=("Text", "Extra"),
    templates=(CardTemplate("Cloze", "{{cloze:Text}}", "{{cloze:Text}}<br>{{Extra}}"),),
    css=".card { color: black; }", is_cloze=True, revision=T0)


def build(tmp_path: Path, *notes: PackageNote, timestamp: int = T0) -> Path:
    """Write a package under a fresh name (the importer reads it, we never overwrite it)."""
    path = tmp_path / f"build{len(list(tmp_path.glob('build*.apkg')))}.apkg"
    return write_package(path, notes, {}, timestamp=timestamp)


def note(guid: str = "g1", fields: tuple[str, ...] = ("Q1", "A1"), *, mod: int = T0,
         tags: tuple[str, ...] = (), deck: str = "Facts", notetype: NoteType = BASIC
         ) -> PackageNote:
    return PackageNote(guid, notetype, deck, fields, tags, mod)


def rows(col: Collection, sql: str) -> list[Any]:
    assert col.db is not None
    return col.db.all(sql)


def only_note(col: Collection) -> Any:
    (nid,) = col.find_notes("")
    return col.get_note(nid)


def study(col: Collection, deck: str) -> None:
    """Answer the deck's first new card Easy: a review card with a real interval and a revlog."""
    did = col.decks.id_for_name(deck)
    assert did is not None
    col.decks.select(did)
    card = col.sched.getCard()
    assert card is not None
    col.sched.answerCard(card, 4)


def review_state(col: Collection) -> dict[int, tuple[int, ...]]:
    """card id → (note id, deck id, revlog rows, type, queue, due, ivl, factor, reps)."""
    return {row[0]: tuple(row[1:]) for row in rows(
        col, "select id, nid, did, (select count() from revlog where cid = cards.id),"
        " type, queue, due, ivl, factor, reps from cards")}


def test_newer_mod_updates_the_note_in_place_and_keeps_reviews(
        col: Collection, tmp_path: Path) -> None:
    import_package(col, build(tmp_path, note()))
    study(col, "Facts")
    before, first = review_state(col), only_note(col)
    (state,) = before.values()
    assert state[2:5] == (1, 2, 2) and state[6] > 0  # one revlog row, a review card, an ivl

    log = import_package(col, build(tmp_path, note(fields=("Q2", "A2"), mod=T1), timestamp=T1))

    assert (len(log.new), len(log.updated), len(log.duplicate)) == (0, 1, 0)
    after = only_note(col)
    assert (after.id, after.fields) == (first.id, ["Q2", "A2"])
    assert after.mod == T1  # the package's mod is kept, not the import time
    assert review_state(col) == before  # same card id, deck, revlog, interval, due


def test_equal_mod_silently_drops_the_edit(col: Collection, tmp_path: Path) -> None:
    import_package(col, build(tmp_path, note()))
    log = import_package(col, build(tmp_path, note(fields=("Q2", "A2"))))
    assert (len(log.updated), len(log.duplicate), len(log.conflicting)) == (0, 1, 0)
    assert only_note(col).fields == ["Q1", "A1"]


def test_older_mod_drops_the_edit_so_an_edit_made_in_anki_survives(
        col: Collection, tmp_path: Path) -> None:
    """An edit in Anki stamps the note with the clock; only a later package mod beats it."""
    import_package(col, build(tmp_path, note()))
    edited = only_note(col)
    edited["Back"] = "edited in Anki"
    col.update_note(edited)
    import_package(col, build(tmp_path, note(fields=("Q2", "A2"), mod=T1), timestamp=T1))
    assert only_note(col)["Back"] == "edited in Anki"


def test_newer_notetype_revision_updates_css_and_templates_and_keeps_notes(
        col: Collection, tmp_path: Path) -> None:
    import_package(col, build(tmp_path, note()))
    study(col, "Facts")
    before = review_state(col)
    restyled = replace(BASIC, css=".card { color: red; }", revision=T1, templates=(
        CardTemplate("Card 1", "<div class=q>{{Front}}</div>", "{{FrontSide}}<hr>{{Back}}"),))

    import_package(col, build(tmp_path, note(notetype=restyled), timestamp=T1))

    notetype = col.models.get(NotetypeId(BASIC.id))
    assert notetype is not None
    assert notetype["css"] == ".card { color: red; }" and notetype["mod"] == T1
    assert [m.name for m in col.models.all_names_and_ids()].count("facts basic") == 1
    assert review_state(col) == before
    (cid,) = before
    assert '<div class=q>Q1</div>' in col.get_card(CardId(cid)).question()


def test_same_notetype_revision_ignores_changed_css(col: Collection, tmp_path: Path) -> None:
    """So the caller must bump `revision` with every template/CSS change."""
    import_package(col, build(tmp_path, note()))
    import_package(col, build(tmp_path, note(notetype=replace(BASIC, css="changed"))))
    notetype = col.models.get(NotetypeId(BASIC.id))
    assert notetype is not None and notetype["css"] == BASIC.css


def test_renamed_field_with_our_field_ids_renames_it_in_place_and_notes_keep_updating(
        col: Collection, tmp_path: Path) -> None:
    """package.py gives every field a stable id (notetype id + position): Anki matches fields
    by id, so a rename (with a newer revision) is applied to the existing notetype."""
    import_package(col, build(tmp_path, note()))
    renamed = replace(BASIC, fields=("Question", "Back"), revision=T1, templates=(
        CardTemplate("Card 1", "{{Question}}", "{{FrontSide}}<hr id=answer>{{Back}}"),))
    log = import_package(col, build(tmp_path, note(fields=("Q2", "A2"), mod=T1,
                                                   notetype=renamed), timestamp=T1))
    assert len(log.updated) == 1
    assert [m.id for m in col.models.all_names_and_ids() if m.name.startswith("facts")] == [
        BASIC.id]
    assert dict(only_note(col).items()) == {"Question": "Q2", "Back": "A2"}


def test_renamed_field_without_field_ids_forks_the_notetype_and_freezes_old_notes(
        col: Collection, tmp_path: Path) -> None:
    """genanki writes no field ids, so Anki matches fields by name: a renamed field makes a
    second notetype, named "facts basic+", and the existing note (same guid, other notetype) is
    reported as conflicting and never updated again."""
    def genanki_package(field: str, mod: int, back: str) -> Path:
        model = genanki.Model(BASIC.id, BASIC.name, fields=[{"name": field}, {"name": "Back"}],
                              templates=[{"name": "Card 1", "qfmt": f"{{{{{field}}}}}",
                                          "afmt": "{{Back}}"}])
        deck = genanki.Deck(1_600_000_000_100, "Facts")
        deck.add_note(genanki.Note(model, ["Q", back], guid="g1"))
        path = tmp_path / f"genanki-{field}.apkg"
        genanki.Package(deck).write_to_file(path, timestamp=mod)
        return path

    import_package(col, genanki_package("Front", T0, "A1"))
    log = import_package(col, genanki_package("Question", T1, "A2"))
    assert (len(log.new), len(log.updated), len(log.conflicting)) == (0, 0, 1)
    names = sorted(m.name for m in col.models.all_names_and_ids() if m.name.startswith("facts"))
    assert names == ["facts basic", "facts basic+"]
    assert only_note(col)["Back"] == "A1"


def test_added_field_forks_the_notetype_and_freezes_old_notes(
        col: Collection, tmp_path: Path) -> None:
    """Field (and template) count is part of the schema: never add or remove fields of a
    released notetype, even with our field ids and a newer revision."""
    import_package(col, build(tmp_path, note()))
    grown = replace(BASIC, fields=(*BASIC.fields, "Extra"), revision=T1)
    log = import_package(col, build(tmp_path, note(fields=("Q2", "A2", "E"), mod=T1,
                                                   notetype=grown), timestamp=T1))
    assert (len(log.updated), len(log.conflicting)) == (0, 1)
    assert len([m for m in col.models.all_names_and_ids() if m.name.startswith("facts")]) == 2
    assert only_note(col).fields == ["Q1", "A1"]


def test_tag_only_change_with_newer_mod_replaces_the_tags(
        col: Collection, tmp_path: Path) -> None:
    """Tags are replaced, not merged: once a package's mod is newer than the user's last edit
    (which is stamped with the clock), a tag the user added in Anki is dropped too."""
    import_package(col, build(tmp_path, note(tags=("keep", "old"))))
    log = import_package(col, build(tmp_path, note(tags=("keep", "new"), mod=T1), timestamp=T1))
    assert len(log.updated) == 1
    assert sorted(only_note(col).tags) == ["keep", "new"]
    user = only_note(col)
    user.add_tag("mine")
    col.update_note(user)
    far_future = 4_000_000_000  # 2096: newer than the user's edit
    import_package(col, build(tmp_path, note(tags=("keep",), mod=far_future), timestamp=T1))
    assert only_note(col).tags == ["keep"]


def test_deck_change_does_not_move_existing_cards_but_new_cards_go_to_the_new_deck(
        col: Collection, tmp_path: Path) -> None:
    """Cards are matched by (note, ord) and existing ones are never touched: the note's first
    card stays in "Old", the new deck is created anyway, and a card the note did not have
    before (a new cloze number) lands in the package's deck."""
    import_package(col, build(tmp_path, note(fields=("{{c1::x}}", ""), deck="Old",
                                             notetype=CLOZE)))
    log = import_package(col, build(tmp_path, note(fields=("{{c1::x}} {{c2::y}}", ""),
                                                   deck="New", mod=T1, notetype=CLOZE),
                                    timestamp=T1))
    assert len(log.updated) == 1
    decks = {card.ord: col.decks.name(card.did) for card in only_note(col).cards()}
    assert decks == {0: "Old", 1: "New"}


def test_removed_cloze_number_leaves_its_card_behind(col: Collection, tmp_path: Path) -> None:
    """The importer never deletes cards: a card whose cloze is gone becomes an empty card
    (Tools > Empty Cards lists it) and keeps its history."""
    import_package(col, build(tmp_path, note(fields=("{{c1::x}} {{c2::y}}", ""),
                                             notetype=CLOZE)))
    import_package(col, build(tmp_path, note(fields=("{{c1::x}}", ""), mod=T1,
                                             notetype=CLOZE), timestamp=T1))
    assert sorted(card.ord for card in only_note(col).cards()) == [0, 1]


def test_package_ids_are_replaced_by_import_time_ids(col: Collection, tmp_path: Path) -> None:
    """Note and card ids above "now + 1 day" (ms) are rewritten at import; ours all are, so
    imported notes get a real creation time and the package ids matter only for order."""
    import_package(col, build(tmp_path, note()))
    created = only_note(col).id
    assert created < 1 << 52
    (now,) = rows(col, "select cast(strftime('%s','now') as int)")
    assert abs(created // 1000 - now[0]) < 600


def test_unreferenced_media_is_not_imported(col: Collection, tmp_path: Path) -> None:
    """Media is copied only when an added or updated note's fields refer to it."""
    image = tmp_path / "scan.png"
    image.write_bytes(b"\x89PNG\r\n")
    media = {"used.png": image, "unused.png": image}
    package = write_package(tmp_path / "m.apkg", [note(fields=('<img src="used.png">', ""))],
                            media, timestamp=T0)
    import_package(col, package)
    assert {p.name for p in Path(col.media.dir()).iterdir()} == {"used.png"}


def rewrite_decks(package: Path, edit: Callable[[dict[str, Any]], None],
                  card_deck: int | None = None) -> Path:
    """Hand-edit a package's decks JSON (and move one note's cards to `card_deck`): what Anki
    does with packages that package.py never writes."""
    db_path = package.with_suffix(".anki2")
    with zipfile.ZipFile(package) as zf:
        db_path.write_bytes(zf.read("collection.anki2"))
    db = sqlite3.connect(db_path)
    with db:
        decks = json.loads(db.execute("select decks from col").fetchone()[0])
        edit(decks)
        db.execute("update col set decks = ?", (json.dumps(decks),))
        if card_deck is not None:
            db.execute("update cards set did = ? where nid = (select max(id) from notes)",
                       (card_deck,))
    db.close()
    edited = package.with_name(f"edited-{package.name}")
    with zipfile.ZipFile(edited, "w") as zf:
        zf.write(db_path, "collection.anki2")
        zf.writestr("media", "{}")
    return edited


def test_missing_parent_decks_are_created_by_anki(col: Collection, tmp_path: Path) -> None:
    """package.py writes every ancestor anyway; Anki would also create missing ones."""
    def drop_parents(decks: dict[str, Any]) -> None:
        for did in [k for k, d in decks.items() if d["name"] in {"A", "A::B"}]:
            del decks[did]

    import_package(col, rewrite_decks(build(tmp_path, note(deck="A::B::C")), drop_parents))
    assert {"A", "A::B", "A::B::C"} <= {d.name for d in col.decks.all_names_and_ids()}
    assert col.decks.name(only_note(col).cards()[0].did) == "A::B::C"


def test_deck_names_differing_only_in_case_get_mangled(col: Collection, tmp_path: Path) -> None:
    """Deck names are case-insensitive in Anki: of "A::b" and "A::B" in one package, one (which
    one varies from run to run) is renamed with a trailing "_", so package.py folds them."""
    def add_other_case(decks: dict[str, Any]) -> None:
        (leaf,) = [d for d in decks.values() if d["name"] == "A::b"]
        decks["99"] = {**leaf, "id": 99, "name": "A::B"}

    package = build(tmp_path, note("g1", deck="A::b"), note("g2", deck="A::b"))
    import_package(col, rewrite_decks(package, add_other_case, card_deck=99))
    names = {col.decks.name(col.get_card(cid).did) for cid in col.find_cards("")}
    assert sorted(name.casefold() for name in names) == ["a::b", "a::b_"]


@pytest.mark.parametrize("layout", ["as written", "with legacy-1 meta", "as collection.anki21"])
def test_legacy_layouts_all_import(col: Collection, tmp_path: Path, layout: str) -> None:
    """Without a `meta` entry Anki reads `collection.anki21` if present, else `collection.anki2`
    (what we and genanki write); a `meta` saying LEGACY_1 is accepted but not needed."""
    package = build(tmp_path, note())
    if layout != "as written":
        with zipfile.ZipFile(package) as zf:
            entries = {name: zf.read(name) for name in zf.namelist()}
        if layout == "as collection.anki21":
            entries["collection.anki21"] = entries.pop("collection.anki2")
        else:
            meta = PackageMetadata(version=PackageMetadata.VERSION_LEGACY_1)
            entries["meta"] = meta.SerializeToString()
        package = tmp_path / "relaid.apkg"
        with zipfile.ZipFile(package, "w") as zf:
            for name, data in entries.items():
                zf.writestr(name, data)
    assert len(import_package(col, package).new) == 1
